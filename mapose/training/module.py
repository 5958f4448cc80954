"""One generic LightningModule for every pose model: sums the enabled heads' weighted losses."""

from __future__ import annotations

import pytorch_lightning as pl
import torch

from mapose.training.heads import ROLES
from mapose.training.model import PoseModel


class PoseLightningModule(pl.LightningModule):
    """Trains a :class:`PoseModel`; the learning rate is driven by
    :class:`~mapose.training.callbacks.BudgetSchedule` (warm-up + cosine over steps or wall clock).

    Logged: ``train/loss``, ``train/<role>``, ``val/loss``, ``val/<role>``, ``lr``.
    """

    def __init__(self, model: PoseModel, channels_last: bool = False, heatmap_loss: str | None = None):
        super().__init__()
        self.model = model
        self.channels_last = bool(channels_last)
        if self.channels_last:  # faster convolutions on the CPU (``trainer.channels_last``)
            model.to(memory_format=torch.channels_last)
        cfg = model.config
        self.loss_weights = {r: float(getattr(cfg.heads, r).weight) for r in model.heads}
        # ``auto`` is resolved by mapose.training.train from the crops; without them it means bce
        kind = heatmap_loss or cfg.heads.heatmap.loss
        self.heatmap_kind = "bce" if kind == "auto" else kind
        self.hard_fraction = float(cfg.heads.heatmap.hard_fraction)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.model(self.model.normalise(x))

    def _losses(self, batch: dict[str, torch.Tensor], train: bool = False) -> dict[str, torch.Tensor]:
        """Weighted head losses; hard keypoint mining in training only, so the validation loss
        (which picks the best checkpoint) stays comparable between recipes."""
        raw = self(batch["image"])
        out = {}
        for r, v in raw.items():
            if r == "heatmap":
                out[r] = ROLES[r].loss(v, batch, self.heatmap_kind, self.hard_fraction if train else 1.0)
            else:
                out[r] = ROLES[r].loss(v, batch)
        out["loss"] = sum(self.loss_weights[r] * out[r] for r in raw)
        return out

    def training_step(self, batch, batch_idx):
        losses = self._losses(batch, train=True)
        bs = batch["image"].shape[0]
        self.log("train/loss", losses["loss"], prog_bar=True, batch_size=bs)
        for r in self.model.heads:
            self.log(f"train/{r}", losses[r], batch_size=bs)
        self.log("lr", self.trainer.optimizers[0].param_groups[0]["lr"], prog_bar=True, batch_size=bs)
        return losses["loss"]

    def validation_step(self, batch, batch_idx):
        losses = self._losses(batch)
        bs = batch["image"].shape[0]
        self.log("val/loss", losses["loss"], prog_bar=True, batch_size=bs, sync_dist=True)
        for r in self.model.heads:
            self.log(f"val/{r}", losses[r], batch_size=bs, sync_dist=True)

    def configure_optimizers(self):
        o = self.model.config.optim
        return torch.optim.AdamW(self.parameters(), lr=o.lr, weight_decay=o.weight_decay)
