"""Cleaning steps and calibration: what they change and what they record."""

from __future__ import annotations

import json

import numpy as np
import pytest

import mapose.kinematics as K
from mapose.config import from_dict
from mapose.core import make_tracks, validate_tracks
from mapose.errors import ConfigError

from .conftest import circle_tracks


def line_tracks(n=20):
    pos = np.zeros((n, 2, 2, 1))
    pos[:, 0, 0, 0] = np.arange(n) * 2.0  # a: x = 2 t
    pos[:, 1, 0, 0] = 5.0
    pos[:, 0, 1, 0] = np.arange(n) * 2.0 - 10
    pos[:, 1, 1, 0] = 5.0
    conf = np.full((n, 2, 1), 0.9)
    return make_tracks(pos, conf, keypoints=["nose", "tailbase"], fps=10)


def test_interpolate_fills_gaps_up_to_max_gap_and_logs():
    ds = line_tracks()
    pos = ds["position"].values.copy()
    pos[3:5, :, 0, 0] = np.nan  # gap of 2 frames
    pos[10:15, :, 0, 0] = np.nan  # gap of 5 frames
    pos[0, :, 1, 0] = np.nan  # leading gap: never filled
    ds = ds.copy(data={"position": pos, "confidence": ds["confidence"].values})
    out = K.interpolate_gaps(ds, max_gap=2)
    a = out["position"].sel(keypoints="nose").values[:, :, 0]
    np.testing.assert_allclose(a[3:5, 0], [6.0, 8.0])
    assert np.isnan(a[10:15]).all()
    assert np.isnan(out["position"].values[0, :, 1, 0]).all()
    log = K.cleaning_log(out)
    assert log == [{"step": "interpolate_gaps", "params": {"max_gap": 2}, "n_changed": 2, "n_points": 40}]
    full = K.interpolate_gaps(ds, None)
    np.testing.assert_allclose(full["position"].sel(keypoints="nose").values[10:15, 0, 0], np.arange(10, 15) * 2.0)
    assert K.cleaning_log(full)[-1]["n_changed"] == 7
    assert np.isnan(ds["position"].values[3, 0, 0, 0])  # input untouched


def test_filter_by_confidence_counts_and_keeps_unknown():
    ds = line_tracks()
    conf = ds["confidence"].values.copy()
    conf[2, 0, 0] = 0.1
    conf[7, 1, 0] = 0.2
    conf[9, 0, 0] = np.nan  # unknown: kept
    ds = ds.assign(confidence=(ds["confidence"].dims, conf))
    out = K.filter_by_confidence(ds, 0.5)
    assert K.cleaning_log(out)[-1]["n_changed"] == 2
    assert np.isnan(out["position"].values[2, :, 0, 0]).all()
    assert np.isfinite(out["position"].values[9, :, 0, 0]).all()
    validate_tracks(out)


def test_zeros_to_nan_and_log_chain():
    ds = line_tracks()
    pos = ds["position"].values.copy()
    pos[4, :, 1, 0] = 0.0
    pos[0, 0, 0, 0] = 0.0  # x = 0 at frame 0 but y = 5: a real point
    ds = ds.copy(data={"position": pos, "confidence": ds["confidence"].values})
    out = K.zeros_to_nan(ds)
    assert np.isnan(out["position"].values[4, :, 1, 0]).all()
    assert np.isfinite(out["position"].values[0, :, 0, 0]).all()
    out2 = K.interpolate_gaps(out, 1)
    steps = [e["step"] for e in json.loads(out2.attrs["cleaning_log"])]
    assert steps == ["zeros_to_nan", "interpolate_gaps"]
    assert [e["n_changed"] for e in K.cleaning_log(out2)] == [1, 1]


