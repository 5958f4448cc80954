"""Pose-model training: config, head roles, the generic LightningModule, callbacks, save/load.

- :func:`train` -- labels -> ``MODEL_DIR`` (see :mod:`mapose.training.train`);
- :func:`load_model` / :func:`build_untrained_model` -- :class:`PoseModel` with ``predict``;
- :mod:`mapose.training.metrics` -- RMSE / PCK / OKS mAP with Hungarian matching (numpy);
- :mod:`mapose.training.evaluate` -- run a model on labelled frames and score it.

To add a head: a role in :mod:`mapose.training.heads` (channels, loss, activation), its target
encoder in :mod:`mapose.data.targets`, its config dataclass in :mod:`mapose.training.config`.
Importing this package is light; torch loads when a function that needs it is called.
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "train": "mapose.training.train",
    "load_model": "mapose.training.model",
    "build_untrained_model": "mapose.training.model",
    "PoseModel": "mapose.training.model",
    "TrainConfig": "mapose.training.config",
    "load_train_config": "mapose.training.config",
    "evaluate_model": "mapose.training.evaluate",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mapose.training' has no attribute {name!r}")


__all__ = sorted(_LAZY)
