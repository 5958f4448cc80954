"""Kinematics: speed, distances and facing angles over time, per animal and per pair; export."""

import sys
from pathlib import Path

import pandas as pd
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the apps/ folder, for _common
from _common import MAX_POINTS, _mtime, regions_file, session_inputs, session_problem  # noqa: E402

st.set_page_config(page_title="mapose · Kinematics", layout="wide")
st.title("Kinematics")
pose, video, ds = session_inputs()


@st.cache_data(show_spinner="Computing features…", max_entries=8)
def features(pose_path: str, mtime: float, mode: str, px_per_cm, confidence: float):
    """Feature table of the session (cached per file version and options)."""
    from mapose.io import read_tracks
    from mapose.kinematics import calibrate, feature_table, filter_by_confidence, interpolate_gaps

    tr = read_tracks(pose_path)
    if confidence > 0:
        tr = filter_by_confidence(tr, confidence)
    tr = interpolate_gaps(tr, 5)
    if px_per_cm:
        tr = calibrate(tr, px_per_cm=px_per_cm)
    return feature_table(tr, mode=mode, windows=())


@st.cache_data(show_spinner="Reading the regions…", max_entries=8)
def region_calibration(pose_path: str, regions_path: str, mtime: float, video_path: str):
    """``(px/cm, region name)`` from the area of the session's regions that gives its ``size_cm``
    (an arena template is found in this video), ``None`` without one; an error message as text."""
    from mapose.cli._common import session_regions
    from mapose.errors import MaposeError
    from mapose.io import read_tracks
    from mapose.kinematics.regions import calibration_from_regions

    try:
        return calibration_from_regions(session_regions(regions_path, read_tracks(pose_path), video_path or None))
    except MaposeError as exc:
        return str(exc)


def plot_lines(df: pd.DataFrame, column: str) -> None:
    wide = df.pivot_table(index="frame", columns="subject", values=column)
    step = max(1, len(wide) // MAX_POINTS)
    st.line_chart(wide.iloc[::step])


from mapose.errors import MaposeError  # noqa: E402

if ds is not None and session_problem(pose, _mtime(pose), "", 0.0) == "no position":
    ds = None  # nothing to measure; the session inputs said so
if ds is not None:
    c1, c2 = st.columns(2)
    own = regions_file(pose)
    found = region_calibration(pose, own, _mtime(own), video or "") if own else None
    known = round(found[0], 4) if isinstance(found, tuple) else 0.0
    px_per_cm = c1.number_input("Pixels per cm (0 = keep pixels)", 0.0, 10000.0, known, key="pxcm")
    if isinstance(found, tuple):
        c1.caption(f"{found[0]:.4g} px/cm from region {found[1]!r} of {Path(own).name} and its real size (size_cm)")
    elif isinstance(found, str):
        c1.warning(f"the regions of {Path(own).name} give no calibration: {found}")
    conf = c2.slider("Drop points below confidence", 0.0, 1.0, 0.0, 0.05, key="kconf")
    unit = "cm" if px_per_cm else "px"
    try:
        animal = features(pose, _mtime(pose), "animal", px_per_cm or None, conf)
    except MaposeError as exc:  # e.g. a confidence cut that leaves no point
        st.error(str(exc))
        st.stop()
    st.subheader("Per animal")
    a_cols = [c for c in animal.columns if c not in ("frame", "subject")]
    col = st.selectbox("Feature", a_cols, index=a_cols.index("speed") if "speed" in a_cols else 0,
                       key="a_feature")
    plot_lines(animal, col)
    st.caption(f"speeds in {unit} per {'second' if ds.attrs.get('fps') else 'frame'}")
    summary = animal.groupby("subject")[a_cols].median(numeric_only=True).T
    with st.expander("Median of every feature per animal"):
        st.dataframe(summary, width="stretch")
    st.download_button("Export per-animal features (CSV)", animal.to_csv(index=False).encode(),
                       file_name=Path(pose).name.split(".")[0] + "_animal_features.csv",
                       mime="text/csv", key="dl_animal")

    if ds.sizes["individuals"] > 1:
        pair = features(pose, _mtime(pose), "pair", px_per_cm or None, conf)
        st.subheader("Per pair")
        p_cols = [c for c in pair.columns if c not in ("frame", "subject") and not c.startswith(("a_", "b_"))]
        default = "centroid_dist" if "centroid_dist" in p_cols else p_cols[0]
        pcol = st.selectbox("Pair feature", p_cols, index=p_cols.index(default), key="p_feature")
        plot_lines(pair, pcol)
        if "facing_angle_a" in pair.columns:
            st.caption("facing angle: 0 rad = animal A looks straight at B")
        st.download_button("Export per-pair features (CSV)", pair.to_csv(index=False).encode(),
                           file_name=Path(pose).name.split(".")[0] + "_pair_features.csv",
                           mime="text/csv", key="dl_pair")
    else:
        st.caption("one animal: no pair features")