def test_outlier_spike_flagged_neighbours_kept():
    ds = line_tracks()
    pos = ds["position"].values.copy()
    pos[8, 0, 0, 0] += 100  # one-frame spike of 100 px (1000 px/s at 10 fps)
    ds = ds.copy(data={"position": pos, "confidence": ds["confidence"].values})
    mask = K.outlier_mask(ds, max_speed=200.0)  # px/s; the line moves at 20 px/s
    assert mask.dims == ("time", "keypoints", "individuals")
    assert mask.values[:, 0, 0].nonzero()[0].tolist() == [8]
    assert not mask.values[:, 1].any()
    out = K.flag_outlier_jumps(ds, 200.0)
    assert np.isnan(out["position"].values[8, :, 0, 0]).all()
    assert K.cleaning_log(out)[-1]["n_changed"] == 1
    repaired = K.interpolate_gaps(out, 1)
    np.testing.assert_allclose(repaired["position"].values[8, 0, 0, 0], 16.0)


def test_fast_continuous_motion_not_flagged():
    ds = circle_tracks(radius=50, omega=0.5, fps=30)  # 25 px/s
    # every step exceeds 10 px/s, but it is continuous: flagged only if all neighbours are fast
    m = K.outlier_mask(ds, max_speed=10.0).values
    assert m.all()  # documented rule: fast from every neighbour -> flagged
    assert not K.outlier_mask(ds, max_speed=40.0).values.any()


def test_rolling_median_removes_spike_and_savgol_keeps_line():
    ds = line_tracks()
    pos = ds["position"].values.copy()
    pos[8, 1, 0, 0] = 500.0
    ds = ds.copy(data={"position": pos, "confidence": ds["confidence"].values})
    med = K.rolling_median(ds, 3)
    assert med["position"].values[8, 1, 0, 0] == 5.0
    sg = K.savgol_smooth(line_tracks(), 5, 2)
    np.testing.assert_allclose(sg["position"].values, line_tracks()["position"].values, atol=1e-9)
    assert K.cleaning_log(sg)[-1]["step"] == "savgol_smooth"
    with pytest.raises(ConfigError, match="polyorder"):
        K.savgol_smooth(ds, 3, 3)
    with pytest.raises(ConfigError, match="window"):
        K.rolling_median(ds, 0)


def test_calibrate_px_per_cm_and_known_length():
    ds = line_tracks()
    cm = K.calibrate(ds, px_per_cm=2.0)
    assert cm.attrs["space_unit"] == "cm" and cm.attrs["px_per_cm"] == 2.0
    np.testing.assert_allclose(cm["position"].values, ds["position"].values / 2)
    np.testing.assert_allclose(K.speed(cm).values[1:-1], 10.0)  # 20 px/s -> 10 cm/s
    kl = K.calibrate(ds, known_length=("nose", "tailbase", 5.0))  # 10 px = 5 cm
    assert kl.attrs["px_per_cm"] == pytest.approx(2.0)
    with pytest.raises(ConfigError, match="already in 'cm'"):
        K.calibrate(cm, px_per_cm=2.0)
    with pytest.raises(ConfigError, match="not both"):
        K.calibrate(ds, px_per_cm=2.0, known_length=("nose", "tailbase", 5.0))


def test_calibrate_fps():
    ds = make_tracks(np.zeros((5, 2, 1, 1)), keypoints=["a"])
    assert ds.attrs["time_unit"] == "frames"
    s = K.calibrate(ds, fps=25)
    assert s.attrs["time_unit"] == "seconds" and s.attrs["fps"] == 25.0
    np.testing.assert_allclose(s["time"].values, np.arange(5) / 25)
    with pytest.raises(ConfigError, match="fps=25"):
        K.calibrate(s, fps=30)


def test_clean_builder_runs_steps_in_order():
    ds = line_tracks()
    pos = ds["position"].values.copy()
    pos[5, :, 0, 0] = 0.0
    ds = ds.copy(data={"position": pos, "confidence": ds["confidence"].values})
    cfg = from_dict(K.CleaningConfig, {"zeros_are_missing": True, "confidence_threshold": 0.5,
                                       "max_gap": 3, "savgol_window": 5})
    out = K.clean(ds, cfg)
    assert [e["step"] for e in K.cleaning_log(out)] == [
        "zeros_to_nan", "filter_by_confidence", "interpolate_gaps", "savgol_smooth"]
    np.testing.assert_allclose(out["position"].values[5, 0, 0, 0], 10.0, atol=1e-9)
    with pytest.raises(ConfigError, match="allowed"):
        from_dict(K.CleaningConfig, {"median": 3})
