"""Backbone/head output shapes and the predict() contract (any input size, cropped outputs)."""

from __future__ import annotations

import math
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest  # noqa: E402
import torch  # noqa: E402

from mapose.config import from_dict  # noqa: E402
from mapose.core.skeleton import Skeleton  # noqa: E402
from mapose.training.config import TrainConfig  # noqa: E402
from mapose.training.model import build_untrained_model  # noqa: E402

SK = Skeleton.from_names(["head", "thorax", "tail"], [("head", "thorax"), ("thorax", "tail")])


@pytest.mark.parametrize("net_stride, input_scale, stride", [(2, 1.0, 2), (4, 1.0, 4), (2, 0.5, 4)])
def test_predict_any_size(net_stride, input_scale, stride):
    cfg = from_dict(TrainConfig, {"model": {"stride": net_stride, "weights": "none",
                                            "decoder_channels": 32, "head_channels": 16},
                                  "data": {"input_scale": input_scale}})
    model = build_untrained_model(SK, cfg)
    assert model.stride == stride  # pixels of the images given to predict() per output cell
    for shape in [(1, 70, 45), (2, 64, 64, 3)]:
        imgs = torch.randint(0, 255, shape, dtype=torch.uint8)
        out = model.predict(imgs)
        h, w = math.ceil(shape[1] / stride), math.ceil(shape[2] / stride)
        assert out["heatmap"].shape == (shape[0], 3, h, w)
        assert out["paf"].shape == (shape[0], 4, h, w)
        assert out["offset"].shape == (shape[0], 6, h, w)
        assert 0 <= float(out["heatmap"].min()) and float(out["heatmap"].max()) <= 1


def test_heads_follow_config():
    cfg = from_dict(TrainConfig, {"model": {"weights": "none", "decoder_channels": 32},
                                  "heads": {"paf": {"enabled": False}}})
    model = build_untrained_model(SK, cfg)
    assert set(model.heads) == {"heatmap", "offset"}


def test_unknown_config_key_lists_allowed():
    from mapose.errors import ConfigError

    with pytest.raises(ConfigError, match="allowed"):
        from_dict(TrainConfig, {"model": {"strid": 2}})
    with pytest.raises(ConfigError, match="packaged"):
        build_untrained_model(SK, from_dict(TrainConfig, {"model": {"encoder": "resnet18"}}))
