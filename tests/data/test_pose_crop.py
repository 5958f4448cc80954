"""Training crops sized from the animals (data.crop_size: auto)."""

from __future__ import annotations

import numpy as np
import pytest

from mapose.config import from_dict
from mapose.core.skeleton import Skeleton
from mapose.data.dataset import PoseSamples, auto_crop_size, resolve_crop_size
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
    # one frame large enough on both sides: crops (the small frame is padded)
    assert auto_crop_size(_samples([300.0, 300.0], [(320, 400, 3), (747, 832, 3)])) == 320
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
