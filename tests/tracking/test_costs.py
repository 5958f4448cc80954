import numpy as np
import pytest

from mapose.tracking.costs import body_sizes, centroids, keypoint_distance, oks, swap_margins


def test_centroids_ignore_missing_keypoints():
    kp = np.array([[[0.0, 0.0], [2.0, 4.0], [np.nan, np.nan]], [[np.nan, np.nan]] * 3])
    c = centroids(kp)
    assert c[0] == pytest.approx([1.0, 2.0])
    assert np.isnan(c[1]).all()


def test_body_size_is_bbox_diagonal():
    kp = np.array([[[0.0, 0.0], [3.0, 4.0], [1.0, 1.0]], [[5.0, 5.0], [np.nan, np.nan], [np.nan, np.nan]]])
    assert body_sizes(kp)[0] == pytest.approx(5.0)
    assert body_sizes(kp)[1] == 0.0


def test_keypoint_distance_uses_shared_keypoints_and_falls_back_to_centroids():
    a = np.array([[[0.0, 0.0], [10.0, 0.0]]])
    b = np.array([[[3.0, 4.0], [np.nan, np.nan]],       # shares keypoint 0: distance 5
                  [[np.nan, np.nan], [10.0, 6.0]],      # shares keypoint 1: distance 6
                  ])
    d = keypoint_distance(a, b)
    assert d.shape == (1, 2)
    assert d[0] == pytest.approx([5.0, 6.0])
    c = np.array([[[np.nan, np.nan], [0.0, 8.0]]])
    a2 = np.array([[[0.0, 0.0], [np.nan, np.nan]]])
    assert keypoint_distance(a2, c)[0, 0] == pytest.approx(8.0)  # centroid fallback


def test_oks_closed_form():
    a = np.zeros((1, 1, 2))
    b = np.array([[[3.0, 4.0]]])
    # exp(-25 / (2 * (0.1 * 50)^2)) = exp(-0.5)
    assert oks(a, b, scale=50.0, kappa=0.1)[0, 0] == pytest.approx(np.exp(-0.5))


def test_swap_margins():
    cost = np.array([[0.0, 1.0, 5.0], [2.0, 0.5, 5.0]])
    rows, cols = np.array([0, 1]), np.array([0, 1])
    margin, partner = swap_margins(cost, rows, cols, np.array([2]))
    # swapping costs 1 + 2 - 0 - 0.5 = 2.5; taking the spare detection costs 5 - 0 = 5 (row 0)
    # and 5 - 0.5 = 4.5 (row 1)
    assert margin == pytest.approx([2.5, 2.5])
    assert partner.tolist() == [1, 0]


def test_compiled_kernels_match_the_numpy_costs():
    from mapose.tracking import _kernels

    rng = np.random.default_rng(0)
    tmpl = rng.uniform(0, 100, (4, 6, 2))
    tmpl[1, 2] = np.nan
    tmpl[3, :5] = np.nan  # shares at most one keypoint
    det = rng.uniform(0, 100, (5, 6, 2))
    det[0, 5] = np.nan  # with track 3: no shared keypoint -> centroid distance
    vel = rng.normal(0, 2, (4, 2))
    last = np.array([9, 9, 7, 9])
    t, size, step, w, sigma = 10, 50.0, 2.0, 0.3, 5.0
    cost, feas = _kernels.frame_costs(tmpl, vel, last, t, det, size, step, w, sigma, 1.0, np.inf)
    dt = (t - last).astype(float)
    pred = tmpl + (vel * dt[:, None])[:, None, :]
    dist = keypoint_distance(pred, det)
    expected = (1 - w) * dist / (size + step * (dt - 1))[:, None] + w * (1 - oks(pred, det, sigma, 1.0))
    np.testing.assert_allclose(cost, expected, rtol=1e-12)
    np.testing.assert_array_equal(feas, dist / (size + step * (dt - 1))[:, None] <= 1.0)
    rows, cols, spare = np.array([0, 1, 2]), np.array([2, 0, 1]), np.array([3, 4])
    m1, p1 = _kernels.swap_margins(cost, rows, cols, spare)
    m2, p2 = swap_margins(cost, rows, cols, spare)
    np.testing.assert_allclose(m1, m2)
    np.testing.assert_array_equal(p1, p2)


def test_tracklet_shapes_do_not_depend_on_how_many_tracklets_are_taken_at_once():
    """Body shapes at tracklet ends are summed a group of tracklets at a time (bounded memory with
    many short tracklets); any group size gives the per-tracklet means of the log pair distances."""
    from mapose.tracking.stitching import _window_shapes

    rng = np.random.default_rng(0)
    m = 60
    n = rng.integers(1, 25, m)
    tr = np.repeat(np.arange(m), n)
    kps = rng.uniform(0, 100, (len(tr), 5, 2))
    kps[rng.random(kps.shape[:2]) < 0.3] = np.nan
    first = np.searchsorted(tr, np.arange(m))
    length = np.minimum(n, 10)
    ref = _window_shapes(kps, tr, first, length, m, chunk=10**6)
    a, b = np.triu_indices(5, 1)
    t = 7  # one tracklet by hand
    win = kps[first[t]:first[t] + length[t]]
    logd = np.log(np.maximum(np.hypot(*(win[:, a] - win[:, b]).transpose(2, 0, 1)), 0.5))
    seen = np.isfinite(logd).sum(axis=0)
    by_hand = np.where(np.isfinite(logd), logd, 0.0).sum(axis=0) / np.maximum(seen, 1)
    np.testing.assert_allclose(ref[t], np.where(seen > 0, by_hand, np.nan))
    for chunk in (1, 7, 100):
        np.testing.assert_allclose(_window_shapes(kps, tr, first, length, m, chunk=chunk), ref, rtol=1e-12)
