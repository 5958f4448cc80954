"""Metrics with closed-form answers: RMSE, PCK, OKS mAP, Hungarian matching."""

from __future__ import annotations

import numpy as np
import pytest

from mapose.training.metrics import average_precision, match_instances, oks, pose_metrics


def _animals():
    rng = np.random.default_rng(0)
    return [rng.uniform(0, 100, size=(2, 5, 2)) + [[[0, 0]], [[200, 0]]] for _ in range(4)]


def test_perfect_predictions_in_any_order():
    gts = _animals()
    preds = [g[::-1].copy() for g in gts]  # instance order must not matter
    res = pose_metrics(gts, preds, [np.array([0.9, 0.8])] * 4)
    assert res["rmse_px"] == 0 and res["pck3"] == 1 and res["map_oks"] == pytest.approx(1.0)
    assert res["map_oks_strict"] == pytest.approx(1.0)


def test_known_shift_gives_known_errors():
    gts = _animals()
    preds = [g + [2.4, 3.2] for g in gts]  # every keypoint 4 px off
    res = pose_metrics(gts, preds, [np.ones(2)] * 4)
    assert res["rmse_px"] == pytest.approx(4.0) and res["median_px"] == pytest.approx(4.0)
    assert res["pck3"] == 0.0 and res["pck5"] == 1.0
    assert res["per_keypoint"]["0"]["rmse_px"] == pytest.approx(4.0)


def test_rmse_with_pcutoff_counts_only_sure_keypoints():
    gts = _animals()
    preds = [g.copy() for g in gts]
    kscores = [np.full((2, 5), 0.9) for _ in gts]
    for p, ks in zip(preds, kscores):
        p[1, 0] += [30.0, 40.0]  # 50 px off, scored low
        ks[1, 0] = 0.3
        p[0, 1] += [3.0, 4.0]  # 5 px off, scored high
    # predictions listed in the other order: scores must follow their instance through the matching
    res = pose_metrics(gts, [p[::-1] for p in preds], [np.ones(2)] * 4,
                       keypoint_scores=[ks[::-1] for ks in kscores], pcutoff=0.6)
    assert res["rmse_px"] == pytest.approx(np.sqrt((50**2 + 5**2) / 10))
    assert res["rmse_px_pcutoff"] == pytest.approx(np.sqrt(5**2 / 9))
    assert res["detected"] == 1.0 and res["detected_pcutoff"] == pytest.approx(0.9)
    assert res["pcutoff"] == 0.6
    assert "rmse_px_pcutoff" not in pose_metrics(gts, preds, [np.ones(2)] * 4)


def test_missed_animal_lowers_pck_and_recall_not_rmse():
    gts = _animals()
    preds = [g[:1].copy() for g in gts]
    res = pose_metrics(gts, preds, [np.ones(1)] * 4)
    assert res["rmse_px"] == 0 and res["pck5"] == pytest.approx(0.5) and res["detected"] == 0.5
    assert res["map_oks"] == pytest.approx(0.5, abs=0.01)  # precision 1 up to recall 0.5


def test_oks_formula():
    g = np.array([[0.0, 0.0], [10.0, 10.0]])  # bbox area 100 px^2
    p = g + [[1.0, 0.0], [0.0, 0.0]]
    expected = (np.exp(-1.0 / (2 * 100 * 0.2**2)) + 1.0) / 2
    assert oks(g, p, 0.1) == pytest.approx(expected)


def test_false_positive_ranked_last_keeps_ap():
    gts = _animals()
    preds = [np.concatenate([g, g[:1] + 500]) for g in gts]
    scores = [np.array([0.9, 0.9, 0.1])] * 4
    assert average_precision(gts, preds, scores)["map"] == pytest.approx(1.0)
    scores_bad = [np.array([0.5, 0.5, 0.9])] * 4
    assert average_precision(gts, preds, scores_bad)["map"] < 1.0


def test_match_ignores_pairs_without_shared_keypoints():
    g = np.array([[[0.0, 0.0], [np.nan, np.nan]]])
    p = np.array([[[np.nan, np.nan], [5.0, 5.0]]])
    assert match_instances(g, p) == []


def test_a_fragment_on_an_animal_does_not_take_its_match_from_the_whole_prediction():
    # The whole prediction has two large errors (say, hind legs labelled on the wrong sides); a
    # two-part fragment lies exactly on the animal.  Matching on the mean distance over shared
    # parts chose the fragment (mean 0 px vs 6 px) and counted 22 parts as not found.
    rng = np.random.default_rng(1)
    gt = rng.uniform(0, 80, (1, 24, 2))
    whole = gt + rng.normal(0, 1.0, gt.shape)
    whole[0, :2] += 50.0
    fragment = np.full_like(gt, np.nan)
    fragment[0, 5:7] = gt[0, 5:7]
    pred = np.concatenate([fragment, whole])
    assert match_instances(gt, pred) == [(0, 1)]
    m = pose_metrics([gt], [pred], [np.array([0.5, 0.9])], [f"k{i}" for i in range(24)])
    assert m["detected"] == pytest.approx(1.0)
