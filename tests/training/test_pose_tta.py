"""Test-time augmentation by quarter turns: outputs of a turned image map back exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mapose.config import from_dict
from mapose.data.targets import encode_heatmap, encode_offsets, encode_paf
from mapose.errors import ConfigError
from mapose.training.config import TrainConfig
from mapose.training.model import build_untrained_model, unturn_outputs
from tests.training.conftest import SKELETON
from tests.training.test_pose_training import TINY


def _turn_points(kp: np.ndarray, width: int) -> np.ndarray:
    """Where ``torch.rot90(image, 1, (-2, -1))`` sends pixel (x, y) of a ``width``-wide image."""
    return np.stack([kp[..., 1], width - 1 - kp[..., 0]], axis=-1)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_targets_of_a_turned_image_turn_back_onto_the_targets_of_the_image(k):
    rng = np.random.default_rng(k)
    h, w, stride = 64, 96, 4
    kp = rng.uniform([8, 8], [w - 8, h - 8], (2, 3, 2))
    edges = np.array(SKELETON.edges)
    turned, th, tw = kp, h, w
    for _ in range(k):
        turned, th, tw = _turn_points(turned, tw), tw, th
    grid, tgrid = (h // stride, w // stride), (th // stride, tw // stride)
    pairs = {
        "heatmap": (encode_heatmap(kp, grid, stride, 3.0), encode_heatmap(turned, tgrid, stride, 3.0)),
        "paf": (encode_paf(kp, edges, grid, stride, 3.0), encode_paf(turned, edges, tgrid, stride, 3.0)),
        "offset": (encode_offsets(kp, grid, stride, 2.0)[0], encode_offsets(turned, tgrid, stride, 2.0)[0]),
    }
    for role, (plain, of_turned) in pairs.items():
        back = unturn_outputs(role, torch.from_numpy(of_turned)[None], k)[0].numpy()
        assert back.shape == plain.shape, role
        np.testing.assert_allclose(back, plain, atol=1e-5, err_msg=role)


def test_rot4_predictions_are_exactly_equivariant_to_quarter_turns():
    torch.manual_seed(0)
    model = build_untrained_model(SKELETON, from_dict(TrainConfig, TINY))
    assert model.tta == "rot4"  # the library default
    img = torch.from_numpy(np.random.default_rng(0).integers(0, 255, (1, 64, 64), dtype=np.uint8))
    out = model.predict(img)
    out_turned = model.predict(torch.rot90(img, 1, (-2, -1)).contiguous())
    for role, v in out.items():
        back = unturn_outputs(role, out_turned[role], 1)
        torch.testing.assert_close(back, v, atol=1e-5, rtol=1e-4, msg=role)
    model.tta = "none"
    plain = model.predict(img)
    assert not torch.allclose(plain["heatmap"], out["heatmap"])  # an untrained net is not equivariant
    for mode in ("rot2", "rot4"):  # non-square frames keep their output shape
        model.tta = mode
        wide = model.predict(torch.zeros((2, 40, 72), dtype=torch.uint8))
        assert wide["heatmap"].shape == (2, 3, 10, 18) and wide["paf"].shape == (2, 4, 10, 18)
    model.tta = "flip"
    with pytest.raises(ConfigError, match="tta 'flip' unknown"):
        model.predict(img)
