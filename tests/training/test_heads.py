"""Head losses: confidence maps (with hard keypoint mining), fields, offsets."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from mapose.config import from_dict
from mapose.errors import ConfigError
from mapose.training.config import TrainConfig
from mapose.training.heads import heatmap_loss


def _maps():
    torch.manual_seed(0)
    target = torch.zeros(2, 4, 8, 8)
    target[:, :, 4, 4] = 1.0  # one labelled part per channel
    logits = torch.full((2, 4, 8, 8), -6.0)
    logits[:, :, 4, 4] = 6.0  # every part found ...
    logits[0, 1, 4, 4] = -6.0  # ... but part 1 of sample 0
    logits[1, 3, 4, 4] = -6.0  # ... and part 3 of sample 1
    return logits.requires_grad_(), target


def test_every_part_counts_by_default():
    logits, target = _maps()
    bce = F.binary_cross_entropy_with_logits(logits.detach(), target, reduction="sum") / target.sum()
    assert float(heatmap_loss(logits.detach(), target)) == pytest.approx(float(bce))
    assert float(heatmap_loss(logits.detach(), target, "bce", 1.0)) == pytest.approx(float(bce))


def test_hard_keypoint_mining_trains_on_the_parts_the_model_misses():
    logits, target = _maps()
    loss = heatmap_loss(logits, target, "bce", hard_fraction=0.25)  # 1 part of 4 per sample
    per = F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum((2, 3))
    assert float(loss.detach()) == pytest.approx(float((per[0, 1] + per[1, 3]).detach() * 4 / target.sum()))
    loss.backward()
    moved = logits.grad.abs().sum((2, 3)) > 0
    assert moved.tolist() == [[False, True, False, False], [False, False, False, True]]
    with pytest.raises(ConfigError, match="hard_fraction"):
        from_dict(TrainConfig, {"heads": {"heatmap": {"hard_fraction": 0}}})
