"""Training callbacks: wall-clock budget + learning-rate schedule (kept across resumes), plots."""

from __future__ import annotations

import math
import time
from typing import Any, Optional

import numpy as np
import pytorch_lightning as pl


def lr_factor(step: int, fraction: float, warmup_steps: int, final_fraction: float) -> float:
    """Multiplier of the base learning rate: linear warm-up over ``warmup_steps`` then cosine decay
    from 1 to ``final_fraction`` as the run's progress ``fraction`` (0..1) goes by."""
    warm = min(1.0, (step + 1) / max(warmup_steps, 1))
    f = min(max(fraction, 0.0), 1.0)
    return warm * (final_fraction + (1 - final_fraction) * 0.5 * (1 + math.cos(math.pi * f)))


class BudgetSchedule(pl.Callback):
    """Stops training after ``minutes`` of wall clock (summed over resumed sessions) or
    ``max_steps``, and sets the learning rate from the run's progress: progress =
    ``max(step / max_steps, elapsed / budget)``, so a cosine schedule ends when the budget does.

    The elapsed time is stored in checkpoints, so ``mapose train`` resumed after an interrupt
    continues the same schedule and budget.  With several processes (``strategy: ddp``) every
    process uses the first one's clock, so all set the same learning rate and stop after the same
    step (a process stopping alone would leave the others waiting for it forever).
    """

    def __init__(self, base_lr: float, minutes: float = 0.0, max_steps: int = 0,
                 warmup_steps: int = 0, final_fraction: float = 0.02):
        self.base_lr, self.budget_s = base_lr, max(minutes, 0.0) * 60.0
        self.max_steps, self.warmup_steps, self.final_fraction = max_steps, warmup_steps, final_fraction
        self.elapsed_before = 0.0
        self._start: Optional[float] = None
        #: progress at the last batch, the same in every process (see :meth:`synced_progress`)
        self.last_progress = 0.0

    @property
    def state_key(self) -> str:
        return "BudgetSchedule"

    def elapsed(self) -> float:
        return self.elapsed_before + (time.monotonic() - self._start if self._start else 0.0)

    def progress(self, step: int, elapsed: Optional[float] = None) -> float:
        parts = []
        if self.max_steps:
            parts.append(step / self.max_steps)
        if self.budget_s:
            parts.append((self.elapsed() if elapsed is None else elapsed) / self.budget_s)
        return max(parts) if parts else 0.0

    def synced_progress(self, trainer) -> float:
        """:meth:`progress` by the first process's clock (one broadcast per batch when there are
        several processes); also kept in :attr:`last_progress`."""
        elapsed = self.elapsed()
        if trainer.world_size > 1 and self.budget_s:
            elapsed = float(trainer.strategy.broadcast(elapsed, src=0))
        self.last_progress = self.progress(trainer.global_step, elapsed)
        return self.last_progress

    def on_fit_start(self, trainer, pl_module) -> None:
        self._start = time.monotonic()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        step = trainer.global_step
        p = self.synced_progress(trainer)
        if p >= 1.0:
            trainer.should_stop = True
        lr = self.base_lr * lr_factor(step, p, self.warmup_steps, self.final_fraction)
        for opt in trainer.optimizers:
            for g in opt.param_groups:
                g["lr"] = lr

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.synced_progress(trainer) >= 1.0:
            trainer.should_stop = True

    def state_dict(self) -> dict[str, Any]:
        return {"elapsed_s": self.elapsed()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.elapsed_before = float(state_dict.get("elapsed_s", 0.0))
        self._start = time.monotonic()


class DatasetEpoch(pl.Callback):
    """Tells the training dataset the epoch number at each epoch's start (its augmentations are
    drawn from seed, epoch and item number); its worker processes, kept for the whole run, read it
    from shared memory."""

    def __init__(self, dataset):
        self.dataset = dataset

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self.dataset.set_epoch(trainer.current_epoch)


def ema_multi_avg_fn(decay: float):
    """``multi_avg_fn`` for :class:`torch.optim.swa_utils.AveragedModel`: after ``n`` earlier
    updates, ``average <- d * average + (1 - d) * current`` with ``d = min(decay, (1 + n) / (10 + n))``
    (the warm-up keeps the random initial weights from lingering in short runs)."""
    import torch

    def multi_avg_fn(averaged, current, num_averaged) -> None:
        if not averaged or not torch.is_floating_point(averaged[0]):
            return  # integer buffers (batch-norm counters) are left as they are
        n = float(num_averaged)
        torch._foreach_lerp_(averaged, current, 1.0 - min(decay, (1.0 + n) / (10.0 + n)))

    return multi_avg_fn


def ema_weights(decay: float) -> pl.Callback:
    """Lightning's :class:`~pytorch_lightning.callbacks.WeightAveraging` with
    :func:`ema_multi_avg_fn`.  Lightning swaps the averaged weights in for validation, stores them
    as the checkpoint's ``state_dict`` (the raw weights go to ``current_model_state`` for resuming)
    and leaves them in the model when training ends."""
    from pytorch_lightning.callbacks import WeightAveraging

    return WeightAveraging(multi_avg_fn=ema_multi_avg_fn(decay))


class LabelShift(pl.Callback):
    """Once the run is ``at_fraction`` through its budget, measure the labels' image-frame offset
    on the training frames (:func:`mapose.training.calibration.measure_calibration`) and remove it
    from the training targets for the rest of the run, so that a rotation-equivariant model learns
    where body parts are instead of averaging the offset into direction-dependent errors.  The
    final calibration, measured against the original labels, puts the offset back.

    Validation targets get the same shift, and the best-checkpoint record restarts (losses before
    and after the shift are not comparable).  The shift is part of the checkpoint's callback state,
    so a resumed run keeps it.
    """

    def __init__(self, schedule: "BudgetSchedule", datasets, images, gts, at_fraction: float,
                 input_scale: float = 1.0, checkpoint=None):
        self.schedule, self.datasets, self.images, self.gts = schedule, list(datasets), images, gts
        self.checkpoint = checkpoint
        self.at_fraction, self.input_scale = float(at_fraction), float(input_scale)
        self.done = False
        self.shift_px = [0.0, 0.0]
        self.measured: dict = {}

    @property
    def state_key(self) -> str:
        return "LabelShift"

    def _apply(self) -> None:
        for ds in self.datasets:
            if ds is not None:
                ds.label_shift = -np.asarray(self.shift_px, dtype=np.float64) * self.input_scale

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        # the schedule's callback ran first: last_progress is this batch's, the same in every process
        if self.done or self.schedule.last_progress < self.at_fraction:
            return
        from mapose.training.calibration import measure_calibration

        self.done = True
        measured = measure_calibration(pl_module.model, self.images, self.gts) if trainer.is_global_zero else None
        self.measured = trainer.strategy.broadcast(measured, src=0) if trainer.world_size > 1 else measured
        if self.measured.get("applied"):
            self.shift_px = [float(v) for v in self.measured["label_offset_px"]]
            self._apply()
            if self.checkpoint is not None:  # earlier val losses used the unshifted targets
                self.checkpoint.best_k_models = {}
                self.checkpoint.best_model_score = None
        pl_module.model.train()

    def state_dict(self) -> dict[str, Any]:
        return {"done": self.done, "shift_px": list(self.shift_px)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.done = bool(state_dict.get("done", False))
        self.shift_px = [float(v) for v in state_dict.get("shift_px", [0.0, 0.0])]
        self._apply()


def _clock(seconds: float) -> str:
    s = int(round(max(seconds, 0.0)))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def budget_status(schedule: BudgetSchedule, step: int) -> str:
    """How far the run is through its budget: ``"2:05 of 3:00, step 749"`` (wall clock, summed over
    resumed sessions) or, without a time budget, ``"step 749 of 3000"``."""
    if schedule.budget_s:
        return f"{_clock(schedule.elapsed())} of {_clock(schedule.budget_s)}, step {step}"
    return f"step {step}" + (f" of {schedule.max_steps}" if schedule.max_steps else "")


def progress_bar(schedule: BudgetSchedule) -> pl.Callback:
    """Lightning's progress bar (rich when installed, else tqdm), showing how far the run is
    through its time / step budget instead of Lightning's epoch count: training runs until the
    budget ends, so Lightning would print ``Epoch 14/-2``."""
    from pytorch_lightning.callbacks import RichProgressBar, TQDMProgressBar

    try:
        import rich  # noqa: F401

        base = RichProgressBar
    except ImportError:  # pragma: no cover - rich comes with pytorch-lightning's progress extras
        base = TQDMProgressBar

    class BudgetProgressBar(base):
        def get_metrics(self, trainer, pl_module):
            items = dict(super().get_metrics(trainer, pl_module))
            items.pop("v_num", None)
            if isinstance(items.get("lr"), float):  # the bar writes 3 decimals: 0.000
                items["lr"] = f"{items['lr']:.2e}"
            items["budget"] = budget_status(schedule, trainer.global_step)
            return items

        def _get_train_description(self, current_epoch: int) -> str:  # rich only
            # padded to the validation bar's description, as Lightning does, so the bar does not jump
            return f"Epoch {current_epoch}".ljust(len(getattr(self, "validation_description", "")))

    return BudgetProgressBar()
