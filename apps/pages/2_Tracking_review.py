"""Tracking review: the tracker's likely identity swaps as a queue; fix them with undo."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the apps/ folder, for _common
from _common import downsample_index, identity_colours, open_pose, read_frame, session_inputs  # noqa: E402

st.set_page_config(page_title="mapose · Tracking review", layout="wide")
st.title("Tracking review")
pose, video, ds = session_inputs()


def save_target(pose_path: str) -> Path:
    """Where corrected identities are saved: the pose file itself, unless it is a SLEAP project with
    animals placed by people (saving tracks there would turn its labels into predictions): then a new
    ``<name>.corrected.slp`` beside it, which becomes the open session."""
    p = Path(pose_path)
    if p.suffix.lower() == ".slp":
        from mapose.io import read_labels

        try:
            labels = read_labels(p)
        except Exception:  # noqa: BLE001 - a file read as tracks but not as labels holds no labels
            return p
        if labels.is_user is not None and np.asarray(labels.is_user, bool).any():
            from mapose.io._files import free_path

            return free_path(p.with_name(p.name.split(".")[0] + ".corrected.slp"))
    return p


def swaps_path(pose_path: str) -> Path:
    p = Path(pose_path)
    return p.with_name(p.name + ".swaps.csv")


@st.cache_data(show_spinner="Tracking…", max_entries=4)
def retrack(pose_path: str, mtime: float, n_animals: int, video_path):
    """Re-track the file (identities in it ignored); returns tracks and swap events."""
    from mapose.core import tracks_to_detections
    from mapose.io import read_tracks
    from mapose.tracking import Tracker

    tracks = read_tracks(pose_path)
    det = tracks_to_detections(tracks)
    tracker = Tracker(n_animals=n_animals)
    out = tracker.fit_track(det, video=video_path,  # a file of part of a video keeps its frames
                            start=int(tracks["frame"].values[0]) if tracks.sizes["time"] else 0)
    return out, tracker.swap_events_


if ds is not None:
    from mapose.core import get_skeleton
    from mapose.io import write_tracks
    from mapose.io.tables import read_feature_table, save_feature_table
    from mapose.tracking import swap_identities
    from mapose.viz.overlay import draw_poses

    from mapose.errors import MaposeError

    names = [str(i) for i in ds["individuals"].values]
    sp = swaps_path(pose)
    events = None
    if sp.exists():
        try:
            events = read_feature_table(sp)
            missing = {"frame", "animal_a", "animal_b"} - set(events.columns)
            if missing:
                raise MaposeError(f"{sp}: not a swap list (no {', '.join(sorted(missing))} column)")
            st.write(f"{len(events)} likely swap(s) listed by the tracker in `{sp.name}`.")
        except (MaposeError, OSError, ValueError) as exc:
            st.warning(f"the swap list cannot be read: {exc}")
            events = None
    if events is None:
        st.info(("" if sp.exists() else f"No swap list beside this file (`{sp.name}`). ")
                + "`mapose track IN --out OUT --n-animals N` writes one; or re-track this file here.")
        n_animals = st.number_input("Number of animals", 1, 50, len(names), key="n_animals")
        if st.button("Re-track and list likely swaps", key="retrack"):
            p = Path(pose)
            from mapose.io._files import free_path

            out_path = free_path(p.with_name(p.name.split(".")[0] + ".tracked" + "".join(p.suffixes)))
            tracked, ev = retrack(pose, p.stat().st_mtime, int(n_animals), video)
            write_tracks(tracked, out_path)
            save_feature_table(ev, swaps_path(str(out_path)))
            open_pose(str(out_path))
            st.success(f"wrote {out_path} and its swap list; it is now the open session")
            st.rerun()
        events = pd.DataFrame(columns=["frame", "animal_a", "animal_b", "reason", "confidence"])

    if "identity_confidence" in ds:
        st.subheader("Identity confidence over time")
        idx = downsample_index(ds.sizes["time"])
        ic = ds["identity_confidence"].isel(time=idx).transpose("time", "individuals").values
        st.line_chart(pd.DataFrame(ic, columns=names, index=pd.Index(ds["frame"].values[idx], name="frame")),
                      color=identity_colours(len(names)))

    st.subheader("Review queue")
    if len(events):
        st.dataframe(events, width="stretch", height=min(300, 40 + 35 * len(events)))
        labels = [f"#{i}: frame {int(r.frame)} — {r.animal_a} ↔ {r.animal_b} ({r.reason})"
                  for i, r in enumerate(events.itertuples())]
        pick = st.selectbox("Event", range(len(events)), format_func=lambda i: labels[i], key="event")
        ev_frame = int(events.iloc[pick]["frame"])
        default_a, default_b = str(events.iloc[pick]["animal_a"]), str(events.iloc[pick]["animal_b"])
    else:
        st.caption("nothing to review")
        ev_frame, default_a, default_b = 0, names[0], names[min(1, len(names) - 1)]

    frames = ds["frame"].values
    if len(frames):  # a listed frame outside this file (a list of another file) is not jumped to
        ev_frame = int(np.clip(ev_frame, 0, int(frames[-1])))
    t = int(np.clip(np.searchsorted(frames, ev_frame), 0, len(frames) - 1))
    if video:
        sk = get_skeleton(ds)
        cols = st.columns(3)
        for col, dt in zip(cols, (-5, 0, 5)):
            ti = int(np.clip(t + dt, 0, len(frames) - 1))
            pos = ds["position"].isel(time=ti).transpose("individuals", "keypoints", "space").values
            conf = ds["confidence"].isel(time=ti).transpose("individuals", "keypoints").values
            col.image(draw_poses(read_frame(video, int(frames[ti])), pos, conf, sk, names=names),
                      caption=f"frame {int(frames[ti])}", width="stretch")

    st.subheader("Swap two animals from a frame onward")
    c1, c2, c3 = st.columns(3)
    frm = c1.number_input("From frame", 0, int(frames[-1]) if len(frames) else 0, ev_frame, key="swap_from")
    a = c2.selectbox("Animal A", names, index=names.index(default_a) if default_a in names else 0, key="swap_a")
    b = c3.selectbox("Animal B", names, index=names.index(default_b) if default_b in names else 0, key="swap_b")
    history = st.session_state.setdefault("swap_history", [])
    bc1, bc2 = st.columns(2)
    if bc1.button("Swap A ↔ B from here and save", key="do_swap", disabled=(a == b)):
        target = save_target(pose)
        write_tracks(swap_identities(ds, int(frm), a, b), target)  # atomic write
        history.append((str(target), int(frm), a, b))
        if str(target) != pose:  # the labelled project is left as it is; the corrected copy is opened
            if sp.exists():
                save_feature_table(events, swaps_path(str(target)))  # the review queue goes along
            open_pose(str(target))
            st.success(f"swapped {a} ↔ {b} from frame {int(frm)}; saved {target.name} ({Path(pose).name} holds "
                       "labels placed by people and is left as it is); it is now the open session")
        else:
            st.success(f"swapped {a} ↔ {b} from frame {int(frm)}; saved {Path(pose).name}")
        st.rerun()
    if bc2.button("Undo last swap", key="undo", disabled=not history):
        p, f0, a0, b0 = history.pop()
        from mapose.io import read_tracks

        write_tracks(swap_identities(read_tracks(p), f0, a0, b0), p)  # a swap is its own inverse
        st.success(f"undid swap {a0} ↔ {b0} from frame {f0}")
        st.rerun()
    if history:
        st.caption("swaps applied in this session: " + "; ".join(f"{x[2]}↔{x[3]} from {x[1]}" for x in history))
