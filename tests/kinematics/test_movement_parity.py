"""Parity with ``movement`` (test-only dependency) on real files from ../shared/data.

mapose Tracks use movement's layout, so movement's functions run on ``ds.position`` directly.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

import mapose.kinematics as K
from mapose.core import make_tracks

movement = pytest.importorskip("movement")
from movement import filtering as mf  # noqa: E402
from movement.io import load_poses  # noqa: E402
from movement.kinematics import compute_acceleration, compute_speed, compute_velocity  # noqa: E402

pytestmark = pytest.mark.shared

TOL = 1e-6
VAME = "mouse_vame_sample/cropped_video.csv"
MABE = "mice_mabe22_triplet/EGS8X2MN4SSUGFWAV976.h5"


@pytest.fixture(autouse=True)
def _no_numbagg():
    # xarray would JIT-compile numbagg kernels for movement's calls (up to a minute on a loaded CPU)
    with xr.set_options(use_numbagg=False, use_bottleneck=True):
        yield


def _read(path, fps=30.0):
    """Read with mapose's reader, falling back to movement's loader (+ zeros_to_nan)."""
    try:
        from mapose.io import read_tracks

        ds = read_tracks(path)
    except Exception:  # reader not available in this checkout: build Tracks from movement
        m = load_poses.from_dlc_file(path, fps=fps)
        ds = make_tracks(m.position.values, m.confidence.values, keypoints=[str(k) for k in m.keypoints.values],
                         individuals=[str(i) for i in m.individuals.values])
        ds = K.zeros_to_nan(ds)
    return K.calibrate(ds, fps=fps) if not ds.attrs.get("fps") else ds


@pytest.fixture(scope="module", params=[VAME, MABE], ids=["vame", "mabe22"])
def tracks(request):
    from .conftest import SHARED

    path = SHARED / request.param
    if not path.exists():
        pytest.skip(f"{path} not present")
    return _read(path)


def assert_same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_allclose(a, b, atol=TOL, rtol=0, equal_nan=True)


def test_data_is_what_we_think(tracks):
    assert tracks.attrs["fps"] == 30.0
    missing = float(tracks["position"].isnull().mean())
    if tracks.sizes["individuals"] == 3:  # MABe22: ~10 % missing, coded (0, 0) in the file
        assert 0.05 < missing < 0.2
        assert not (tracks["position"] == 0).all("space").any()


def test_derivatives(tracks):
    assert_same(K.velocity(tracks), compute_velocity(tracks.position))
    assert_same(K.speed(tracks), compute_speed(tracks.position))
    assert_same(K.acceleration(tracks), compute_acceleration(tracks.position))


@pytest.mark.parametrize("threshold", [0.5, 0.9])
def test_filter_by_confidence(tracks, threshold):
    ours = K.filter_by_confidence(tracks, threshold)
    theirs = mf.filter_by_confidence(tracks.position, tracks.confidence, threshold)
    if tracks.confidence.isnull().all():  # no scores in the file: we keep, movement drops all
        assert_same(ours.position, tracks.position)
        assert K.cleaning_log(ours)[-1]["n_changed"] == 0
    else:
        assert_same(ours.position, theirs)
        n_dropped = int((theirs.isnull().any("space") & tracks.position.notnull().all("space")).sum())
        assert K.cleaning_log(ours)[-1]["n_changed"] == n_dropped > 0


@pytest.mark.parametrize("max_gap", [None, 0, 1, 5, 30])
def test_interpolation(tracks, max_gap):
    src = K.filter_by_confidence(tracks, 0.9)
    ours = K.interpolate_gaps(src, max_gap)
    assert_same(ours.position, mf.interpolate_over_time(src.position, max_gap=max_gap))
    filled = int((src.position.isnull().any("space") & ours.position.notnull().all("space")).sum())
    assert K.cleaning_log(ours)[-1]["n_changed"] == filled


@pytest.mark.parametrize("window,polyorder", [(5, 2), (11, 3)])
def test_savgol(tracks, window, polyorder):
    src = K.interpolate_gaps(tracks, None)
    ours = K.savgol_smooth(src, window, polyorder)
    flat = src.position.values
    edge_ok = (np.isfinite(flat[:window]).all(0) & np.isfinite(flat[-window:]).all(0))
    theirs = src.position.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        # movement's default mode ("interp") where scipy accepts it, mode="nearest" elsewhere
        if edge_ok.all():
            theirs = mf.savgol_filter(src.position, window, polyorder)
        else:
            interp = mf.savgol_filter(src.position.fillna(0), window, polyorder)
            nearest = mf.savgol_filter(src.position, window, polyorder, mode="nearest")
            theirs = nearest.where(~edge_ok[None], interp)
            theirs = theirs.where(~(edge_ok[None] & np.isnan(nearest)))
    assert_same(ours.position, theirs)


@pytest.mark.parametrize("window,min_periods", [(5, None), (4, 2), (9, 1)])
def test_rolling_median(tracks, window, min_periods):
    src = K.filter_by_confidence(tracks, 0.9)
    ours = K.rolling_median(src, window, min_periods)
    theirs = mf.rolling_filter(src.position, window, "median", min_periods=min_periods)
    assert_same(ours.position, theirs)


def test_zeros_to_nan_matches_reader(shared_data):
    m = load_poses.from_dlc_file(shared_data / MABE, fps=30)
    raw = make_tracks(m.position.values, keypoints=[str(k) for k in m.keypoints.values],
                      individuals=[str(i) for i in m.individuals.values], fps=30)
    fixed = K.zeros_to_nan(raw)
    frac = K.cleaning_log(fixed)[-1]["n_changed"] / K.cleaning_log(fixed)[-1]["n_points"]
    assert 0.05 < frac < 0.2  # the documented ~10 % missing
    assert_same(fixed.position, _read(shared_data / MABE).position)
