"""Rolling-window statistics over time (centred, NaN-aware) for multi-scale features."""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from mapose.errors import ConfigError

STATS = ("mean", "std", "min", "max")


def check_windows(windows: Iterable[int]) -> tuple[int, ...]:
    """Validate window sizes (positive integers, frames) and return them as a tuple."""
    if isinstance(windows, (int, float, str, np.number)):
        raise ConfigError(f"windows is a list of window sizes in frames, e.g. (5, 15, 45); got {windows!r}")
    out = []
    for w in windows:
        if isinstance(w, bool) or int(w) != w or w < 1:
            raise ConfigError(f"window sizes are positive integers (frames); got {w!r}")
        out.append(int(w))
    if len(set(out)) != len(out):
        raise ConfigError(f"duplicated window sizes: {out}")
    return tuple(out)


def rolling_stats(
    x: np.ndarray, windows: Sequence[int] = (5, 15, 45), stats: Sequence[str] = STATS, axis: int = 0
) -> dict[tuple[str, int], np.ndarray]:
    """Centred rolling statistics of every series in ``x`` over time.

    Parameters
    ----------
    x
        2-D array; ``axis`` is time (``(T, F)`` by default, ``axis=1`` for ``(F, T)``, which is
        faster: each series is contiguous).  NaN = missing.
    windows
        Window lengths in frames (time steps).  A window of ``w`` covers ``w // 2`` steps before
        and ``(w - 1) // 2`` after each step, truncated at the ends.
    stats
        Any of ``mean``, ``std`` (population, ddof = 0), ``min``, ``max``.
    axis
        The time axis of ``x``.

    Returns
    -------
    dict
        ``(stat, window) -> array`` shaped like ``x``, float64; NaN where a window holds no valid
        value.  Uses bottleneck's moving-window kernels (O(T) per series and window).
    """
    import bottleneck as bn

    bad = [s for s in stats if s not in STATS]
    if bad:
        raise ConfigError(f"unknown window statistic(s) {bad}; allowed: {', '.join(STATS)}")
    windows = check_windows(windows)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or axis not in (0, 1, -1, -2):
        raise ConfigError(f"rolling_stats expects a 2-D (time, features) array, got shape {x.shape}")
    series = np.ascontiguousarray(np.moveaxis(x, axis, -1))  # (F, T)
    n_f = series.shape[0]
    funcs = {"mean": bn.move_mean, "std": bn.move_std, "min": bn.move_min, "max": bn.move_max}
    out: dict[tuple[str, int], np.ndarray] = {}
    for w in windows:
        before, after = w // 2, (w - 1) // 2
        # pad with NaN so that the trailing window ending at t + after is the centred window of t
        padded = np.concatenate([np.full((n_f, before), np.nan), series, np.full((n_f, after), np.nan)], axis=1)
        for s in stats:
            kw = {"ddof": 0} if s == "std" else {}
            r = funcs[s](padded, window=w, min_count=1, axis=-1, **kw)[:, w - 1:]
            out[(s, w)] = np.moveaxis(r, -1, axis)
    return out
