"""Target encoders decode back to their keypoints; augmentation moves keypoints with the pixels."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mapose.core.skeleton import Skeleton
from mapose.data.augment import affine_matrix, erase_patch, random_view, transform_keypoints, warp_image
from mapose.data.targets import (
    decode_targets_argmax,
    encode_heatmap,
    encode_offsets,
    encode_paf,
    output_shape,
)
from mapose.decode import decode_frame


@pytest.mark.parametrize("stride", [1, 2, 4])
def test_heatmap_plus_offsets_decode_to_keypoints(stride):
    rng = np.random.default_rng(stride)
    kp = rng.uniform(5, 90, size=(1, 6, 2))
    shape = output_shape(100, 96, stride)
    hm = encode_heatmap(kp, shape, stride, sigma=2.0)
    off, mask = encode_offsets(kp, shape, stride, radius=2.0)
    assert hm.shape == (6,) + shape and off.shape == (12,) + shape and mask.shape == (6,) + shape
    back = decode_targets_argmax(hm, off, stride)
    assert np.abs(back - kp[0]).max() < 0.5


def test_two_animals_decode_through_paf_assembly():
    sk = Skeleton.from_names(["head", "thorax", "tail"], [("head", "thorax"), ("thorax", "tail")])
    kp = np.array([[[20.3, 30.7], [40.1, 32.2], [60.6, 35.9]],
                   [[70.2, 80.4], [50.8, 78.1], [30.4, 76.6]]])
    stride = 4
    shape = output_shape(112, 96, stride)
    hm = encode_heatmap(kp, shape, stride, 2.5)
    paf = encode_paf(kp, np.array(sk.edges), shape, stride, 3.0)
    off, _ = encode_offsets(kp, shape, stride, 2.0)
    pred, _, _ = decode_frame(hm, paf, off, sk, stride, keep_singletons=False)
    assert pred.shape == (2, 3, 2)
    # pair predicted with true instances by their heads
    order = np.argsort(pred[:, 0, 0])
    assert np.abs(pred[order] - kp).max() < 0.5


def test_paf_is_unit_vector_along_edge_and_zero_elsewhere():
    kp = np.array([[[10.0, 50.0], [90.0, 50.0]]])
    paf = encode_paf(kp, np.array([[0, 1]]), (25, 25), 4, width=3.0)
    on = paf[0, 12, 12], paf[1, 12, 12]  # cell centre (49.5, 49.5) is on the segment
    assert on == pytest.approx((1.0, 0.0))
    assert paf[:, 2, 12].tolist() == [0.0, 0.0]  # far above the limb
    assert np.allclose(np.hypot(paf[0], paf[1])[np.hypot(paf[0], paf[1]) > 0], 1.0)


def test_overlapping_animals_average_fields_and_the_nearer_keypoint_owns_an_offset():
    # two animals whose limbs cross at cell (12, 12) (pixel 49.5): one along +x, one along +y
    kp = np.array([[[10.0, 49.5], [90.0, 49.5]], [[49.5, 10.0], [49.5, 90.0]]])
    paf = encode_paf(kp, np.array([[0, 1], [1, 0]]), (25, 25), 4, width=3.0)
    assert (paf[0, 12, 12], paf[1, 12, 12]) == pytest.approx((0.5, 0.5))  # the two unit vectors averaged
    assert (paf[0, 12, 4], paf[1, 12, 4]) == pytest.approx((1.0, 0.0))  # only the first limb here
    assert (paf[2, 4, 12], paf[3, 4, 12]) == pytest.approx((0.0, -1.0))  # edge 1 runs the other way
    # keypoint 0 of two animals 2.4 cells apart: each cell is supervised towards the nearer one
    kp = np.array([[[21.5, 21.5], [np.nan, np.nan]], [[31.1, 21.5], [np.nan, np.nan]]])
    off, mask = encode_offsets(kp, (12, 12), 4, radius=2.0)
    assert mask[1].sum() == 0
    assert off[0, 5, 5] == pytest.approx(0.0) and off[0, 5, 6] == pytest.approx(-1.0)  # animal 0 at cell 5
    assert off[0, 5, 7] == pytest.approx(0.4) and off[0, 5, 8] == pytest.approx(-0.6)  # animal 1 at cell 7.4
    assert mask[0, 5, 3:10].tolist() == [1.0] * 7 and mask[0, 5, 2] == 0 and mask[0, 5, 10] == 0


def test_missing_keypoints_are_not_rendered():
    kp = np.array([[[np.nan, np.nan], [10.0, 12.0]]])
    hm = encode_heatmap(kp, (8, 8), 4, 2.0)
    off, mask = encode_offsets(kp, (8, 8), 4, 1.5)
    assert hm[0].max() == 0 and mask[0].sum() == 0
    assert hm[1].max() > 0.7  # nearest cell centre is 1.5 px away


def test_warp_moves_keypoints_with_pixels():
    img = np.zeros((80, 100, 1), np.uint8)
    kp = np.array([[[30.0, 20.0], [70.0, 55.0]]])
    for x, y in kp[0]:
        img[int(y), int(x)] = 255
    m = affine_matrix((50.0, 40.0), (64, 64), angle_deg=37.0, scale=1.0, flip=True)
    out = warp_image(img, m, (64, 64))
    new = transform_keypoints(kp, m)
    for x, y in new[0]:
        xi, yi = int(round(x)), int(round(y))
        assert out[yi - 1:yi + 2, xi - 1:xi + 2].max() > 60  # the dot landed where the keypoint did


def test_flip_swaps_left_and_right_names():
    sk = Skeleton.from_names(["head", "earL", "earR"], symmetry=[("earL", "earR")])
    img = np.zeros((64, 64, 1), np.uint8)
    kp = np.array([[[32.0, 20.0], [20.0, 30.0], [44.0, 30.0]]])
    rng = np.random.default_rng(0)
    _, out = random_view(img, kp, (64, 64), rng, sk.flip_permutation(), center=(31.5, 31.5),
                         rotation_deg=0.0, hflip=1.0)
    # after a mirror the left ear is again on the image's left: x(earL) < x(earR)
    assert out[0, 1, 0] < out[0, 2, 0]
    # mirror about x = 31.5: x -> 63 - x, then the ear labels swap
    assert out[0, 1] == pytest.approx([19.0, 30.0]) and out[0, 2] == pytest.approx([43.0, 30.0])


def test_random_erasing_hides_one_rectangle_and_keeps_the_labels():
    rng = np.random.default_rng(3)
    img = np.full((96, 128, 3), 100, np.uint8)
    shares = []
    for _ in range(200):
        out = erase_patch(img, rng, max_area=0.3)
        changed = (out != 100).any(-1)
        ys, xs = np.nonzero(changed)
        box = (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1)
        # one filled rectangle (random values may hit 100 inside it: nearly all of the box changes)
        assert changed.sum() >= 0.95 * box
        shares.append(box / changed.size)
    assert img.max() == 100  # the input is not touched
    assert 0.015 < min(shares) and max(shares) < 0.32 and np.ptp(shares) > 0.1

    kp = np.array([[[40.0, 30.0], [70.0, 60.0]]])
    perm = np.arange(2)
    kw = dict(center=(63.5, 47.5), rotation_deg=0.0, translate_px=0.0, brightness=0.0, contrast=0.0,
              noise_std=0.0)
    plain, kp_plain = random_view(img, kp, (128, 96), np.random.default_rng(0), perm, **kw)
    erased, kp_erased = random_view(img, kp, (128, 96), np.random.default_rng(0), perm, erase_prob=1.0, **kw)
    assert np.array_equal(kp_plain, kp_erased)  # hidden body parts stay labelled
    assert (erased != plain).any() and (plain == 100).all()
    off, _ = random_view(img, kp, (128, 96), np.random.default_rng(0), perm, erase_prob=0.0, **kw)
    assert np.array_equal(off, plain)


def test_random_erasing_fills_grey_crops_with_grey_noise():
    rng = np.random.default_rng(5)
    grey = np.full((64, 64, 3), 100, np.uint8)
    colour = grey.copy()
    colour[..., 2] = 30
    for _ in range(20):
        out = erase_patch(grey, rng)
        assert (out != 100).any() and (out == out[..., :1]).all()  # the rectangle stays grey
        out = erase_patch(colour, rng)
        hit = (out != colour).any(-1)
        assert (out[hit] != out[hit][:, :1]).any()  # colour crops get noise per channel


@pytest.mark.parametrize("bad, words", [({"erase_prob": 1.5}, "augment.erase_prob 1.5 must be in [0, 1]"),
                                        ({"erase_area": 0.0}, "augment.erase_area 0.0 must be in [0.02, 1]")])
def test_random_erasing_settings_are_checked(bad, words):
    from mapose.config import from_dict
    from mapose.errors import ConfigError
    from mapose.training.config import TrainConfig

    with pytest.raises(ConfigError, match=re.escape(words)):
        from_dict(TrainConfig, {"augment": bad})
