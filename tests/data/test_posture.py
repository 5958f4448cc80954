"""Posture rarity and the balanced draw of training animals (data.balance_postures)."""

from __future__ import annotations

import numpy as np
import pytest

from mapose.config import from_dict
from mapose.core.skeleton import Skeleton
from mapose.data.dataset import PoseSamples, TrainDataset
from mapose.data.posture import posture_features, posture_rarity, sampling_weights
from mapose.errors import ConfigError
from mapose.training.config import TrainConfig

NAMES = ["head", "thorax", "abdomen", "wingL", "wingR"]
SK = Skeleton.from_names(NAMES, [("thorax", "head"), ("thorax", "abdomen"), ("thorax", "wingL"),
                                 ("thorax", "wingR")], symmetry=[("wingL", "wingR")])
FOLDED = np.array([[0.0, 0.0], [10.0, 0.0], [25.0, 0.0], [30.0, -2.0], [30.0, 2.0]])
SPREAD = np.array([[0.0, 0.0], [10.0, 0.0], [25.0, 0.0], [30.0, -2.0], [18.0, 16.0]])


def _place(pose, angle, shift, scale=1.0, mirror=False):
    p = pose * scale
    if mirror:
        p = p * [1, -1]
    c, s = np.cos(angle), np.sin(angle)
    return p @ np.array([[c, s], [-s, c]]) + shift


def _flies(n_folded, rng):
    """``n_folded`` flies with folded wings (small jitter) and one with a wing held out, placed at
    random positions, headings and sizes."""
    out = [_place(FOLDED + rng.normal(0, 0.5, FOLDED.shape), rng.uniform(-np.pi, np.pi),
                  rng.uniform(50, 300, 2), rng.uniform(0.8, 1.2)) for _ in range(n_folded)]
    out.append(_place(SPREAD, 1.0, [100.0, 100.0], 1.1))
    return out


def test_posture_features_ignore_position_heading_size_and_mirror_images():
    ref = posture_features(FOLDED[None])[0]
    for pose in (_place(FOLDED, 2.0, [40, -7]), _place(FOLDED, -0.3, [0, 0], 2.5, mirror=True)):
        np.testing.assert_allclose(posture_features(pose[None])[0], ref, atol=1e-9)
    assert np.abs(posture_features(SPREAD[None])[0] - ref).max() > 0.5
    missing = FOLDED.copy()
    missing[4] = np.nan
    f = posture_features(missing[None])[0]
    assert np.isnan(f).sum() == 4 and np.isfinite(f).sum() == 6  # the 4 pairs with wingR are left out
    two = FOLDED.copy()
    two[2:] = np.nan
    assert np.isnan(posture_features(two[None])).all()  # under three parts: not comparable


def test_the_animal_in_a_rare_posture_is_the_rarest_and_scores_average_one():
    rng = np.random.default_rng(0)
    flies = _flies(30, rng)
    # two animals per image; one image holds nobody; one animal has too few parts to compare
    lonely = np.full((5, 2), np.nan)
    lonely[0] = [5, 5]
    per_image = [np.stack(flies[i:i + 2]) for i in range(0, 30, 2)] + [np.stack([flies[30], lonely]),
                                                                        np.zeros((0, 5, 2))]
    r = posture_rarity(per_image)
    assert [len(x) for x in r] == [len(k) for k in per_image]
    allr = np.concatenate(r)
    spread, uncomparable = allr[30], allr[31]
    assert uncomparable == 1.0
    assert spread == allr.max() and spread > 3 * np.median(allr[:30])
    assert np.mean(allr[:31]) == pytest.approx(1.0)
    # many animals: neighbours are looked for among a subset, and the rare one stays the rarest
    sub = np.concatenate(posture_rarity(per_image, max_animals=12))
    assert sub[30] == sub.max() and sub[30] > 3 * np.median(sub[:30])


def test_sampling_weights_are_uniform_at_strength_zero_and_favour_rare_postures_above():
    rng = np.random.default_rng(1)
    flies = _flies(20, rng)
    hidden = np.full((1, 5, 2), np.nan)  # a labelled animal without any visible part
    per_image = [np.stack(flies[i:i + 2]) for i in range(0, 20, 2)] + [
        np.concatenate([flies[20][None], hidden]), np.zeros((0, 5, 2))]
    img_p, animal_p = sampling_weights(per_image, 0.0)
    np.testing.assert_allclose(img_p, 1 / 12)
    np.testing.assert_allclose(animal_p[0], [0.5, 0.5])
    np.testing.assert_allclose(animal_p[10], [1.0, 0.0])  # the hidden animal is never a crop centre
    assert len(animal_p[11]) == 0
    img_p1, animal_p1 = sampling_weights(per_image, 1.0)
    img_p2, _ = sampling_weights(per_image, 2.0)
    assert img_p1.sum() == pytest.approx(1.0) and img_p2.sum() == pytest.approx(1.0)
    assert img_p1[10] == img_p1.max() and img_p2[10] > img_p1[10] > 2 / 12
    # an image's weight is its visible animals' mean rarity; an image without animals keeps 1
    rar = posture_rarity(per_image)
    w = np.array([r.mean() for r in rar[:10]] + [rar[10][0], 1.0])
    np.testing.assert_allclose(img_p1, w / w.sum())
    np.testing.assert_allclose(animal_p1[10], [1.0, 0.0])


def test_training_draws_the_image_with_the_rare_posture_more_often():
    """Each image has its own grey level (augmentation off), so a crop tells which image it came from."""
    rng = np.random.default_rng(2)
    flies = _flies(11, rng)
    kps = [np.stack(flies[i:i + 2]) for i in range(0, 12, 2)]  # the last image holds the spread wing
    imgs = [np.full((400, 400, 1), 10 * (i + 1), np.uint8) for i in range(len(kps))]
    s = PoseSamples(SK, imgs, kps, ["v"] * len(kps), list(range(len(kps))))
    off = {"enabled": False}

    def counts(strength):
        ds = TrainDataset(s, None, off, 64, 600, seed=0, balance_postures=strength)
        return np.bincount([int(ds.view(i)[0][32, 32, 0]) // 10 - 1 for i in range(600)], minlength=6)

    uniform, balanced = counts(0.0), counts(1.0)
    assert uniform.min() > 70  # ~100 each
    assert balanced[5] > 1.5 * uniform[5]
    with pytest.raises(ConfigError, match="balance_postures"):
        from_dict(TrainConfig, {"data": {"balance_postures": -1}})
