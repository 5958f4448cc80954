"""Cleaning and calibration of ``Tracks``: each step is a pure function returning new Tracks.

Every step appends one entry ``{"step", "params", "n_changed", ...}`` to the JSON list in
``attrs["cleaning_log"]``; ``n_changed`` counts *points* -- (time, keypoint, individual) triples
-- whose position was changed (dropped, filled or moved) by the step.  :func:`cleaning_log`
reads it back.

Where ``movement`` has the same operation the numbers are the same: ``filter_by_confidence``
(except that points with *unknown* (NaN) confidence are kept here, dropped by movement),
``interpolate_gaps`` (= ``interpolate_over_time(method="linear", max_gap=...)``),
``rolling_median`` (= ``rolling_filter(statistic="median")``) and ``savgol_smooth``
(= ``savgol_filter``).  All are vectorised over keypoints and animals.
"""

from __future__ import annotations

import json
from typing import Any, Optional, Sequence

import numpy as np
import xarray as xr

from mapose.config import as_number
from mapose.core.tracks import validate_tracks
from mapose.errors import ConfigError, ValidationError
from mapose.kinematics._arrays import quiet_nan
from mapose.kinematics.motion import body_length


# --------------------------------------------------------------------------- log helpers
def cleaning_log(ds: xr.Dataset) -> list[dict[str, Any]]:
    """The list of cleaning steps recorded in ``ds.attrs["cleaning_log"]`` (empty if none)."""
    text = ds.attrs.get("cleaning_log")
    return list(json.loads(text)) if text else []


def _with_position(ds: xr.Dataset, new_pos: np.ndarray, step: str, params: dict, **extra: Any) -> xr.Dataset:
    old = ds["position"].values
    old_missing = ~np.isfinite(old)
    new_missing = ~np.isfinite(new_pos)
    axis = ds["position"].get_axis_num("space")
    with np.errstate(invalid="ignore"):
        differs = (old_missing != new_missing) | (~old_missing & ~new_missing & (old != new_pos))
    changed = differs.any(axis=axis)
    out = ds.copy()
    out["position"] = ds["position"].copy(data=new_pos)
    entry = {"step": step, "params": params, "n_changed": int(changed.sum()),
             "n_points": int(changed.size)}
    entry.update(extra)
    out.attrs["cleaning_log"] = json.dumps(cleaning_log(ds) + [entry])
    return out


def _time_first(ds: xr.Dataset) -> tuple[np.ndarray, tuple[int, ...], tuple[str, ...]]:
    """Position as ``(T, M)`` with time first, plus what is needed to put it back."""
    da = ds["position"]
    dims = da.dims
    moved = np.moveaxis(da.values, da.get_axis_num("time"), 0)
    return moved.reshape(moved.shape[0], int(np.prod(moved.shape[1:]))), moved.shape, dims


def _back(flat: np.ndarray, shape: tuple[int, ...], ds: xr.Dataset) -> np.ndarray:
    return np.moveaxis(flat.reshape(shape), 0, ds["position"].get_axis_num("time"))


def _check_tracks(ds: xr.Dataset) -> None:
    if not isinstance(ds, xr.Dataset):
        raise ValidationError(f"expected Tracks (xarray.Dataset), got {type(ds).__name__}")
    validate_tracks(ds)


# --------------------------------------------------------------------------- steps
def zeros_to_nan(ds: xr.Dataset) -> xr.Dataset:
    """Mark points stored as exactly (0, 0) as missing (NaN).

    Some tools (e.g. the MABe22 files) code a missing keypoint as x = y = 0.  Confidence is left
    unchanged.
    """
    _check_tracks(ds)
    pos = ds["position"]
    zero = (pos == 0).all("space")
    new = pos.where(~zero).transpose(*pos.dims).values
    return _with_position(ds, new, "zeros_to_nan", {})


def filter_by_confidence(ds: xr.Dataset, threshold: float) -> xr.Dataset:
    """Drop (set to NaN) points whose confidence is below ``threshold``.

    Points with unknown (NaN) confidence are kept -- files without scores would otherwise lose
    everything.  Confidence values themselves are unchanged.

    Parameters
    ----------
    threshold
        Minimum confidence kept (same scale as the file: DLC likelihood 0..1, SLEAP scores may
        exceed 1).
    """
    _check_tracks(ds)
    threshold = as_number(threshold, "confidence threshold")
    conf = ds["confidence"]
    keep = (conf >= threshold) | conf.isnull()
    pos = ds["position"]
    new = pos.where(keep).transpose(*pos.dims).values
    return _with_position(ds, new, "filter_by_confidence", {"threshold": float(threshold)})


