"""Per-animal kinematics on ``Tracks``: derivatives, heading, angles, lengths, egocentric frames.

Every function takes a ``Tracks`` dataset (or its ``position`` DataArray) and returns a new
:class:`xarray.DataArray`; nothing is modified in place.  Units follow the data: space in pixels
(or cm after :func:`mapose.kinematics.calibrate`, see ``attrs["space_unit"]``) and time in the unit
of the ``time`` coordinate (seconds when ``fps`` is known, else frames).  Angles are radians in
image coordinates (x to the right, y *down*), measured with ``atan2(dy, dx)``.

A *keypoint spec* (``from_kp``, ``origin_kp`` ...) is a keypoint name, the word ``"centroid"``
(mean of all keypoints present in that frame) or a sequence of names (mean of those).

``velocity``, ``acceleration`` and ``speed`` equal ``movement.kinematics.compute_velocity`` /
``compute_acceleration`` / ``compute_speed`` (same differentiation scheme as ``numpy.gradient``).
"""

from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np
import xarray as xr

from mapose.errors import SkeletonError, ValidationError
from mapose.kinematics._arrays import (
    angle_between,
    gradient_from_diffs,
    quiet_nan,
    time_gradient,
    wrap_angle,
)

KeypointSpec = Union[str, Sequence[str]]
CENTROID = "centroid"


# --------------------------------------------------------------------------- helpers
def _position(data: Union[xr.Dataset, xr.DataArray]) -> xr.DataArray:
    if isinstance(data, xr.Dataset):
        if "position" not in data:
            raise ValidationError(f"expected a Tracks dataset with 'position'; has {list(data.data_vars)}")
        return data["position"]
    if isinstance(data, xr.DataArray):
        return data
    raise ValidationError(f"expected Tracks (xarray.Dataset) or a position DataArray, got {type(data).__name__}")


def _keypoint_names(pos: xr.DataArray) -> list[str]:
    return [str(k) for k in pos["keypoints"].values]


def keypoint_indices(keypoints: Sequence[str], spec: KeypointSpec) -> Optional[list[int]]:
    """Indices of the keypoints a spec averages (``None`` = all, for ``"centroid"``).

    Raises :class:`SkeletonError` naming the unknown keypoint and listing the known ones.
    """
    names = list(keypoints)
    if isinstance(spec, str):
        if spec == CENTROID and CENTROID not in names:
            return None
        spec = [spec]
    out = []
    for s in spec:
        if s not in names:
            raise SkeletonError(f"keypoint {s!r} not in the tracks; known: {', '.join(names)}")
        out.append(names.index(s))
    if not out:
        raise SkeletonError("an empty list of keypoints was given; name at least one or 'centroid'")
    return out


def spec_label(spec: KeypointSpec) -> str:
    """Readable name of a keypoint spec (``"nose"``, ``"centroid"``, ``"mean(a,b)"``)."""
    if isinstance(spec, str):
        return spec
    spec = list(spec)
    return spec[0] if len(spec) == 1 else f"mean({','.join(spec)})"


def spec_array(pos: np.ndarray, keypoints: Sequence[str], spec: KeypointSpec) -> np.ndarray:
    """Position of a keypoint spec from a ``(T, 2, K, I)`` array -> ``(T, 2, I)`` (NaN-aware mean)."""
    idx = keypoint_indices(keypoints, spec)
    sel = pos if idx is None else pos[:, :, idx, :]
    if sel.shape[2] == 1:
        return sel[:, :, 0, :].copy()
    with quiet_nan():
        return np.nanmean(sel, axis=2)


def keypoint_position(data: Union[xr.Dataset, xr.DataArray], spec: KeypointSpec) -> xr.DataArray:
    """Position ``(time, space, individuals)`` of a keypoint spec (name, ``"centroid"`` or list).

    The centroid / mean ignores keypoints missing in a frame; NaN only when all are missing.
    """
    pos = _position(data)
    pos = pos.transpose("time", "space", "keypoints", "individuals")
    arr = spec_array(pos.values, _keypoint_names(pos), spec)
    return xr.DataArray(
        arr,
        dims=("time", "space", "individuals"),
        coords={k: v for k, v in pos.coords.items() if "keypoints" not in v.dims},
        name=spec_label(spec),
    )


def _time(da: xr.DataArray) -> np.ndarray:
    return np.asarray(da["time"].values, dtype=np.float64)


