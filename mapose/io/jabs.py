"""JABS pose files (``*_pose_est_v2.h5`` .. ``v6``), read only.

Layout (group ``poseest``):

- ``points``: uint16 pixel positions stored **(y, x)**; ``(frame, 12, 2)`` in v2 (one mouse),
  ``(frame, instance, 12, 2)`` from v3 on.  Padding is 0.
- ``confidence``: float32, same leading shape; a point is valid when its confidence is > 0.
- ``instance_count`` (v3+): valid instances per frame (the first ``n`` slots).
- ``instance_track_id`` (v3+): tracklet id of each instance.
- ``instance_embed_id`` (v4+): long-term identity, 0 = invalid, ``1..n_identities`` = identity
  (``n_identities`` = rows of ``instance_id_center``), larger = valid but not assigned.

Identities: with ``identity="auto"`` (default) v4+ files use the long-term identities
(individuals ``identity_1 ..``; instances not assigned one are dropped and counted in the
attribute ``jabs_unassigned_instances``), v3 files use the tracklet ids (individuals
``track_<id>``) and v2 files hold one mouse (``individual_0``).  ``identity="track"`` forces
tracklets.  Missing points (confidence 0) are NaN in ``position`` and ``confidence``.

``fps`` comes from the ``fps`` attribute of ``poseest`` (or of the file) when present, else 30
(the JABS recording rate); ``cm_per_pixel`` is kept as an attribute when present.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

import numpy as np
import xarray as xr

from mapose.core.skeleton import Skeleton
from mapose.core.tracks import make_tracks
from mapose.errors import FormatError, MaposeError
from mapose.io._files import HDF5_MAGIC, PathLike, check_fps, check_hdf5_opens, require_file

NAME = "jabs"
EXTENSIONS = ("_pose_est_v2.h5", "_pose_est_v3.h5", "_pose_est_v4.h5", "_pose_est_v5.h5",
              "_pose_est_v6.h5")

#: The 12 JABS mouse keypoints, in file order.
KEYPOINTS = (
    "NOSE", "LEFT_EAR", "RIGHT_EAR", "BASE_NECK", "LEFT_FRONT_PAW", "RIGHT_FRONT_PAW",
    "CENTER_SPINE", "LEFT_REAR_PAW", "RIGHT_REAR_PAW", "BASE_TAIL", "MID_TAIL", "TIP_TAIL",
)
#: Default JABS recording rate (frames per second) when the file stores none.
DEFAULT_FPS = 30.0


def skeleton() -> Skeleton:
    """The JABS mouse skeleton: spine chain, ears and paws attached to it, left/right pairs."""
    edges = [
        ("NOSE", "BASE_NECK"), ("BASE_NECK", "CENTER_SPINE"), ("CENTER_SPINE", "BASE_TAIL"),
        ("BASE_TAIL", "MID_TAIL"), ("MID_TAIL", "TIP_TAIL"),
        ("BASE_NECK", "LEFT_EAR"), ("BASE_NECK", "RIGHT_EAR"),
        ("CENTER_SPINE", "LEFT_FRONT_PAW"), ("CENTER_SPINE", "RIGHT_FRONT_PAW"),
        ("BASE_TAIL", "LEFT_REAR_PAW"), ("BASE_TAIL", "RIGHT_REAR_PAW"),
    ]
    sym = [("LEFT_EAR", "RIGHT_EAR"), ("LEFT_FRONT_PAW", "RIGHT_FRONT_PAW"),
           ("LEFT_REAR_PAW", "RIGHT_REAR_PAW")]
    return Skeleton.from_names(KEYPOINTS, edges, sym, name="jabs_mouse")


def sniff(path: PathLike) -> bool:
    """True for an HDF5 file with ``poseest/points`` and ``poseest/confidence``."""
    p = Path(path)
    try:
        with open(p, "rb") as f:
            if f.read(8) != HDF5_MAGIC:
                return False
    except OSError:
        return False
    import h5py

    try:
        with h5py.File(p, "r") as h5:
            g = h5.get("poseest")
            return isinstance(g, h5py.Group) and "points" in g and "confidence" in g
    except (OSError, ValueError):
        return False


def _version(path: Path, g) -> int:
    m = re.search(r"pose_est_v(\d+)", path.name)
    if m:
        return int(m.group(1))
    if g["points"].ndim == 3:
        return 2
    if "instance_embed_id" not in g:
        return 3
    return 4


def _fps(h5, g) -> Optional[float]:
    for obj in (g, h5):
        v = obj.attrs.get("fps")
        if v is not None:
            v = float(np.asarray(v).reshape(-1)[0])
            if np.isfinite(v) and v > 0:
                return v
    return None


def read_tracks(path: PathLike, fps: Optional[float] = None, identity: str = "auto") -> xr.Dataset:
    """Read a JABS pose file into ``Tracks`` (positions in pixels, (x, y) order).

    Parameters
    ----------
    path
        ``*_pose_est_v<N>.h5``.
    fps
        Frames per second (positive); default: the file's ``fps`` attribute, else 30.
    identity
        ``"auto"``, ``"embed"`` (long-term identities, v4+) or ``"track"`` (tracklet ids, v3+);
        see the module docstring.
    """
    import h5py

    p = require_file(path, "JABS pose file")
    fps = check_fps(fps, p)
    if identity not in ("auto", "embed", "track"):
        raise MaposeError(f"identity {identity!r} unknown; expected auto, embed or track")
    check_hdf5_opens(p)
    if not sniff(p):
        raise FormatError(f"{p}: not a JABS pose file; expected an HDF5 file with "
                          f"poseest/points and poseest/confidence")
    try:
        with h5py.File(p, "r") as h5:
            g = h5["poseest"]
            version = _version(p, g)
            pts = np.asarray(g["points"][()], dtype=np.float64)
            conf = np.asarray(g["confidence"][()], dtype=np.float64)
            count = np.asarray(g["instance_count"][()]) if "instance_count" in g else None
            track = np.asarray(g["instance_track_id"][()]) if "instance_track_id" in g else None
            embed = np.asarray(g["instance_embed_id"][()]) if "instance_embed_id" in g else None
            n_ids = int(g["instance_id_center"].shape[0]) if "instance_id_center" in g else None
            file_fps = _fps(h5, g)
            cm = g.attrs.get("cm_per_pixel")
    except (OSError, KeyError, ValueError) as exc:
        raise FormatError(f"{p}: cannot read the JABS pose datasets ({' '.join(str(exc).split())})") from None
    if pts.ndim == 3:
        pts, conf = pts[:, None], conf[:, None]
    if pts.ndim != 4 or pts.shape[2:] != (len(KEYPOINTS), 2) or conf.shape != pts.shape[:3]:
        raise FormatError(f"{p}: poseest/points has shape {pts.shape} and confidence "
                          f"{conf.shape}; expected (frames[, instances], 12, 2) and (frames[, instances], 12)")
    t, n_slots = pts.shape[:2]
    valid_pt = conf > 0
    xy = pts[..., ::-1].copy()  # (y, x) -> (x, y)
    xy[~valid_pt] = np.nan
    conf = np.where(valid_pt, conf, np.nan)
    attrs: dict = {"jabs_version": int(version)}
    if cm is not None:
        attrs["cm_per_pixel"] = float(np.asarray(cm).reshape(-1)[0])
    if n_slots == 1 and track is None:
        names, slot_id = ["individual_0"], np.zeros((t, 1), np.int64)
        slot_ok = valid_pt.any(axis=-1)
    else:
        if count is not None:
            slot_ok = np.arange(n_slots)[None, :] < count.reshape(-1, 1)
        else:
            slot_ok = valid_pt.any(axis=-1)
        mode = identity
        if mode == "auto":
            mode = "embed" if embed is not None else "track"
        if mode == "embed":
            if embed is None:
                raise FormatError(f"{p}: no poseest/instance_embed_id (JABS v{version}); "
                                  f"use identity='track'")
            if n_ids is None:
                n_ids = int(embed[slot_ok].max(initial=0))
            assigned = slot_ok & (embed >= 1) & (embed <= n_ids)
            attrs["jabs_unassigned_instances"] = int((slot_ok & ~assigned).sum())
            slot_ok = assigned
            names = [f"identity_{i}" for i in range(1, n_ids + 1)]
            slot_id = np.where(assigned, embed.astype(np.int64) - 1, -1)
        else:
            if track is None:
                raise FormatError(f"{p}: no poseest/instance_track_id (JABS v{version})")
            ids = np.unique(track[slot_ok])
            names = [f"track_{int(i)}" for i in ids]
            slot_id = np.searchsorted(ids, track).astype(np.int64)
            slot_id[~slot_ok] = -1
        attrs["jabs_identity"] = mode
    n = len(names)
    pos = np.full((t, n, len(KEYPOINTS), 2), np.nan)
    cf = np.full((t, n, len(KEYPOINTS)), np.nan)
    f_idx, s_idx = np.nonzero(slot_ok)
    i_idx = slot_id[f_idx, s_idx]
    key = f_idx * max(n, 1) + i_idx
    uniq, first, cnt = np.unique(key, return_index=True, return_counts=True)
    if np.any(cnt > 1):
        j = first[np.argmax(cnt > 1)]
        raise FormatError(f"{p}: two instances of {names[i_idx[j]]!r} in frame {int(f_idx[j])}")
    pos[f_idx, i_idx] = xy[f_idx, s_idx]
    cf[f_idx, i_idx] = conf[f_idx, s_idx]
    fps_val = fps if fps is not None else (file_fps if file_fps is not None else DEFAULT_FPS)
    attrs["jabs_fps_source"] = "argument" if fps is not None else ("file" if file_fps else "default")
    return make_tracks(
        pos.transpose(0, 3, 2, 1), cf.transpose(0, 2, 1),
        skeleton=skeleton(), individuals=names, fps=fps_val,
        source_software="JABS", source_file=str(p), attrs=attrs,
    )
