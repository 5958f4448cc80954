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
