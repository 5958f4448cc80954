"""Neural network modules (torch ``nn.Module`` only; no training logic).

- :class:`~mapose.models.backbone.FPNBackbone` -- smp encoder + FPN decoder at stride 1/2/4;
- :class:`~mapose.models.heads.ConvHead` -- per-role output head.

To add a head: its module here (or reuse :class:`ConvHead`), its target encoder in
:mod:`mapose.data.targets`, its loss and activation in :mod:`mapose.training.heads`.
"""

from mapose.models.backbone import FPNBackbone, normalisation_for
from mapose.models.heads import ConvHead

__all__ = ["ConvHead", "FPNBackbone", "normalisation_for"]
