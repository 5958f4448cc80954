"""Head roles: each head = module + target encoder + loss + decoder (activation).

A :class:`HeadRole` ties together, for one output role (``"heatmap"``, ``"paf"``, ``"offset"``):

- ``channels(skeleton)``: output channels, computed from the skeleton;
- ``make_module(in_channels, hidden)``: the :class:`~mapose.models.heads.ConvHead`;
- the target encoder, in :mod:`mapose.data.targets` (emitted by the dataset under the role name);
- ``loss(raw, batch)``: the training loss from raw outputs and the batch targets;
- ``activate(raw)``: the decoder role's activation, giving the contract output (heatmap
  probabilities in [0, 1], PAF vectors, offsets in cells).

The generic :class:`~mapose.training.module.PoseLightningModule` sums the enabled heads' weighted
losses; adding a head means adding a role here and an encoder in ``mapose.data.targets``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch.nn import functional as F

from mapose.core.skeleton import Skeleton
from mapose.models.heads import ConvHead


def heatmap_loss(logits: torch.Tensor, target: torch.Tensor, kind: str = "bce",
                 hard_fraction: float = 1.0, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Confidence-map loss, normalised by the target mass so it is O(1) whatever the map size.

    ``bce``: binary cross-entropy with the Gaussian targets; ``focal``: the same weighted by
    ``|target - p| ** 2`` (quality focal loss, which down-weights easy background); ``mse``: squared
    error of the probabilities.

    ``hard_fraction`` < 1: online hard keypoint mining -- per sample, only that fraction of the body
    parts with the largest losses count (scaled back by ``1 / hard_fraction``), so training spends its
    gradient on the parts the model gets wrong rather than on those it already finds.

    ``weight`` (the target's shape): per-cell loss weights, 0 where a body part nobody labelled may
    lie (:func:`mapose.data.targets.encode_unknown_weights`).
    """
    norm = target.sum().clamp(min=1.0)
    if kind == "mse":
        per = (torch.sigmoid(logits) - target) ** 2
    else:
        per = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
        if kind == "focal":
            per = per * (torch.sigmoid(logits) - target).abs().pow(2)
    if weight is not None:
        per = per * weight
    if hard_fraction >= 1.0 or logits.shape[1] < 2:
        return per.sum() / norm
    per_part = per.flatten(2).sum(2)  # (B, K)
    k = max(1, int(round(hard_fraction * per_part.shape[1])))
    return per_part.topk(k, dim=1).values.sum() * (per_part.shape[1] / k) / norm


def resolve_heatmap_loss(loss: str, animal_size_px: float | None, crop_px: int) -> str:
    """``heads.heatmap.loss`` as used: ``auto`` becomes ``focal`` when the animals (``animal_size_px``,
    :func:`mapose.data.dataset.animal_size`) are larger than the training crops (``crop_px``; 0 =
    whole frames), which then hold only some of the body parts each, and ``bce`` otherwise.  With
    few parts per crop the background dominates ``bce`` and its maps can stay at their starting
    value for a thousand steps; the focal weighting down-weights that easy background (measurements
    in :class:`mapose.training.config.HeatmapHeadConfig`)."""
    if loss != "auto":
        return loss
    return "focal" if crop_px and animal_size_px is not None and animal_size_px > crop_px else "bce"


def paf_loss(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Squared error over all cells, normalised by the number of supervised (band) cells.
    ``weight`` ``(B, E, h, w)``: per-edge cell weights (0 where an edge touches a body part nobody
    labelled), applied to both channels of the edge."""
    band = (target.abs() > 0).float().sum().clamp(min=1.0)
    err = (pred - target) ** 2
    if weight is not None:
        err = err * weight.repeat_interleave(2, dim=1)
    return err.sum() / band


def offset_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """L1 (smooth, beta 0.05 cells) on the masked cells, per keypoint channel pair."""
    m = mask.repeat_interleave(2, dim=1)
    err = F.smooth_l1_loss(pred, target, reduction="none", beta=0.05) * m
    return err.sum() / m.sum().clamp(min=1.0)


@dataclass(frozen=True)
class HeadRole:
    name: str
    channels: Callable[[Skeleton], int]
    bias_init: float
    loss: Callable[..., torch.Tensor]
    activate: Callable[[torch.Tensor], torch.Tensor]

    def make_module(self, in_channels: int, skeleton: Skeleton, hidden: int = 64) -> ConvHead:
        return ConvHead(in_channels, self.channels(skeleton), hidden, self.bias_init)


def _heatmap_loss(raw, batch, kind="bce", hard_fraction=1.0):
    return heatmap_loss(raw, batch["heatmap"], kind, hard_fraction, batch.get("heatmap_weight"))


def _paf_loss(raw, batch):
    return paf_loss(raw, batch["paf"], batch.get("paf_weight"))


def _offset_loss(raw, batch):
    return offset_loss(raw, batch["offset"], batch["offset_mask"])


ROLES: dict[str, HeadRole] = {
    "heatmap": HeadRole("heatmap", lambda sk: sk.n_keypoints, -4.6, _heatmap_loss, torch.sigmoid),
    "paf": HeadRole("paf", lambda sk: 2 * sk.n_edges, 0.0, _paf_loss, lambda x: x),
    "offset": HeadRole("offset", lambda sk: 2 * sk.n_keypoints, 0.0, _offset_loss, lambda x: x),
}
