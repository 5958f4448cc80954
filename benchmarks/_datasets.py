"""Adapters that turn the shared benchmark data (``../shared/data``) into mapose types.

Benchmarks only (not part of the package): these folders are not shipped with mapose and some
carry research-only terms.  Each loader checks the layout it expects and raises a
:class:`~mapose.errors.FormatError` naming the file when the data does not fit.

- :func:`load_calms21_windows` -- CalMS21 resident-intruder windows (investigation, mount).
- :func:`load_behaviordepot_demo1` -- BehaviorDEPOT demo 1 (one mouse, human freezing labels).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

import numpy as np
import pandas as pd
import xarray as xr

from mapose.core import make_tracks
from mapose.errors import FormatError, MissingFileError

PathLike = Union[str, Path]

#: Keypoint order of ``trajectories.npy`` (verified by :func:`check_calms21_geometry`).
CALMS21_KEYPOINTS = ("nose", "left_ear", "right_ear", "neck", "left_hip", "right_hip", "tail_base")
CALMS21_INDIVIDUALS = ("resident", "intruder")
#: CalMS21 videos are filmed at 30 frames per second.
CALMS21_FPS = 30.0
#: The label of a window belongs to this frame (the centre of 13 frames).
CALMS21_CENTRE = 6

#: BehaviorDEPOT demo 1: 32 pixels per centimetre (README_demo).
BEHAVIORDEPOT_DEMO1_PX_PER_CM = 32.0
#: Frame rate of the BehaviorDEPOT demo recordings (FLIR/PointGrey camera, 50 fps; consistent with
#: the shortest human freezing bout, 47 frames, against BehaviorDEPOT's 0.9 s minimum duration).
BEHAVIORDEPOT_FPS = 50.0


def shared_data_root(start: Optional[PathLike] = None) -> Path:
    """``../shared/data`` next to the repository (``/work/shared/data`` on the dev machines)."""
    here = Path(start) if start else Path(__file__).resolve().parents[1]
    for cand in (here / "../shared/data", here / "shared/data", Path("/work/shared/data")):
        if cand.is_dir():
            return cand.resolve()
    raise MissingFileError(f"shared data folder not found near {here} (expected ../shared/data)")


def _require(path: Path, what: str) -> Path:
    if not path.exists():
        raise MissingFileError(f"{path}: {what} not found")
    return path


def check_calms21_geometry(traj: np.ndarray) -> dict[str, float]:
    """Check the assumed axis and keypoint order of CalMS21 ``trajectories.npy``.

    Parameters
    ----------
    traj
        ``(windows, frames, mouse, xy, keypoint)`` array in pixels.

    Returns
    -------
    dict
        Fractions of frames where the left ear / left hip lie on the left of the body axis (with
        the right ones on the other side), and the median nose-tail-base and nose-neck distances
        (pixels).  Raises :class:`FormatError` when the layout looks wrong (ears or hips not on
        opposite sides in >= 90 % of frames, or the tail base not the farthest part from the nose).
    """
    if traj.ndim != 5 or traj.shape[2] != 2 or traj.shape[3] != 2 or traj.shape[4] != 7:
        raise FormatError(
            f"CalMS21 trajectories have shape {traj.shape}; expected (windows, frames, 2 mice, "
            f"2 (x, y), 7 keypoints)"
        )
    kp = {name: traj[..., i] for i, name in enumerate(CALMS21_KEYPOINTS)}  # (..., 2)

    def cross(a, b):
        return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]

    axis = kp["neck"] - kp["nose"]
    ears = (np.sign(cross(axis, kp["left_ear"] - kp["nose"]))
            != np.sign(cross(axis, kp["right_ear"] - kp["nose"]))).mean()
    body = kp["tail_base"] - kp["neck"]
    hips = (np.sign(cross(body, kp["left_hip"] - kp["neck"]))
            != np.sign(cross(body, kp["right_hip"] - kp["neck"]))).mean()
    dist = {n: float(np.median(np.linalg.norm(kp[n] - kp["nose"], axis=-1)))
            for n in CALMS21_KEYPOINTS[1:]}
    out = {"ears_opposite": float(ears), "hips_opposite": float(hips),
           "nose_tail_base_px": dist["tail_base"], "nose_neck_px": dist["neck"]}
    if ears < 0.9 or hips < 0.9 or max(dist, key=dist.get) != "tail_base":
        raise FormatError(
            f"CalMS21 trajectories do not fit the keypoint order {CALMS21_KEYPOINTS}: {out}"
        )
    return out


def load_calms21_windows(
    root: Optional[PathLike] = None,
) -> tuple[list[xr.Dataset], np.ndarray, np.ndarray]:
    """Load the CalMS21 windows as one 13-frame ``Tracks`` per window.

    Parameters
    ----------
    root
        The ``mice_calms21_windows`` folder (default: ``<shared data>/mice_calms21_windows``).

    Returns
    -------
    tracks
        1400 ``Tracks`` (13 frames at 30 fps, 7 keypoints, individuals ``resident`` and
        ``intruder``), positions in pixels.  Frames are numbered ``0..12``.
    investigation, mount
        ``(N,)`` int 0/1 human labels of the centre frame (:data:`CALMS21_CENTRE`) of each window.

    Notes
    -----
    ``trajectories.npy`` is ``(window, frame, mouse, xy, keypoint)``; the keypoint order is
    checked with :func:`check_calms21_geometry` on every load.  Windows are independent samples
    (consecutive windows do not overlap or continue each other), so there is no session id.
    """
    root = Path(root) if root else shared_data_root() / "mice_calms21_windows"
    traj = np.load(_require(root / "trajectories.npy", "CalMS21 trajectories"))
    inv = np.load(_require(root / "investigation_labels.npy", "CalMS21 investigation labels"))
    mount = np.load(_require(root / "mount_labels.npy", "CalMS21 mount labels"))
    check_calms21_geometry(traj)
    n = traj.shape[0]
    inv = np.asarray(inv).reshape(-1).astype(np.int64)
    mount = np.asarray(mount).reshape(-1).astype(np.int64)
    if inv.shape != (n,) or mount.shape != (n,):
        raise FormatError(f"{root}: {n} windows but {inv.size} investigation / {mount.size} mount labels")
    # (window, frame, mouse, xy, keypoint) -> (window, frame, xy, keypoint, mouse)
    pos = np.transpose(traj.astype(np.float64), (0, 1, 3, 4, 2))
    tracks = [
        make_tracks(
            pos[i],
            np.ones(pos.shape[1:2] + pos.shape[3:]),
            keypoints=CALMS21_KEYPOINTS,
            individuals=CALMS21_INDIVIDUALS,
            fps=CALMS21_FPS,
            source_software="CalMS21",
            source_file=f"{root / 'trajectories.npy'}#window{i}",
        )
        for i in range(n)
    ]
    return tracks, inv, mount


def _read_dlc_csv(path: Path, fps: Optional[float]) -> xr.Dataset:
    """Single-animal DeepLabCut CSV -> Tracks (fallback while ``mapose.io.dlc`` is not there)."""
    import importlib.util

    if importlib.util.find_spec("mapose.io.dlc") is not None:
        from mapose.io import read_tracks

        return read_tracks(path, format="dlc", fps=fps)
    df = pd.read_csv(path, header=[0, 1, 2], index_col=0)
    levels = df.columns.nlevels
    if levels != 3 or list(df.columns.get_level_values(2).unique()) != ["x", "y", "likelihood"]:
        raise FormatError(f"{path}: expected a DLC CSV with scorer/bodyparts/coords header rows")
    bodyparts = list(dict.fromkeys(df.columns.get_level_values(1)))
    vals = df.to_numpy(dtype=np.float64).reshape(len(df), len(bodyparts), 3)
    pos = np.transpose(vals[:, :, :2], (0, 2, 1))[..., None]  # (T, 2, K, 1)
    conf = vals[:, :, 2][..., None]
    return make_tracks(pos, conf, keypoints=bodyparts, individuals=["mouse"], fps=fps,
                       frames=df.index.to_numpy(dtype=np.int64),
                       source_software="DeepLabCut", source_file=str(path))


def _read_hbehavior_vector(path: Path, behaviour: str = "Freezing") -> np.ndarray:
    import h5py

    try:
        with h5py.File(path, "r") as h:
            key = f"hBehavior/{behaviour}/Vector"
            if key not in h:
                raise FormatError(f"{path}: no {key} in this BehaviorDEPOT file")
            return np.asarray(h[key]).reshape(-1).astype(np.int64)
    except OSError:
        from scipy.io import loadmat

        m = loadmat(path, squeeze_me=True, struct_as_record=False)
        return np.asarray(getattr(getattr(m["hBehavior"], behaviour), "Vector")).reshape(-1).astype(np.int64)


def load_behaviordepot_demo1(
    root: Optional[PathLike] = None,
    fps: float = BEHAVIORDEPOT_FPS,
) -> tuple[xr.Dataset, np.ndarray]:
    """Load BehaviorDEPOT demo 1: DLC tracking of one mouse and the human freezing vector.

    Parameters
    ----------
    root
        The ``mouse_freezing_behaviordepot/demo1`` folder (default: in the shared data).
    fps
        Frame rate stamped on the Tracks (frames per second).

    Returns
    -------
    tracks
        6000 frames, 8 body parts (Nose, Left Ear, Right Ear, Tailbase, Left Leg, Right Leg,
        Mid-Back, Tail), one individual ``mouse``; positions in pixels (32 px/cm, see
        :data:`BEHAVIORDEPOT_DEMO1_PX_PER_CM`), DLC likelihood as confidence.
    freezing
        ``(6000,)`` int 0/1 human freezing labels (``hBehavior.Freezing.Vector``, MATLAB v7.3).
    """
    root = Path(root) if root else shared_data_root() / "mouse_freezing_behaviordepot" / "demo1"
    ds = _read_dlc_csv(_require(root / "demo1_tracking.csv", "BehaviorDEPOT tracking CSV"), fps)
    freeze = _read_hbehavior_vector(
        _require(root / "hB_demo1_manual_annotations.mat.mat", "BehaviorDEPOT hBehavior file"))
    if freeze.shape[0] != ds.sizes["time"]:
        raise FormatError(
            f"{root}: {ds.sizes['time']} tracked frames but {freeze.shape[0]} freezing labels"
        )
    return ds, freeze
