"""Training crops sized from the animals (data.crop_size: auto)."""

from __future__ import annotations

import numpy as np
import pytest

from mapose.config import from_dict
from mapose.core.skeleton import Skeleton
from mapose.data.dataset import PoseSamples, TrainDataset, auto_crop_size, resolve_crop_size
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
