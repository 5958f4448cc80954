"""Training crops sized from the animals (data.crop_size: auto)."""

from __future__ import annotations

import numpy as np
import pytest

from mapose.config import from_dict
from mapose.core.skeleton import Skeleton
from mapose.data.dataset import (PoseSamples, TrainDataset, auto_crop_size, resolve_crop_size,
                                  validation_crop_size)
from mapose.errors import ConfigError
from mapose.training.config import TrainConfig

SK = Skeleton.from_names(["nose", "tail"], [("nose", "tail")])


def _samples(lengths, shapes):
    """One animal per image, nose-to-tail ``length`` px, diagonal (the crop must hold any turn)."""
    kps = [np.array([[[10.0, 10.0], [10 + L / np.sqrt(2), 10 + L / np.sqrt(2)]]]) for L in lengths]
    imgs = [np.zeros(s, np.uint8) for s in shapes]
    return PoseSamples(SK, imgs, kps, ["v"] * len(kps), list(range(len(kps))))


def test_crop_holds_the_animals_size_rounded_up_to_32():
    s = _samples([100.0] * 19 + [140.0], [(384, 384, 1)] * 20)
    assert auto_crop_size(s) == 128  # 95th percentile of the sizes: 102 px
    assert auto_crop_size(_samples([20.0], [(384, 384, 1)])) == 64  # at least 64
    assert auto_crop_size(_samples([130.0], [(384, 384, 1)])) == 160


def test_whole_frames_when_no_frame_is_bigger_than_the_crop():
    assert auto_crop_size(_samples([300.0], [(320, 400, 3)])) == 0
    assert auto_crop_size(_samples([500.0], [(396, 406, 1)])) == 256  # over 2 x 256 x 256 pixels
    # one frame large enough on both sides: crops (the small frame is padded)
    assert auto_crop_size(_samples([300.0, 300.0], [(320, 400, 3), (747, 832, 3)])) == 256  # capped
    assert auto_crop_size(_samples([300.0, 300.0], [(320, 400, 3), (747, 832, 3)]), maximum=512) == 320
    no_pairs = PoseSamples(SK, [np.zeros((64, 64, 1), np.uint8)], [np.full((1, 2, 2), np.nan)], ["v"], [0])
    assert auto_crop_size(no_pairs) == 0


def test_config_accepts_auto_zero_and_multiples_of_32_only():
    s = _samples([100.0], [(384, 384, 1)])
    assert TrainConfig().data.crop_size == "auto"
    assert resolve_crop_size(from_dict(TrainConfig, {"data": {"crop_size": 96}}).data.crop_size, s) == 96
    assert resolve_crop_size("auto", s) == 128
    for bad in (100, -32, "big"):
        with pytest.raises(ConfigError, match="crop_size"):
            from_dict(TrainConfig, {"data": {"crop_size": bad}})


def test_animals_larger_than_any_crop_are_trained_on_part_by_part():
    """A 450-px animal in 400x400 frames with 128-px crops: centred on the animal's middle, a crop
    holds none of its labelled parts; centred on a random labelled part, every crop holds one."""
    kps = [np.array([[[20.0, 20.0], [20 + 450 / np.sqrt(2), 20 + 450 / np.sqrt(2)]]])] * 4
    s = PoseSamples(SK, [np.zeros((400, 400, 1), np.uint8)] * 4, kps, ["v"] * 4, list(range(4)))
    assert auto_crop_size(s) == 256  # no crop holds it, and whole frames are large: 256-px parts
    assert auto_crop_size(s, maximum=320) == 0  # whole frames when they are not over 2 x 320 x 320 px
    aug = {"enabled": True, "rotation_deg": 180.0, "translate_px": 16.0}
    ds = TrainDataset(s, None, aug, 128, 200, seed=0)
    seen = np.zeros(2, int)
    for i in range(200):
        img, kp = ds.view(i)
        assert img.shape[:2] == (128, 128)
        inside = np.isfinite(kp[0]).all(1) & (kp[0] >= 0).all(1) & (kp[0] <= 127).all(1)
        assert inside.any(), i
        seen += inside
    assert seen.min() > 50  # both ends are drawn
    # an animal that fits is still centred on its middle: both parts in every crop
    small = [np.array([[[150.0, 150.0], [230.0, 230.0]]])] * 4
    s2 = PoseSamples(SK, [np.zeros((400, 400, 1), np.uint8)] * 4, small, ["v"] * 4, list(range(4)))
    ds2 = TrainDataset(s2, None, {**aug, "translate_px": 0.0}, 128, 50, seed=0)
    for i in range(50):
        _, kp = ds2.view(i)
        assert ((kp[0] >= 0) & (kp[0] <= 127)).all(), i



