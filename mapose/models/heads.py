"""Head modules: small convolutional stacks mapping backbone features to one output role."""

from __future__ import annotations

import torch
from torch import nn


class ConvHead(nn.Module):
    """3x3 conv + BN + ReLU, then a 1x1 conv to ``out_channels`` (raw outputs, no activation).

    Parameters
    ----------
    in_channels, out_channels
        Feature and output channels.
    hidden
        Channels of the hidden layer.
    bias_init
        Initial bias of the output layer (e.g. ``-4.6`` so a sigmoid starts at p = 0.01).
    """

    def __init__(self, in_channels: int, out_channels: int, hidden: int = 64, bias_init: float = 0.0):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 3, padding=1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
        )
        self.out = nn.Conv2d(hidden, out_channels, 1)
        nn.init.normal_(self.out.weight, std=0.01)
        nn.init.constant_(self.out.bias, bias_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(x))
