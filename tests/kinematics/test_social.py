"""Social features against closed-form answers (two animals walking head-on)."""

from __future__ import annotations

import numpy as np
import pytest

import mapose.kinematics as K
from mapose.core import make_tracks
from mapose.errors import ConfigError

from .conftest import head_on_tracks

D0, VA, VB, FPS, BODY = 300.0, 20.0, 10.0, 25.0, 20.0


@pytest.fixture
def ds():
    return head_on_tracks(D0, VA, VB, FPS, n=240, body=BODY)


def test_distances(ds):
    t = ds["time"].values
    d = K.pairwise_distance(ds, "centroid", "centroid")
    assert d.dims == ("time", "subject", "partner")
    np.testing.assert_allclose(d.sel(subject="A", partner="B"), D0 - (VA + VB) * t, rtol=1e-12)
    np.testing.assert_allclose(d.sel(subject="B", partner="A"), D0 - (VA + VB) * t, rtol=1e-12)
    assert np.isnan(d.sel(subject="A", partner="A")).all()
    nn = K.pairwise_distance(ds, "nose", "nose").sel(subject="A", partner="B")
    np.testing.assert_allclose(nn, np.abs(D0 - (VA + VB) * t - BODY), rtol=1e-12)
    nt = K.pairwise_distance(ds, "nose", "tail_base").sel(subject="A", partner="B")
    np.testing.assert_allclose(nt, D0 - (VA + VB) * t, rtol=1e-12)
    mk = K.min_keypoint_distance(ds).sel(subject="A", partner="B")
    # keypoint offsets along x differ by -BODY..+BODY in steps of BODY/2: nearest pair
    offsets = np.array([-1, -0.5, 0, 0.5, 1]) * BODY
    expected = np.abs(D0 - (VA + VB) * t[:, None] + offsets).min(axis=1)
    np.testing.assert_allclose(mk, expected, rtol=1e-12)


def test_approach_speed(ds):
    ap = K.approach_speed(ds).sel(subject="A", partner="B")
    np.testing.assert_allclose(ap, VA + VB, rtol=1e-10)


def test_facing_and_relative_heading(ds):
    fa = K.facing_angle(ds, "tail_base", "nose")
    np.testing.assert_allclose(fa.sel(subject="A", partner="B"), 0.0, atol=1e-12)
    np.testing.assert_allclose(fa.sel(subject="B", partner="A"), 0.0, atol=1e-12)
    rh = K.relative_heading(ds, "tail_base", "nose").sel(subject="A", partner="B")
    np.testing.assert_allclose(rh, np.pi, atol=1e-12)


def test_facing_angle_perpendicular_and_behind():
    # A at origin heading +x; B at (0, 10) (90 degrees off) then at (-10, 0) (behind)
    pos = np.zeros((2, 2, 2, 2))
    pos[:, :, 0, 0] = [1, 0]   # A nose
    pos[:, :, 1, 0] = [-1, 0]  # A tail
    pos[0, :, :, 1] = [[0, 0], [11, 9]]  # B around (0, 10): x of nose/tail, y of nose/tail
    pos[1, :, :, 1] = [[-9, -11], [0, 0]]  # B around (-10, 0)
    ds = make_tracks(pos, keypoints=["nose", "tail"], individuals=["A", "B"])
    fa = K.facing_angle(ds, "tail", "nose").sel(subject="A", partner="B").values
    np.testing.assert_allclose(fa, [np.pi / 2, np.pi], atol=1e-12)


def test_contact(ds):
    t = ds["time"].values
    c = K.contact(ds, threshold=15.0).sel(subject="A", partner="B").values
    offsets = np.array([-1, -0.5, 0, 0.5, 1]) * BODY
    expected = (np.abs(D0 - (VA + VB) * t[:, None] + offsets).min(axis=1) < 15.0).astype(float)
    np.testing.assert_array_equal(c, expected)
    assert 0 < c.sum() < len(c)
    with pytest.raises(ConfigError, match="positive"):
        K.contact(ds, threshold=-1)


def test_any_number_of_animals_and_missing():
    rng = np.random.default_rng(1)
    pos = rng.normal(size=(30, 2, 4, 5)) * 30
    pos[3, :, :, 2] = np.nan  # animal 2 unseen in frame 3
    ds = make_tracks(pos, keypoints=["nose", "a", "b", "tailbase"])
    d = K.pairwise_distance(ds)
    assert d.shape == (30, 5, 5)
    assert np.isnan(d.values[3, 2]).all() and np.isnan(d.values[3, :, 2]).all()
    assert np.isfinite(d.values[3, 0, 1])
    # distance is symmetric for the same keypoint; brute-force check of min keypoint distance
    np.testing.assert_allclose(d.values, np.swapaxes(d.values, 1, 2), equal_nan=True)
    mk = K.min_keypoint_distance(ds).values
    brute = np.sqrt(((pos[7, :, :, None, 1, None] - pos[7, :, None, :, 4, None]) ** 2).sum(0)).min()
    assert mk[7, 1, 4] == pytest.approx(brute)
