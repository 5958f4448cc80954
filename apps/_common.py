"""Shared loading and caching for the dashboard pages (public mapose API only, no science)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import numpy as np
import streamlit as st

import xarray as xr

# The app is a long-running process: xarray's optional numbagg backend would JIT-compile (tens of
# seconds) on the first reduction of each kind and freeze the page; plain numpy is fast enough.
xr.set_options(use_numbagg=False)

MAX_POINTS = 5000  # plots are downsampled to this many points so 100k-frame sessions stay fluid


def _mtime(path: str) -> float:
    try:
        return os.path.getmtime(path)
    except OSError:
        return 0.0


@st.cache_data(show_spinner="Reading pose file…", max_entries=8)
def _load_tracks(path: str, mtime: float):
    from mapose.io import read_tracks

    return read_tracks(path)


def load_tracks(path: str):
    """Tracks of ``path`` (cached; re-read when the file changes)."""
    return _load_tracks(path, _mtime(path))


@st.cache_resource(max_entries=4)
def _video_reader(path: str):
    from mapose.io.video import VideoReader

    return VideoReader(path)


@st.cache_data(max_entries=64, show_spinner=False)
def read_frame(path: str, index: int) -> np.ndarray:
    """One RGB frame, read lazily (only the frames looked at are decoded).  A frame the video cannot
    give (past a truncated end) is a dark grey picture, so the page goes on."""
    from mapose.errors import MaposeError

    reader = _video_reader(path)
    try:
        return reader[int(index)]
    except MaposeError:
        return np.full((reader.height, reader.width, 3), 40, np.uint8)


def video_info(path: str) -> dict:
    r = _video_reader(path)
    return {"n_frames": r.n_frames, "fps": r.fps, "width": r.width, "height": r.height}


def guess_video(pose_path: str, ds=None) -> Optional[str]:
    """The video of a pose file: its recorded ``video_path``, else a video named like it nearby,
    else the only video beside it (:func:`mapose.io.video.video_of_pose`)."""
    from mapose.io.video import video_of_pose

    return video_of_pose(pose_path, ds, only_video_nearby=True)


def regions_file(pose_path: str) -> Optional[str]:
    """The regions of interest of a pose file's video, when saved beside it (or one folder up):
    ``<stem>.regions.yaml`` / ``.geojson``, else ``regions.yaml`` / ``.geojson``; ``None`` if none."""
    p = Path(pose_path)
    stem = p.name.split(".")[0]
    for folder in (p.parent, p.parent.parent):
        for name in (f"{stem}.regions.yaml", f"{stem}.regions.geojson", "regions.yaml", "regions.geojson"):
            if (folder / name).is_file():
                return str(folder / name)
    return None


def default_pose_path() -> str:
    """Pose file given to ``mapose dashboard PATH`` (or the bundled sample)."""
    env = os.environ.get("MAPOSE_DASHBOARD_PATH", "")
    if env and Path(env).is_file():
        return env
    if env and Path(env).is_dir():
        for suffix in ("*.h5", "*.slp", "*.nwb", "*.csv", "*.nc"):
            found = sorted(Path(env).glob(suffix))
            if found:
                return str(found[0])
    if env:  # a path was given: never fall back to the sample (edits would be saved into it)
        return ""
    sample = Path(__file__).resolve().parents[1] / "data" / "flies_dreem" / "two_flies.slp"
    return str(sample) if sample.exists() else ""


def session_inputs():
    """Sidebar inputs shared by the pages: pose file and video. Returns (pose_path, video_path, ds)."""
    from mapose.errors import MaposeError

    st.sidebar.header("Session")
    if "open_pose" in st.session_state:  # another page asked to open a file (see open_pose)
        st.session_state["pose_input"] = st.session_state.pop("open_pose")
    pose = st.sidebar.text_input("Pose file", value=st.session_state.get("pose_path", default_pose_path()),
                                 key="pose_input")
    st.session_state["pose_path"] = pose
    if not pose:
        env = os.environ.get("MAPOSE_DASHBOARD_PATH", "")
        st.info((f"No pose file in {env}. " if env else "")
                + "Enter the path of a pose file (DeepLabCut, SLEAP, NWB, …) in the sidebar.")
        return None, None, None
    try:
        ds = load_tracks(pose)
    except MaposeError as exc:
        st.error(str(exc))
        return pose, None, None
    default_video = st.session_state.get("video_path") or os.environ.get("MAPOSE_DASHBOARD_VIDEO") \
        or guess_video(pose, ds) or ""
    video = st.sidebar.text_input("Video", value=default_video, key="video_input")
    st.session_state["video_path"] = video
    problem = session_problem(pose, _mtime(pose), video or "", _mtime(video) if video else 0.0)
    if problem.startswith("no position"):
        st.warning(f"{pose} holds no keypoint position in any frame (all missing): nothing to show or measure")
    elif video and not Path(video).exists():
        st.sidebar.warning(f"video not found: {video}")
        video = None
    elif video and problem:
        st.sidebar.warning(f"video not used: {problem}")
        video = None
    return pose, (video or None), ds


@st.cache_data(max_entries=16, show_spinner=False)
def session_problem(pose: str, pose_mtime: float, video: str, video_mtime: float) -> str:
    """Why the session cannot be shown as it is: "no position" (an all-missing pose file), the reason
    ``video`` does not open or cannot be this pose file's video (too short, another size), or "".
    Cached: it scans every position once per file, not on every rerun of a page."""
    import contextlib
    import io

    from mapose.cli._common import check_pose_fits_video
    from mapose.errors import MaposeError

    ds = load_tracks(pose)
    pos = ds["position"].transpose("time", "individuals", "keypoints", "space").values
    if not np.isfinite(pos).any():
        return "no position"
    if not video or not Path(video).exists():
        return ""
    try:
        info = video_info(video)
        with contextlib.redirect_stdout(io.StringIO()):  # its note about file names is for the terminal
            check_pose_fits_video(pos, ds["frame"].values, {"n_frames": info["n_frames"], "width": info["width"],
                                                             "height": info["height"]}, pose, video)
    except MaposeError as exc:
        return str(exc)
    return ""


def reopen_editor(prefix: str, key, make):
    """``(editor, opened)``: the editor kept in ``session_state[prefix + "_editor"]``, made anew by
    ``make()`` when ``key`` (what it was opened from) changes -- the old one's unsaved changes are
    saved first, so nothing is lost by opening another file.  ``(None, False)`` after showing the
    error when saving or opening fails."""
    from mapose.errors import MaposeError

    S = st.session_state
    if S.get(f"{prefix}_open") == key and S.get(f"{prefix}_editor") is not None:
        return S[f"{prefix}_editor"], False
    old = S.get(f"{prefix}_editor")
    if old is not None and old.dirty:
        try:
            st.sidebar.caption(f"saved the changes to {old.save()}")
        except (MaposeError, OSError) as exc:
            st.error(f"{exc}. The changes to {old.out} are not saved; open it again to keep them.")
            return None, False
    try:
        S[f"{prefix}_editor"] = make()
    except (MaposeError, OSError) as exc:
        S.pop(f"{prefix}_editor", None)
        S[f"{prefix}_open"] = None
        st.error(str(exc))
        return None, False
    S[f"{prefix}_open"] = key
    return S[f"{prefix}_editor"], True


def run_command(argv: list) -> tuple[int, str]:
    """Run ``mapose ARGV`` in this process; returns (exit code, its error line or "").  What it
    prints is captured: a failure is shown on the page as the command's own one-line message."""
    import contextlib
    import io

    from mapose.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse refusing an option
            code = exc.code if isinstance(exc.code, int) else 2
    if not code:
        return 0, ""
    lines = [ln for ln in err.getvalue().strip().splitlines() if ln.strip()]
    said = [ln for ln in lines if "error:" in ln]
    return code, (said or lines or [f"mapose {argv[0]} failed (exit code {code})"])[-1]


def open_pose(path: str) -> None:
    """Make ``path`` the open session's pose file (applied on the next run)."""
    st.session_state["open_pose"] = str(path)
    st.session_state["pose_path"] = str(path)


def downsample_index(n: int, max_points: int = MAX_POINTS) -> np.ndarray:
    step = max(1, int(np.ceil(n / max_points)))
    return np.arange(0, n, step)


def identity_colours(n: int) -> list[str]:
    """Hex colours per individual index: the palette of the video overlays, so an animal has one
    colour in frames, charts and labelled videos."""
    from mapose.viz.overlay import identity_colour

    return ["#%02x%02x%02x" % identity_colour(i) for i in range(n)]


def optional_table(path: Path, what: str, columns=(), problems: Optional[list] = None, **read_csv):
    """The table at ``path`` (None if it is not there); a damaged one is left out, with its problem
    added to ``problems`` for the page to show."""
    from mapose.errors import MaposeError
    from mapose.io.tables import read_table

    if not path.exists():
        return None
    try:
        return read_table(path, what, columns, **read_csv)
    except MaposeError as exc:
        if problems is not None:
            problems.append(str(exc))
        return None