def interpolate_array(x: np.ndarray, max_gap: Optional[int]) -> np.ndarray:
    """Linear interpolation over NaN runs along axis 0 of a ``(T, M)`` array.

    A run of ``n`` consecutive NaNs is filled when ``n <= max_gap`` (``None`` = any length) and
    it has valid samples on both sides; leading/trailing runs are never extrapolated.  Spacing is
    the sample index (frames), as in ``movement.filtering.interpolate_over_time``.
    """
    x = np.asarray(x, dtype=np.float64)
    t_len = x.shape[0]
    valid = np.isfinite(x)
    if t_len == 0 or valid.all():
        return x.copy()
    idx = np.arange(t_len)[:, None]
    prev = np.maximum.accumulate(np.where(valid, idx, -1), axis=0)
    nxt = np.minimum.accumulate(np.where(valid, idx, t_len)[::-1], axis=0)[::-1]
    fill = ~valid & (prev >= 0) & (nxt < t_len)
    if max_gap is not None:
        fill &= (nxt - prev - 1) <= max_gap
    out = x.copy()
    rows, cols = np.nonzero(fill)
    p, n = prev[rows, cols], nxt[rows, cols]
    xp, xn = x[p, cols], x[n, cols]
    out[rows, cols] = xp + (xn - xp) * (rows - p) / (n - p)
    return out


def interpolate_gaps(ds: xr.Dataset, max_gap: Optional[int]) -> xr.Dataset:
    """Fill gaps of at most ``max_gap`` consecutive missing frames by linear interpolation.

    Parameters
    ----------
    max_gap
        Longest run of missing frames (time steps) that is filled; ``None`` fills every gap that
        has data on both sides.  Gaps at the start or end are never filled.
    """
    _check_tracks(ds)
    if max_gap is not None and (int(max_gap) != max_gap or max_gap < 0):
        raise ConfigError(f"max_gap must be a non-negative integer (frames) or None, got {max_gap!r}")
    flat, shape, _ = _time_first(ds)
    new = interpolate_array(flat, None if max_gap is None else int(max_gap))
    return _with_position(ds, _back(new, shape, ds), "interpolate_gaps",
                          {"max_gap": None if max_gap is None else int(max_gap)})


def rolling_median_array(x: np.ndarray, window: int, min_periods: Optional[int] = None) -> np.ndarray:
    """Centred rolling median along axis 0 of ``(T, M)``, edges reflected (NaN ignored).

    A window with fewer than ``min_periods`` valid samples (default: ``window``) gives NaN.
    """
    import pandas as pd

    half = window // 2
    if x.shape[0] == 0:
        return x.copy()
    if half >= x.shape[0]:
        raise ConfigError(f"rolling window {window} is too long for {x.shape[0]} time steps")
    padded = np.pad(x, [(half, half)] + [(0, 0)] * (x.ndim - 1), mode="reflect") if half else x
    df = pd.DataFrame(padded.reshape(padded.shape[0], -1))
    med = df.rolling(window, center=True, min_periods=min_periods if min_periods is not None else window).median()
    out = med.to_numpy()
    return (out[half: out.shape[0] - half] if half else out).reshape(x.shape)


def rolling_median(ds: xr.Dataset, window: int, min_periods: Optional[int] = None) -> xr.Dataset:
    """Centred rolling-median filter over time (spike removal).

    Parameters
    ----------
    window
        Window length in frames (time steps); odd values keep the window centred.
    min_periods
        Least number of valid samples in a window to give a value (default ``window``: one NaN
        in the window gives NaN, as in ``movement``).  ``1`` fills small gaps.
    """
    _check_tracks(ds)
    if int(window) != window or window < 1:
        raise ConfigError(f"rolling median window must be a positive integer (frames), got {window!r}")
    if min_periods is not None and (int(min_periods) != min_periods or not 1 <= min_periods <= window):
        raise ConfigError(f"rolling median min_periods must be an integer from 1 to the window ({window}); "
                          f"got {min_periods!r}")
    flat, shape, _ = _time_first(ds)
    new = rolling_median_array(flat, int(window), min_periods)
    return _with_position(ds, _back(new, shape, ds), "rolling_median",
                          {"window": int(window), "min_periods": min_periods})


