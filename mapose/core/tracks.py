"""``Tracks``: pose over time with identities, as an :class:`xarray.Dataset`.

The layout is the one of the ``movement`` package, so a ``Tracks`` can be handed to ``movement``
and back without conversion:

- dims ``(time, space, keypoints, individuals)`` -- the names ``movement`` (0.15) uses;
- ``position``: float64 ``(time, space, keypoints, individuals)``, pixels (or cm after
  calibration), NaN = missing;
- ``confidence``: float64 ``(time, keypoints, individuals)``, NaN where unknown;
- coords ``time`` (seconds when ``fps`` is known, else frame numbers), ``space`` = ``["x", "y"]``,
  ``keypoints`` and ``individuals`` names, and the non-dimension coord ``frame`` (int64 frame index in
  the source video, along ``time``);
- attrs: ``fps`` (float or None), ``time_unit`` ("seconds" | "frames"), ``source_software``,
  ``source_file``, ``ds_type`` = "poses", ``skeleton`` (JSON text of the :class:`Skeleton`), and
  optional ``video_path``, ``provenance`` (JSON text).
- optional variables along ``(time, individuals)``: ``instance_score`` (per-animal detection score,
  e.g. SLEAP's) and ``identity_confidence`` (the tracker's confidence in each identity).  Writers
  that have no place for them drop them.

:func:`validate_tracks` is the one owner of this layout; everything else trusts it.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
import xarray as xr

from mapose.core.detections import Detections
from mapose.core.skeleton import Skeleton
from mapose.errors import ValidationError

DIMS = ("time", "space", "keypoints", "individuals")
CONF_DIMS = ("time", "keypoints", "individuals")


def make_tracks(
    position: np.ndarray,
    confidence: Optional[np.ndarray] = None,
    *,
    keypoints: Optional[Sequence[str]] = None,
    individuals: Optional[Sequence[str]] = None,
    skeleton: Optional[Skeleton] = None,
    fps: Optional[float] = None,
    frames: Optional[Sequence[int]] = None,
    source_software: str = "mapose",
    source_file: str = "",
    video_path: str = "",
    attrs: Optional[dict[str, Any]] = None,
) -> xr.Dataset:
    """Build a validated ``Tracks`` dataset.

    Parameters
    ----------
    position
        ``(time, 2, keypoint, individual)`` array of x, y in pixels (NaN = missing).
    confidence
        ``(time, keypoint, individual)``; NaN everywhere when omitted.
    keypoints, skeleton
        Keypoint names; or a :class:`Skeleton` giving names, edges and symmetry.  One is required.
    individuals
        Names of the animals; defaults to ``individual_0 ..``.
    fps
        Frames per second; when given, ``time`` is in seconds, else in frames.
    frames
        Frame index in the source video of each time step (default ``0..T-1``).

    Examples
    --------
    >>> import numpy as np
    >>> ds = make_tracks(np.zeros((10, 2, 3, 2)), keypoints=["a", "b", "c"], fps=30)
    >>> ds.sizes["individuals"]
    2
    """
    pos = np.asarray(position, dtype=np.float64)
    if pos.ndim != 4 or pos.shape[1] != 2:
        raise ValidationError(
            f"position has shape {pos.shape}; expected (time, 2, keypoint, individual)"
        )
    t, _, k, n = pos.shape
    for name, value in (("keypoints", keypoints), ("individuals", individuals)):
        if isinstance(value, (str, bytes)):
            raise ValidationError(f"{name} must be a list of names; got the single string {value!r}")
    if skeleton is not None and not isinstance(skeleton, Skeleton):
        raise ValidationError(f"skeleton must be a Skeleton (mapose.core.Skeleton, or mapose.io.read_skeleton(PATH)); "
                              f"got {type(skeleton).__name__}: keypoint names alone go in keypoints=")
    if skeleton is None:
        if keypoints is None:
            raise ValidationError("make_tracks needs keypoints or a skeleton")
        skeleton = Skeleton(tuple(keypoints))
    elif keypoints is not None and tuple(keypoints) != skeleton.keypoints:
        raise ValidationError("keypoints and skeleton.keypoints disagree")
    if skeleton.n_keypoints != k:
        raise ValidationError(
            f"position has {k} keypoints but the skeleton has {skeleton.n_keypoints} "
            f"({', '.join(skeleton.keypoints)})"
        )
    if individuals is None:
        individuals = [f"individual_{i}" for i in range(n)]
    individuals = [str(i) for i in individuals]
    if len(individuals) != n:
        raise ValidationError(f"position has {n} individuals but {len(individuals)} names were given")
    if confidence is None:
        conf = np.full((t, k, n), np.nan)
    else:
        conf = np.asarray(confidence, dtype=np.float64)
        if conf.shape != (t, k, n):
            raise ValidationError(f"confidence has shape {conf.shape}; expected (time, keypoint, individual) = "
                                  f"{(t, k, n)}, as position {pos.shape}")
    frame_idx = np.arange(t, dtype=np.int64) if frames is None else np.asarray(frames, dtype=np.int64)
    if frame_idx.shape != (t,):
        raise ValidationError(f"frames has shape {frame_idx.shape}; expected ({t},)")
    try:
        fps_num = None if fps is None else float(fps)
    except (TypeError, ValueError):
        raise ValidationError(f"fps must be a number of frames per second; got {fps!r}") from None
    if fps_num is not None and (fps_num < 0 or np.isinf(fps_num)):
        raise ValidationError(f"fps must be a positive number of frames per second; got {fps!r}")
    # 0 and NaN stand for an unknown rate (as some files store it)
    fps_val = None if fps_num is None or not np.isfinite(fps_num) or fps_num == 0 else fps_num
    time = frame_idx / fps_val if fps_val else frame_idx.copy()
    ds = xr.Dataset(
        {
            "position": (DIMS, pos),
            "confidence": (CONF_DIMS, conf),
        },
        coords={
            "time": time,
            "space": ["x", "y"],
            "keypoints": list(skeleton.keypoints),
            "individuals": individuals,
            "frame": ("time", frame_idx),
        },
        attrs={
            "fps": fps_val,
            "time_unit": "seconds" if fps_val else "frames",
            "source_software": source_software,
            "source_file": str(source_file),
            "ds_type": "poses",
            "skeleton": skeleton.to_json(),
            "video_path": str(video_path),
        },
    )
    if attrs:
        ds.attrs.update(attrs)
    return validate_tracks(ds)


def validate_tracks(ds: xr.Dataset) -> xr.Dataset:
    """Check that ``ds`` follows the ``Tracks`` layout; return it unchanged.

    Raises :class:`~mapose.errors.ValidationError` naming what is wrong.
    """
    if not isinstance(ds, xr.Dataset):
        raise ValidationError(f"Tracks must be an xarray.Dataset, got {type(ds).__name__}")
    for var, dims in (("position", DIMS), ("confidence", CONF_DIMS)):
        if var not in ds:
            raise ValidationError(f"Tracks lacks the variable {var!r}; has {list(ds.data_vars)}")
        if tuple(ds[var].dims) != dims:
            raise ValidationError(f"Tracks.{var} has dims {tuple(ds[var].dims)}; expected {dims}")
        if not np.issubdtype(ds[var].dtype, np.floating):
            raise ValidationError(f"Tracks.{var} has dtype {ds[var].dtype}; expected a float type")
    if list(ds["space"].values) != ["x", "y"]:
        raise ValidationError(f"Tracks space coordinate is {list(ds['space'].values)}; expected ['x', 'y']")
    for dim in ("keypoints", "individuals"):
        names = [str(v) for v in ds[dim].values]
        if len(set(names)) != len(names):
            raise ValidationError(f"Tracks has duplicated {dim} names: {names}")
    if "frame" not in ds.coords or ds["frame"].dims != ("time",):
        raise ValidationError("Tracks lacks the coordinate 'frame' along 'time'")
    frames = ds["frame"].values
    if frames.size > 1 and np.any(np.diff(frames) <= 0):
        raise ValidationError("Tracks 'frame' coordinate must be strictly increasing")
    for key in ("fps", "skeleton", "source_software"):
        if key not in ds.attrs:
            raise ValidationError(f"Tracks lacks the attribute {key!r}")
    sk = get_skeleton(ds)
    if list(sk.keypoints) != [str(k) for k in ds["keypoints"].values]:
        raise ValidationError(
            "Tracks attribute 'skeleton' names other keypoints than the 'keypoints' coordinate: "
            f"{list(sk.keypoints)} vs {[str(k) for k in ds['keypoints'].values]} (keypoints the skeleton "
            "lacks; a selection of its keypoints is fine)"
        )
    return ds


def get_skeleton(ds: xr.Dataset) -> Skeleton:
    """The :class:`Skeleton` stored in a ``Tracks`` dataset (keypoints only if none stored).

    After an xarray selection of keypoints (``ds.sel(keypoints=["head", "thorax"])``, or a reordering)
    the stored skeleton still names the original ones; it is then restricted to the dataset's
    keypoints, in their order, with the edges and left/right pairs among them."""
    text = ds.attrs.get("skeleton")
    names = [str(k) for k in ds["keypoints"].values]
    if text:
        sk = Skeleton.from_json(text)
        return sk.restricted_to(names) or sk
    return Skeleton(tuple(names))


def with_skeleton(ds: xr.Dataset, skeleton: Skeleton) -> xr.Dataset:
    """Copy of ``ds`` carrying ``skeleton`` (which must name the same keypoints)."""
    get_skeleton(ds).check_same_keypoints(skeleton, "the new skeleton")
    out = ds.copy()
    out.attrs["skeleton"] = skeleton.to_json()
    return out


def tracks_to_detections(ds: xr.Dataset, keep_identities: bool = False) -> Detections:
    """Flatten ``Tracks`` into :class:`Detections` (one instance per animal per frame it is seen).

    An animal with every keypoint missing in a frame gives no instance there.  Instance scores are
    the mean keypoint confidence (1 where confidence is unknown).  With ``keep_identities`` the
    individual index becomes ``track_id``.
    """
    validate_tracks(ds)
    pos = ds["position"].transpose("time", "individuals", "keypoints", "space").values
    conf = ds["confidence"].transpose("time", "individuals", "keypoints").values
    seen = np.isfinite(pos).all(axis=-1).any(axis=-1)  # (T, I)
    t_idx, i_idx = np.nonzero(seen)
    frames = ds["frame"].values[t_idx]
    kp = pos[t_idx, i_idx]
    ks = conf[t_idx, i_idx]
    missing = ~np.isfinite(kp).all(axis=-1)
    ks = np.where(np.isnan(ks) & ~missing, 1.0, ks)
    ks = np.where(missing, np.nan, ks)
    with np.errstate(invalid="ignore"):
        inst = np.nanmean(np.where(missing, np.nan, ks), axis=1) if len(ks) else np.zeros(0)
    n_frames = int(ds["frame"].values.max()) + 1 if ds.sizes["time"] else 0
    return Detections(
        frame=frames,
        keypoints=kp,
        keypoint_scores=ks,
        instance_scores=np.nan_to_num(inst, nan=0.0),
        skeleton=get_skeleton(ds),
        n_frames=n_frames,
        track_id=i_idx if keep_identities else None,
        track_names=tuple(str(v) for v in ds["individuals"].values) if keep_identities else (),
        fps=ds.attrs.get("fps"),
        source=str(ds.attrs.get("source_file", "")),
    )


def detections_to_tracks(
    det: Detections,
    individuals: Optional[Sequence[str]] = None,
    source_software: str = "mapose",
    source_file: str = "",
    first_frame: int = 0,
) -> xr.Dataset:
    """Place :class:`Detections` that carry ``track_id`` into a dense ``Tracks`` dataset.

    Every frame ``0..n_frames-1`` gets a time step; its frame number in the video is ``first_frame``
    plus that (detections of a part of a video that starts at ``first_frame``).  Two instances with the
    same track in the same frame is an error (the tracker guarantees it never happens).
    """
    if det.track_id is None:
        raise ValidationError(
            "detections have no identities (track_id); run a tracker (mapose.tracking) first"
        )
    if len(det) and det.track_id.min() < 0:
        raise ValidationError("some detections have track_id -1 (unassigned); drop or assign them first")
    n_ids = int(det.track_id.max()) + 1 if len(det) else 0
    names = list(individuals) if individuals is not None else (
        list(det.track_names) if det.track_names else [f"track_{i}" for i in range(n_ids)]
    )
    if len(names) < n_ids:
        raise ValidationError(f"{n_ids} tracks but only {len(names)} individual names")
    t, k, n = det.n_frames, det.n_keypoints, len(names)
    pos = np.full((t, n, k, 2), np.nan)
    conf = np.full((t, n, k), np.nan)
    key = det.frame * max(n, 1) + det.track_id
    if len(np.unique(key)) != len(key):
        raise ValidationError("two detections share one track in the same frame")
    pos[det.frame, det.track_id] = det.keypoints
    conf[det.frame, det.track_id] = det.keypoint_scores
    return make_tracks(
        pos.transpose(0, 3, 2, 1),
        conf.transpose(0, 2, 1),
        skeleton=det.skeleton,
        individuals=names,
        fps=det.fps,
        source_software=source_software,
        source_file=source_file,
        frames=int(first_frame) + np.arange(t, dtype=np.int64),
    )


def n_missing_fraction(ds: xr.Dataset) -> float:
    """Fraction of (time, keypoint, individual) points whose position is missing."""
    pos = ds["position"].values
    return float(np.mean(~np.isfinite(pos).all(axis=1))) if pos.size else 0.0
