"""Rolling window statistics against a direct loop."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mapose.errors import ConfigError
from mapose.kinematics.windows import rolling_stats


def naive(x, w, stat):
    out = np.full(x.shape, np.nan)
    before, after = w // 2, (w - 1) // 2
    fn = {"mean": np.nanmean, "std": np.nanstd, "min": np.nanmin, "max": np.nanmax}[stat]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for t in range(x.shape[0]):
            out[t] = fn(x[max(0, t - before): t + after + 1], axis=0)
    return out


@pytest.mark.parametrize("w", [1, 4, 5, 15])
def test_rolling_stats_match_loop_with_nans(w):
    rng = np.random.default_rng(w)
    x = rng.normal(size=(60, 3)) * 10
    x[rng.random(x.shape) < 0.3] = np.nan
    x[20:40, 2] = np.nan  # long gap: windows inside it have no data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = rolling_stats(x, (w,))
    for stat in ("mean", "std", "min", "max"):
        np.testing.assert_allclose(res[(stat, w)], naive(x, w, stat), atol=1e-6, rtol=1e-9, equal_nan=True,
                                   err_msg=f"{stat} w={w}")
    assert np.isnan(res[("mean", w)][30, 2]) == (w < 21)


def test_rolling_stats_rejects_bad_input():
    with pytest.raises(ConfigError, match="positive integers"):
        rolling_stats(np.zeros((5, 1)), (0,))
    with pytest.raises(ConfigError, match="allowed"):
        rolling_stats(np.zeros((5, 1)), (3,), ("median",))
