"""Social features for every ordered pair of animals (A, B), any number of animals.

Public functions take ``Tracks`` and return DataArrays with dims ``(time, subject, partner)``
(``subject`` = A, ``partner`` = B, both indexed by individual names); the diagonal (A = B) is NaN.
The ``*_array`` kernels work on plain ``(T, 2, I)`` arrays and return ``(T, I, I)``; the feature
table uses those directly.

Conventions: distances in space units (px or cm), speeds per time unit, angles in radians.
"""

from __future__ import annotations

from typing import Optional, Union

import numpy as np
import xarray as xr

from mapose.config import as_number
from mapose.kinematics._arrays import angle_between, quiet_nan, time_gradient, wrap_angle
from mapose.kinematics.motion import (
    CENTROID,
    KeypointSpec,
    _keypoint_names,
    _position,
    spec_array,
)

Data = Union[xr.Dataset, xr.DataArray]


# --------------------------------------------------------------------------- array kernels
def _blank_diagonal(x: np.ndarray) -> np.ndarray:
    i = np.arange(x.shape[1])
    x[:, i, i] = np.nan
    return x


def pair_distance_array(pa: np.ndarray, pb: np.ndarray) -> np.ndarray:
    """``out[t, i, j]`` = distance from animal i's point ``pa`` to animal j's point ``pb``.

    ``pa``, ``pb``: ``(T, 2, I)``; returns ``(T, I, I)`` with a NaN diagonal.
    """
    dx = pb[:, 0, None, :] - pa[:, 0, :, None]
    dy = pb[:, 1, None, :] - pa[:, 1, :, None]
    return _blank_diagonal(np.sqrt(dx * dx + dy * dy))


