"""Backbone: a segmentation-models-pytorch encoder with an FPN decoder, at output stride 1, 2 or 4."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

#: Input normalisation per encoder family: (mean, std) in grey levels, per RGB channel.
LITE_NORMALISATION = ((127.0, 127.0, 127.0), (128.0, 128.0, 128.0))
IMAGENET_NORMALISATION = ((123.675, 116.28, 103.53), (58.395, 57.12, 57.375))


def normalisation_for(encoder: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Mean/std (grey levels) the encoder's ImageNet weights expect.

    TF-ported EfficientNet-Lite weights expect ``(pixel - 127) / 128``; other smp encoders the
    usual ImageNet mean/std.
    """
    return LITE_NORMALISATION if "efficientnet_lite" in encoder else IMAGENET_NORMALISATION


class FPNBackbone(nn.Module):
    """smp encoder + FPN decoder; returns a feature map at ``stride`` (B, out_channels, H/s, W/s).

    Parameters
    ----------
    encoder
        smp encoder name (``tu-<timm name>`` for timm encoders).
    stride
        Output stride: 4 (FPN native), 2 or 1 (learned upsampling with an encoder skip).
    channels
        FPN pyramid/segmentation channels.
    encoder_weights
        Passed to smp (``None`` or ``"imagenet"``, which downloads).
    """

    def __init__(self, encoder: str, stride: int = 4, channels: int = 128,
                 encoder_weights: str | None = None):
        super().__init__()
        import segmentation_models_pytorch as smp

        if stride not in (1, 2, 4):
            raise ValueError(f"stride {stride} not supported; allowed: 1, 2, 4")
        fpn = smp.FPN(encoder, encoder_weights=encoder_weights, classes=1, upsampling=1,
                      decoder_pyramid_channels=channels, decoder_segmentation_channels=channels,
                      decoder_dropout=0.0)
        self.encoder = fpn.encoder
        self.decoder = fpn.decoder
        self.stride = stride
        self.out_channels = channels
        if stride < 4:
            skip_ch = self.encoder.out_channels[1 if stride == 2 else 0]
            self.refine = nn.Sequential(
                nn.Conv2d(channels + skip_ch, channels, 3, padding=1, bias=False),
                nn.BatchNorm2d(channels),
                nn.ReLU(inplace=True),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.encoder(x)
        y = self.decoder(feats)
        if self.stride < 4:
            skip = feats[1] if self.stride == 2 else feats[0]
            y = F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            y = self.refine(torch.cat([y, skip], dim=1))
        return y