def _like(template: xr.DataArray, values: np.ndarray, name: str, drop_space: bool = False) -> xr.DataArray:
    if drop_space:
        dims = tuple(d for d in template.dims if d != "space")
        coords = {k: v for k, v in template.coords.items() if "space" not in v.dims}
    else:
        dims, coords = template.dims, template.coords
    return xr.DataArray(values, dims=dims, coords=coords, name=name)


# --------------------------------------------------------------------------- derivatives
def velocity(data: Union[xr.Dataset, xr.DataArray]) -> xr.DataArray:
    """Velocity of every keypoint, same dims as ``position``.

    Units: space unit per time unit (px/s when ``fps`` is known, px/frame otherwise).
    Second-order central differences inside, first-order at both ends (as ``numpy.gradient``);
    a missing point makes its neighbours' velocity NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from mapose.core import make_tracks
    >>> pos = np.zeros((4, 2, 1, 1)); pos[:, 0, 0, 0] = [0, 1, 2, 3]
    >>> float(velocity(make_tracks(pos, keypoints=["a"], fps=2)).sel(space="x")[1, 0, 0])
    2.0
    """
    pos = _position(data)
    axis = pos.get_axis_num("time")
    vals = np.moveaxis(time_gradient(np.moveaxis(pos.values, axis, 0), _time(pos)), 0, axis)
    return _like(pos, vals, "velocity")


def acceleration(data: Union[xr.Dataset, xr.DataArray]) -> xr.DataArray:
    """Acceleration of every keypoint (derivative of :func:`velocity`), space unit per time unit²."""
    pos = _position(data)
    axis = pos.get_axis_num("time")
    t = _time(pos)
    x = np.moveaxis(pos.values, axis, 0)
    vals = np.moveaxis(time_gradient(time_gradient(x, t), t), 0, axis)
    return _like(pos, vals, "acceleration")


def speed(data: Union[xr.Dataset, xr.DataArray]) -> xr.DataArray:
    """Speed (norm of :func:`velocity`) of every keypoint, dims without ``space``."""
    v = velocity(data)
    vals = np.sqrt((v**2).sum("space", skipna=False))
    return vals.rename("speed")


def path_length(data: Union[xr.Dataset, xr.DataArray], keypoint: Optional[KeypointSpec] = None) -> xr.DataArray:
    """Distance travelled (space unit): sum of the step lengths between consecutive time steps.

    Steps touching a missing point are skipped (not bridged); with no step between two known
    points the distance is unknown (NaN), not 0.  Returns dims ``(keypoints, individuals)``, or
    ``(individuals,)`` when ``keypoint`` is given.
    """
    pos = _position(data)
    if keypoint is not None:
        pos = keypoint_position(pos, keypoint)
    step = np.sqrt((pos.diff("time") ** 2).sum("space", skipna=False))
    return step.sum("time", skipna=True, min_count=1).rename("path_length")


# --------------------------------------------------------------------------- orientation
def heading_vector(data: Union[xr.Dataset, xr.DataArray], from_kp: KeypointSpec, to_kp: KeypointSpec) -> xr.DataArray:
    """Vector ``to_kp - from_kp`` (time, space, individuals), e.g. tail base -> nose."""
    a = keypoint_position(data, from_kp)
    b = keypoint_position(data, to_kp)
    return (b - a).rename("heading_vector")


def heading(data: Union[xr.Dataset, xr.DataArray], from_kp: KeypointSpec, to_kp: KeypointSpec) -> xr.DataArray:
    """Heading angle (radians, ``[-pi, pi]``) of the vector ``from_kp -> to_kp``, (time, individuals).

    0 = pointing along +x; positive angles turn towards +y (clockwise on screen, as y points down).
    """
    v = heading_vector(data, from_kp, to_kp)
    vals = np.arctan2(v.sel(space="y").values, v.sel(space="x").values)
    return xr.DataArray(vals, dims=("time", "individuals"),
                        coords={k: c for k, c in v.coords.items() if "space" not in c.dims}, name="heading")


def angular_velocity(data: Union[xr.Dataset, xr.DataArray], from_kp: KeypointSpec, to_kp: KeypointSpec) -> xr.DataArray:
    """Signed rate of change of :func:`heading` (radians per time unit), (time, individuals).

    Successive heading differences are wrapped into ``[-pi, pi)`` before differentiating (so a
    turn across ±pi is not a jump of 2 pi), with the same scheme as :func:`velocity`.
    """
    h = heading(data, from_kp, to_kp)
    t = _time(h)
    vals = gradient_from_diffs(wrap_angle(np.diff(h.values, axis=0)), t) if len(t) > 1 else np.full(h.shape, np.nan)
    return h.copy(data=vals).rename("angular_velocity")