def facing_angle_array(origin: np.ndarray, hvec: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``out[t, i, j]`` = angle (``[0, pi]``) between i's heading and the vector i -> j.

    ``origin`` (i's reference point), ``hvec`` (i's heading vector) and ``target`` (j's point)
    are ``(T, 2, I)``.  0 = i looks straight at j, pi = j is straight behind i.
    """
    to_b = np.stack([target[:, 0, None, :] - origin[:, 0, :, None],
                     target[:, 1, None, :] - origin[:, 1, :, None]], axis=-1)  # (T, I, I, 2)
    h = np.moveaxis(hvec, 1, -1)[:, :, None, :]  # (T, I, 1, 2)
    with quiet_nan():
        return _blank_diagonal(angle_between(np.broadcast_to(h, to_b.shape), to_b))


def relative_heading_array(hvec: np.ndarray) -> np.ndarray:
    """``out[t, i, j]`` = unsigned angle (``[0, pi]``) between the headings of i and j.

    0 = same direction, pi = opposite (e.g. head-to-head or head-to-tail).
    """
    theta = np.arctan2(hvec[:, 1], hvec[:, 0])  # (T, I)
    return _blank_diagonal(np.abs(wrap_angle(theta[:, None, :] - theta[:, :, None])))


def partner_in_frame_array(origin: np.ndarray, hvec: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``out[t, i, j, :]`` = j's point in i's egocentric frame (x forward along i's heading).

    Returns ``(T, I, I, 2)``; the diagonal is NaN.
    """
    with quiet_nan():
        n = np.sqrt(hvec[:, 0] ** 2 + hvec[:, 1] ** 2)
        n = np.where(n > 0, n, np.nan)
        c = (hvec[:, 0] / n)[:, :, None]
        s = (hvec[:, 1] / n)[:, :, None]
    dx = target[:, 0, None, :] - origin[:, 0, :, None]
    dy = target[:, 1, None, :] - origin[:, 1, :, None]
    out = np.stack([c * dx + s * dy, -s * dx + c * dy], axis=-1)
    i = np.arange(out.shape[1])
    out[:, i, i] = np.nan
    return out


def min_keypoint_distance_array(pos: np.ndarray, chunk: int = 16384) -> np.ndarray:
    """``out[t, i, j]`` = smallest distance between any keypoint of i and any keypoint of j.

    ``pos``: ``(T, 2, K, I)``.  Missing keypoints are ignored; NaN when none of a pair is seen.
    Each unordered pair is computed once, in chunks of ``chunk`` frames (``chunk × K²`` floats).
    """
    t_len, _, k, n = pos.shape
    out = np.full((t_len, n, n), np.nan)
    for i in range(n):
        for j in range(i + 1, n):
            for start in range(0, t_len, chunk):
                a = pos[start:start + chunk, :, :, i]  # (t, 2, K)
                b = pos[start:start + chunk, :, :, j]
                dx = a[:, 0, :, None] - b[:, 0, None, :]
                dy = a[:, 1, :, None] - b[:, 1, None, :]
                d2 = dx * dx + dy * dy
                m = np.fmin.reduce(d2.reshape(d2.shape[0], k * k), axis=1)  # fmin ignores NaN
                out[start:start + chunk, i, j] = out[start:start + chunk, j, i] = np.sqrt(m)
    return out


# --------------------------------------------------------------------------- xarray API
def _pair_da(values: np.ndarray, pos: xr.DataArray, name: str) -> xr.DataArray:
    names = [str(v) for v in pos["individuals"].values]
    coords = {"time": pos["time"].values, "subject": names, "partner": names}
    if "frame" in pos.coords:
        coords["frame"] = ("time", pos["frame"].values)
    return xr.DataArray(values, dims=("time", "subject", "partner"), coords=coords, name=name)


def _arrays(data: Data) -> tuple[xr.DataArray, np.ndarray, list[str]]:
    pos = _position(data).transpose("time", "space", "keypoints", "individuals")
    return pos, pos.values, _keypoint_names(pos)


def pairwise_distance(data: Data, kp_a: KeypointSpec = CENTROID, kp_b: KeypointSpec = CENTROID) -> xr.DataArray:
    """Distance from A's ``kp_a`` to B's ``kp_b`` for every ordered pair (space units).

    E.g. ``pairwise_distance(ds, "nose", "tail base")`` is nose-to-tail-base (A sniffing B's
    rear).  (time, subject, partner).
    """
    pos, p, names = _arrays(data)
    return _pair_da(pair_distance_array(spec_array(p, names, kp_a), spec_array(p, names, kp_b)),
                    pos, "distance")


def min_keypoint_distance(data: Data) -> xr.DataArray:
    """Closest distance between any keypoint of A and any keypoint of B (space units)."""
    pos, p, _ = _arrays(data)
    return _pair_da(min_keypoint_distance_array(p), pos, "min_keypoint_distance")


def relative_heading(data: Data, from_kp: KeypointSpec, to_kp: KeypointSpec) -> xr.DataArray:
    """Unsigned angle between A's and B's headings (radians, 0 = parallel, pi = opposite)."""
    pos, p, names = _arrays(data)
    hvec = spec_array(p, names, to_kp) - spec_array(p, names, from_kp)
    return _pair_da(relative_heading_array(hvec), pos, "relative_heading")


def facing_angle(
    data: Data,
    from_kp: KeypointSpec,
    to_kp: KeypointSpec,
    origin_kp: KeypointSpec = CENTROID,
    target_kp: KeypointSpec = CENTROID,
) -> xr.DataArray:
    """Angle between A's heading (``from_kp -> to_kp``) and the vector A's ``origin_kp`` -> B's
    ``target_kp`` (radians, ``[0, pi]``; 0 = A looks straight at B)."""
    pos, p, names = _arrays(data)
    hvec = spec_array(p, names, to_kp) - spec_array(p, names, from_kp)
    return _pair_da(facing_angle_array(spec_array(p, names, origin_kp), hvec,
                                       spec_array(p, names, target_kp)), pos, "facing_angle")


def approach_speed(data: Data, kp_a: KeypointSpec = CENTROID, kp_b: KeypointSpec = CENTROID) -> xr.DataArray:
    """Rate at which the A–B distance shrinks (space units per time unit; > 0 = approaching).

    Minus the time derivative of :func:`pairwise_distance` (same scheme as velocity).
    """
    d = pairwise_distance(data, kp_a, kp_b)
    t = np.asarray(d["time"].values, dtype=np.float64)
    return d.copy(data=-time_gradient(d.values, t)).rename("approach_speed")


def contact(data: Data, threshold: float, kp_a: Optional[KeypointSpec] = None,
            kp_b: Optional[KeypointSpec] = None) -> xr.DataArray:
    """Whether A and B touch: distance below ``threshold`` (space units).

    With no keypoints given, the closest pair of keypoints counts
    (:func:`min_keypoint_distance`); else the distance from A's ``kp_a`` to B's ``kp_b``.
    Returns float 1.0 / 0.0, NaN where the distance is unknown.
    """
    threshold = as_number(threshold, "contact threshold (a distance)", positive=True)
    if kp_a is None and kp_b is None:
        d = min_keypoint_distance(data)
    else:
        d = pairwise_distance(data, kp_a or CENTROID, kp_b or CENTROID)
    vals = np.where(np.isfinite(d.values), (d.values < threshold).astype(float), np.nan)
    return d.copy(data=vals).rename("contact")
