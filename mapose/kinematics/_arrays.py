"""Array kernels shared by the kinematics modules (numpy only, no xarray).

Conventions: time is axis 0; positions are ``(..., 2)`` or ``(T, 2, ...)`` as stated per function;
NaN means missing and propagates.  Nothing here warns on all-NaN input: callers get NaN.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Iterator

import numpy as np


@contextlib.contextmanager
def quiet_nan() -> Iterator[None]:
    """Silence numpy's floating-point and all-NaN-slice warnings locally (NaN in, NaN out)."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=RuntimeWarning)
            yield


def wrap_angle(a: np.ndarray) -> np.ndarray:
    """Wrap angles (radians) into ``[-pi, pi)``."""
    return (np.asarray(a) + np.pi) % (2 * np.pi) - np.pi


def time_gradient(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Derivative along axis 0 with the same second-order scheme as :func:`numpy.gradient`.

    Central differences inside, first-order one-sided differences at both ends, non-uniform
    spacing allowed -- exactly what ``xarray.DataArray.differentiate`` (and hence ``movement``)
    computes.  Fewer than 2 samples give NaN.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.shape[0] < 2:
        return np.full_like(x, np.nan)
    return np.gradient(x, np.asarray(t, dtype=np.float64), axis=0)


def gradient_from_diffs(d: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Derivative along axis 0 given the forward differences ``d[i] = f[i+1] - f[i]``.

    Uses the same weights as :func:`numpy.gradient` (second order inside, first order at the
    ends), so for a linear quantity it equals ``time_gradient(f, t)``.  Its use is for
    quantities whose differences must be taken specially, e.g. angles wrapped to ``[-pi, pi)``.
    ``d`` has length ``T - 1`` along axis 0; the result has length ``T``.
    """
    d = np.asarray(d, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    n = d.shape[0] + 1
    out = np.full((n,) + d.shape[1:], np.nan)
    if n < 2:
        return out
    h = np.diff(t).reshape((-1,) + (1,) * (d.ndim - 1))
    out[0] = d[0] / h[0]
    out[-1] = d[-1] / h[-1]
    if n > 2:
        hs, hd = h[:-1], h[1:]  # spacing before / after each interior point
        out[1:-1] = (hs**2 * d[1:] + hd**2 * d[:-1]) / (hs * hd * (hs + hd))
    return out


def norm2(v: np.ndarray, axis: int) -> np.ndarray:
    """Euclidean norm over a length-2 ``axis`` (NaN if a component is NaN)."""
    v = np.asarray(v)
    a = np.take(v, 0, axis=axis)
    b = np.take(v, 1, axis=axis)
    return np.sqrt(a * a + b * b)


def angle_between(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Unsigned angle (radians, ``[0, pi]``) between 2-D vectors stored on the last axis."""
    cross = u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]
    dot = u[..., 0] * v[..., 0] + u[..., 1] * v[..., 1]
    return np.abs(np.arctan2(cross, dot))


def signed_angle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Signed angle (radians, ``(-pi, pi]``) that rotates ``u`` onto ``v`` (last axis = x, y)."""
    cross = u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]
    dot = u[..., 0] * v[..., 0] + u[..., 1] * v[..., 1]
    return np.arctan2(cross, dot)