def angular_speed(data: Union[xr.Dataset, xr.DataArray], from_kp: KeypointSpec, to_kp: KeypointSpec) -> xr.DataArray:
    """Absolute value of :func:`angular_velocity` (radians per time unit)."""
    return np.abs(angular_velocity(data, from_kp, to_kp)).rename("angular_speed")


def joint_angle(data: Union[xr.Dataset, xr.DataArray], a: KeypointSpec, b: KeypointSpec,
                c: KeypointSpec) -> xr.DataArray:
    """Angle at ``b`` between ``b -> a`` and ``b -> c`` (radians, ``[0, pi]``; pi = straight line)."""
    pa, pb, pc = (keypoint_position(data, s) for s in (a, b, c))
    u = np.moveaxis((pa - pb).values, 1, -1)
    v = np.moveaxis((pc - pb).values, 1, -1)
    with quiet_nan():
        vals = angle_between(u, v)
    return xr.DataArray(vals, dims=("time", "individuals"),
                        coords={k: cc for k, cc in pa.coords.items() if "space" not in cc.dims},
                        name="joint_angle")


def body_length(data: Union[xr.Dataset, xr.DataArray], a: KeypointSpec, b: KeypointSpec) -> xr.DataArray:
    """Distance between two keypoint specs (space unit), (time, individuals)."""
    d = keypoint_position(data, a) - keypoint_position(data, b)
    return np.sqrt((d**2).sum("space", skipna=False)).rename("body_length")


# --------------------------------------------------------------------------- egocentric
def egocentric_array(
    pos: np.ndarray, origin: np.ndarray, hvec: np.ndarray
) -> np.ndarray:
    """Rotate and centre ``(T, 2, K, I)`` positions into body frames.

    ``origin`` and ``hvec`` are ``(T, 2, I)``: each animal's origin and heading vector.  In the
    result the heading points along +x and the origin is (0, 0).  A zero or missing heading vector
    gives NaN.
    """
    with quiet_nan():
        n = np.sqrt(hvec[:, 0] ** 2 + hvec[:, 1] ** 2)
        n = np.where(n > 0, n, np.nan)
        c = hvec[:, 0] / n  # (T, I)
        s = hvec[:, 1] / n
    dx = pos[:, 0] - origin[:, 0, None, :]  # (T, K, I)
    dy = pos[:, 1] - origin[:, 1, None, :]
    c, s = c[:, None, :], s[:, None, :]
    out = np.empty_like(pos)
    out[:, 0] = c * dx + s * dy
    out[:, 1] = -s * dx + c * dy
    return out


def egocentric(
    ds: xr.Dataset,
    origin_kp: KeypointSpec = CENTROID,
    heading_from: KeypointSpec = "",
    heading_to: KeypointSpec = "",
) -> xr.Dataset:
    """Each animal's keypoints centred on ``origin_kp`` and rotated into its own body frame.

    The heading vector ``heading_from -> heading_to`` (e.g. tail base -> nose) becomes the +x axis;
    +y is +x turned by +90° in image coordinates.  Distances are preserved, so a rotated and
    translated copy of the data gives identical egocentric coordinates.

    Returns a copy of ``ds`` whose ``position`` holds the egocentric coordinates, with
    ``attrs["coordinate_frame"]`` describing the frame.  Frames where the origin or the heading is
    missing are NaN.
    """
    if not heading_from or not heading_to:
        raise SkeletonError(
            "egocentric needs heading_from and heading_to (e.g. 'tail base' and 'nose'); known "
            f"keypoints: {', '.join(_keypoint_names(_position(ds)))}"
        )
    pos_da = _position(ds).transpose("time", "space", "keypoints", "individuals")
    names = _keypoint_names(pos_da)
    p = pos_da.values
    origin = spec_array(p, names, origin_kp)
    hvec = spec_array(p, names, heading_to) - spec_array(p, names, heading_from)
    ego = egocentric_array(p, origin, hvec)
    out = ds.copy()
    out["position"] = pos_da.copy(data=ego).transpose(*_position(ds).dims)
    out.attrs["coordinate_frame"] = (
        f"egocentric(origin={spec_label(origin_kp)}, heading={spec_label(heading_from)}->{spec_label(heading_to)})"
    )
    return out