def savgol_array(x: np.ndarray, window: int, polyorder: int) -> tuple[np.ndarray, int]:
    """Savitzky–Golay smoothing along axis 0 of ``(T, M)``.

    Columns whose first and last ``window`` samples are all valid use scipy's ``mode="interp"``
    (polynomial fit at the edges, as ``movement``); the others use ``mode="nearest"`` (scipy
    refuses NaN in interp edge windows).  NaN spreads over ``window // 2`` samples.  Returns the
    smoothed array and the number of columns that used ``"nearest"``.
    """
    from scipy.signal import savgol_filter

    out = np.empty_like(x)
    if x.shape[0] == 0:
        return out, 0
    if window > x.shape[0]:
        raise ConfigError(f"Savitzky-Golay window {window} is longer than the data ({x.shape[0]} time steps)")
    edge = np.isfinite(x[:window]).all(axis=0) & np.isfinite(x[-window:]).all(axis=0)
    with quiet_nan():
        if edge.any():
            out[:, edge] = savgol_filter(x[:, edge], window, polyorder, axis=0, mode="interp")
        if (~edge).any():
            out[:, ~edge] = savgol_filter(x[:, ~edge], window, polyorder, axis=0, mode="nearest")
    return out, int((~edge).sum())


def savgol_smooth(ds: xr.Dataset, window: int, polyorder: int = 2) -> xr.Dataset:
    """Savitzky–Golay smoothing of positions over time.

    Parameters
    ----------
    window
        Window length in frames (odd, > ``polyorder``).
    polyorder
        Order of the fitted polynomial.
    """
    _check_tracks(ds)
    if int(window) != window or window < 1 or int(polyorder) != polyorder or not 0 <= polyorder < window:
        raise ConfigError(
            f"Savitzky-Golay needs an integer window > polyorder >= 0; got window={window!r}, "
            f"polyorder={polyorder!r}"
        )
    flat, shape, _ = _time_first(ds)
    new, n_nearest = savgol_array(flat, int(window), int(polyorder))
    return _with_position(ds, _back(new, shape, ds), "savgol_smooth",
                          {"window": int(window), "polyorder": int(polyorder)},
                          n_columns_nearest_edges=n_nearest)


def outlier_mask(ds: xr.Dataset, max_speed: float) -> xr.DataArray:
    """Points that jump faster than ``max_speed`` from *every* valid neighbour in time.

    A point is an outlier when the speed from the previous time step and to the next one
    (those that exist and are valid) both exceed ``max_speed``: an isolated one-frame spike is
    flagged while the good samples around it are not (each of them has one slow neighbour).
    ``max_speed`` is meant as a physical limit: a stretch moving faster than it everywhere is
    flagged entirely.  Excursions lasting several frames are not caught (each point has a slow
    neighbour inside the excursion); :func:`rolling_median` removes those.

    Parameters
    ----------
    max_speed
        Limit in space units per time unit (px/s when ``fps`` is known, else px/frame; cm/s
        after calibration).

    Returns
    -------
    xarray.DataArray
        Boolean ``(time, keypoints, individuals)``.
    """
    _check_tracks(ds)
    max_speed = as_number(max_speed, "max_speed", positive=True)
    pos = ds["position"].transpose("time", "space", "keypoints", "individuals")
    p = pos.values
    t = np.asarray(ds["time"].values, dtype=np.float64)
    mask = np.zeros((p.shape[0],) + p.shape[2:], dtype=bool)
    if p.shape[0] >= 2:
        with quiet_nan():
            step = np.sqrt(((p[1:] - p[:-1]) ** 2).sum(axis=1)) / np.diff(t)[:, None, None]
        fast = step > max_speed
        known = np.isfinite(step)
        before_fast = np.zeros_like(mask)
        before_known = np.zeros_like(mask)
        after_fast = np.zeros_like(mask)
        after_known = np.zeros_like(mask)
        before_fast[1:], before_known[1:] = fast, known
        after_fast[:-1], after_known[:-1] = fast, known
        mask = (before_known | after_known) & (before_fast | ~before_known) & (after_fast | ~after_known)
    return xr.DataArray(mask, dims=("time", "keypoints", "individuals"),
                        coords={k: v for k, v in ds["confidence"].coords.items()}, name="outlier")


