"""Session view: frame viewer with pose overlay, confidence over time, trajectories."""

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the apps/ folder, for _common
from _common import (  # noqa: E402
    downsample_index,
    identity_colours,
    read_frame,
    session_inputs,
    video_info,
)

st.set_page_config(page_title="mapose · Session", layout="wide")
st.title("Session")
pose, video, ds = session_inputs()
if ds is not None:
    from mapose.core import get_skeleton
    from mapose.viz.overlay import draw_poses

    n_t = ds.sizes["time"]
    frames = ds["frame"].values
    names = [str(i) for i in ds["individuals"].values]
    colours = identity_colours(len(names))
    st.write(f"**{n_t}** frames · **{len(names)}** animals ({', '.join(names)}) · "
             f"**{ds.sizes['keypoints']}** keypoints · fps {ds.attrs.get('fps') or 'unknown'}")

    last = max(n_t - 1, 0)
    st.session_state.setdefault("frame_slider", min(int(st.session_state.get("frame", 0)), last))

    def _jump() -> None:  # jump-to-frame moves the slider
        st.session_state["frame_slider"] = min(int(st.session_state["jump"]), last)

    col_a, col_b = st.columns([3, 1])
    with col_b:
        st.number_input("Jump to frame", min_value=0, max_value=last,
                        value=int(st.session_state["frame_slider"]), step=1, key="jump", on_change=_jump)
        threshold = st.slider("Confidence threshold", 0.0, 1.0, 0.1, 0.05, key="thr")
    t = st.slider("Frame", 0, last, key="frame_slider")
    st.session_state["frame"] = t
    with col_a:
        if video:
            img = read_frame(video, int(frames[t]))
            pos = ds["position"].isel(time=t).transpose("individuals", "keypoints", "space").values
            conf = ds["confidence"].isel(time=t).transpose("individuals", "keypoints").values
            out = draw_poses(img, pos, conf, get_skeleton(ds), threshold=threshold, names=names)
            st.image(out, caption=f"frame {int(frames[t])}", width="stretch")
            info = video_info(video)
            st.caption(f"video {info['width']}×{info['height']}, {info['n_frames']} frames")
        else:
            st.info("No video found for this pose file: give its path in the sidebar to see frames.")

    st.subheader("Confidence over time")
    idx = downsample_index(n_t)
    conf_all = ds["confidence"].transpose("time", "keypoints", "individuals").values[idx]
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames where an animal is not seen
        conf_mean = np.nanmean(conf_all, axis=1)
    df = pd.DataFrame(conf_mean, columns=names, index=pd.Index(frames[idx], name="frame"))
    if np.isfinite(df.values).any():
        st.line_chart(df, color=colours)
    else:
        st.caption("this file stores no confidence values")

    st.subheader("Trajectories")
    pos_all = ds["position"].transpose("time", "individuals", "keypoints", "space").values[idx]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        centroid = np.nanmean(pos_all, axis=2)  # (time, individuals, 2)
    traj = [pd.DataFrame({"x": centroid[:, i, 0], "y": -centroid[:, i, 1], "animal": name})
            for i, name in enumerate(names)]
    st.scatter_chart(pd.concat(traj).dropna(), x="x", y="y", color="animal", size=8)
    st.caption("centroid of all keypoints; y flipped so the plot matches the image")