def test_background_crops_show_the_network_the_image_far_from_the_animals():
    """data.background_crops: a share of the crops lands anywhere in the image (cage corners, vents
    never inside a crop around an animal); 0 keeps every crop on an animal, as before."""
    small = [np.array([[[40.0, 40.0], [80.0, 80.0]]])] * 4  # an animal in the top-left corner
    s = PoseSamples(SK, [np.zeros((512, 512, 1), np.uint8)] * 4, small, ["v"] * 4, list(range(4)))
    aug = {"enabled": True, "rotation_deg": 0.0, "translate_px": 0.0}

    def share_without_animal(background):
        ds = TrainDataset(s, None, aug, 128, 400, seed=0, background_crops=background)
        empty = 0
        for i in range(400):
            img, kp = ds.view(i)
            assert img.shape[:2] == (128, 128)
            empty += not ((kp[0] >= 0) & (kp[0] <= 127)).all(1).any()
        return empty / 400

    assert share_without_animal(0.0) == 0
    assert 0.2 < share_without_animal(0.3) < 0.4  # a background crop rarely holds the small animal
    assert share_without_animal(1.0) > 0.85
    with pytest.raises(ConfigError, match="background_crops"):
        from_dict(TrainConfig, {"data": {"background_crops": 1.5}})

def _frames(n, side, centers):
    """``n`` grey ``side``-px frames, each with one animal per centre: nose at the centre (a white
    pixel), tail 20 px right of it."""
    imgs, kps = [], []
    for _ in range(n):
        img = np.zeros((side, side, 3), np.uint8)
        inst = []
        for x, y in centers:
            img[y, x] = 255
            inst.append([[x, y], [x + 20.0, y]])
        imgs.append(img)
        kps.append(np.array(inst, float).reshape(len(centers), 2, 2))
    return PoseSamples(SK, imgs, kps, ["v"] * n, list(range(n)))


def test_big_frames_validate_on_crops_around_each_animal():
    """Whole-frame validation of 32 frames of 1024x1024 costs as much as an epoch of 800 128-px
    training crops; the sample flies' nine 384x384 frames cost 3 %."""
    assert validation_crop_size(_frames(32, 1024, [(100, 100)]), 128, 800) == 128
    assert validation_crop_size(_frames(9, 384, [(100, 100)]), 128, 800) == 0
    assert validation_crop_size(_frames(9, 384, [(100, 100)]), 128, 800, val_crops=True) == 128
    assert validation_crop_size(_frames(32, 1024, [(100, 100)]), 128, 800, val_crops=False) == 0
    assert validation_crop_size(_frames(32, 1024, [(100, 100)]), 0, 800) == 0  # trains on whole frames
    assert from_dict(TrainConfig, {"data": {"val_crops": True}}).data.val_crops is True
    with pytest.raises(ConfigError, match="val_crops"):
        from_dict(TrainConfig, {"data": {"val_crops": "sometimes"}})


def test_validation_crops_hold_each_animal_where_its_labels_say():
    from mapose.data.dataset import EvalDataset, TargetSpec

    s = _frames(2, 512, [(100, 120), (400, 300)])
    spec = TargetSpec(stride=4, sigma=2.0)
    ds = EvalDataset(s, spec, crop_size=64)
    assert len(ds) == 4  # one crop per animal
    for j in range(len(ds)):
        item = ds[j]
        assert item["image"].shape == (3, 64, 64)
        # the nose pixel and the nose heatmap peak sit where the crop maps the labelled nose
        r, c = np.unravel_index(item["image"][0].argmax(), (64, 64))
        hr, hc = np.unravel_index(item["heatmap"][0].argmax(), item["heatmap"][0].shape)
        assert item["image"][0].max() >= 60  # one white pixel spread over 2x2 by the half-pixel shift
        # the animal's middle (nose + 10 px) maps to the crop centre (31.5, 31.5)
        assert abs(c - 21.5) <= 0.5 and abs(r - 31.5) <= 0.5
        assert abs(hc * 4 + 1.5 - 21.5) <= 2 and abs(hr * 4 + 1.5 - 31.5) <= 2
    whole = EvalDataset(s, spec)  # crop_size 0: whole frames
    assert len(whole) == 2 and whole[0]["image"].shape == (3, 512, 512)
    empty = PoseSamples(SK, [np.zeros((512, 512, 3), np.uint8)], [np.zeros((0, 2, 2))], ["v"], [0])
    assert len(EvalDataset(empty, spec, crop_size=64)) == 1  # a frame without animals: its middle