def flag_outlier_jumps(ds: xr.Dataset, max_speed: float) -> xr.Dataset:
    """Drop (set to NaN) the points flagged by :func:`outlier_mask`.

    The mask itself is available from :func:`outlier_mask`; this step removes the points so that
    :func:`interpolate_gaps` can fill them.  ``max_speed`` is in space units per time unit.
    """
    mask = outlier_mask(ds, max_speed)
    pos = ds["position"]
    new = pos.where(~mask).transpose(*pos.dims).values
    return _with_position(ds, new, "flag_outlier_jumps", {"max_speed": float(max_speed)})


# --------------------------------------------------------------------------- calibration
def calibrate(
    ds: xr.Dataset,
    px_per_cm: Optional[float] = None,
    known_length: Optional[tuple[str, str, float]] = None,
    fps: Optional[float] = None,
) -> xr.Dataset:
    """Convert positions from pixels to cm and (optionally) frames to seconds.

    Parameters
    ----------
    px_per_cm
        Pixels per centimetre.
    known_length
        ``(keypoint_a, keypoint_b, cm)``: the median distance between the two keypoints over all
        frames and animals is taken to be ``cm`` centimetres (e.g. two arena corners tracked as
        keypoints, or a body length).  Give ``px_per_cm`` or ``known_length``, or neither when
        only ``fps`` is set.
    fps
        Frames per second for data whose time is in frames; ``time`` becomes ``frame / fps``
        seconds.  Must agree with the stored ``fps`` if there is one.

    Returns
    -------
    xarray.Dataset
        New Tracks with ``attrs["space_unit"] = "cm"`` and ``attrs["px_per_cm"]`` when scaled.
    """
    _check_tracks(ds)
    if px_per_cm is not None and known_length is not None:
        raise ConfigError("give px_per_cm or known_length, not both")
    out = ds.copy()
    if px_per_cm is not None or known_length is not None:
        if ds.attrs.get("space_unit", "px") != "px":
            raise ConfigError(
                f"tracks are already in {ds.attrs['space_unit']!r} (px_per_cm={ds.attrs.get('px_per_cm')}); "
                "calibrate pixel data only"
            )
        if known_length is not None:
            if len(known_length) != 3:
                raise ConfigError(f"known_length must be (keypoint_a, keypoint_b, cm), got {known_length!r}")
            a, b, cm = known_length
            cm = as_number(cm, "known_length: the length in cm", positive=True)
            with quiet_nan():
                med = float(np.nanmedian(body_length(ds, a, b).values))
            if not np.isfinite(med) or med <= 0:
                raise ConfigError(f"known_length: no frame has both {a!r} and {b!r}; cannot calibrate")
            px_per_cm = med / float(cm)
        px_per_cm = as_number(px_per_cm, "px_per_cm", positive=True)
        out["position"] = ds["position"] / float(px_per_cm)
        out.attrs["space_unit"] = "cm"
        out.attrs["px_per_cm"] = float(px_per_cm)
    if fps is not None:
        fps = as_number(fps, "fps", positive=True)
        old = ds.attrs.get("fps")
        if old and abs(float(old) - float(fps)) > 1e-9 * float(fps):
            raise ConfigError(f"tracks already have fps={old}; asked to calibrate with fps={fps}")
        out = out.assign_coords(time=ds["frame"].values / float(fps))
        out.attrs["fps"] = float(fps)
        out.attrs["time_unit"] = "seconds"
    return out


def space_unit(ds: xr.Dataset) -> str:
    """``"cm"`` for calibrated tracks, else ``"px"``."""
    return str(ds.attrs.get("space_unit", "px"))


__all__: Sequence[str] = [
    "calibrate",
    "cleaning_log",
    "filter_by_confidence",
    "flag_outlier_jumps",
    "interpolate_array",
    "interpolate_gaps",
    "outlier_mask",
    "rolling_median",
    "savgol_smooth",
    "space_unit",
    "zeros_to_nan",
]
