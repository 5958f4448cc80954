"""Rolling-window statistics over time (centred, NaN-aware) for multi-scale features."""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from mapose.errors import ConfigError

STATS = ("mean", "std", "min", "max")


def check_windows(windows: Iterable[int]) -> tuple[int, ...]:
    """Validate window sizes (positive integers, frames) and return them as a tuple."""
    out = []
    for w in windows:
        if isinstance(w, bool) or int(w) != w or w < 1:
            raise ConfigError(f"window sizes are positive integers (frames); got {w!r}")
        out.append(int(w))
    if len(set(out)) != len(out):
        raise ConfigError(f"duplicated window sizes: {out}")
    return tuple(out)


def rolling_stats(
    x: np.ndarray, windows: Sequence[int] = (5, 15, 45), stats: Sequence[str] = STATS
) -> dict[tuple[str, int], np.ndarray]:
    """Centred rolling statistics of every column of ``x`` over time (axis 0).

    Parameters
    ----------
    x
        ``(T, F)`` array (time steps × features); NaN = missing.
    windows
        Window lengths in frames (time steps).  A window of ``w`` covers ``w // 2`` steps before
        and ``(w - 1) // 2`` after each step, truncated at the ends.
    stats
        Any of ``mean``, ``std`` (population, ddof = 0), ``min``, ``max``.

    Returns
    -------
    dict
        ``(stat, window) -> (T, F)`` float64; NaN where a window holds no valid value.
    """
    import pandas as pd

    bad = [s for s in stats if s not in STATS]
    if bad:
        raise ConfigError(f"unknown window statistic(s) {bad}; allowed: {', '.join(STATS)}")
    windows = check_windows(windows)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ConfigError(f"rolling_stats expects a (time, features) array, got shape {x.shape}")
    df = pd.DataFrame(x, copy=False)
    out: dict[tuple[str, int], np.ndarray] = {}
    for w in windows:
        roll = df.rolling(w, center=True, min_periods=1)
        for s in stats:
            r = roll.std(ddof=0) if s == "std" else getattr(roll, s)()
            out[(s, w)] = r.to_numpy(dtype=np.float64)
    return out
