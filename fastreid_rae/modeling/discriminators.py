"""The discriminators: Dis_f on feature maps (Eq. 8) and Dis_p on images (Eq. 13, 16).

Both have the form of Sec. IV-B and never share weights: each is its own instance.
"""
from typing import Sequence

import torch
from torch import nn

from .registry import DISCRIMINATOR_REGISTRY, build_from_registry


@DISCRIMINATOR_REGISTRY.register()
class StridedConvDiscriminator(nn.Module):
    """Sec. IV-B: three strided convolutions, each followed by LeakyReLU, and an FC layer to
    one logit (real = source).

    The FC reads the globally averaged last map rather than the flattened one, so one module
    works at any input size (Dis_p sees input/2 images, Dis_f input/16 maps whose size
    depends on the backbone and INPUT.SIZE_TRAIN); with no normalisation layers, real and
    fake batches can be scored in one call without mixing statistics.
    """

    def __init__(self, *, in_channels: int, channels: Sequence[int], kernel_size: int, negative_slope: float):
        super().__init__()
        if len(channels) != 3:
            raise ValueError(
                f"RAE.*.DISCRIMINATOR.CHANNELS must list 3 widths (Sec. IV-B: three strided "
                f"convolutions), got {list(channels)}"
            )
        layers = []
        for c_in, c_out in zip([in_channels, *channels[:-1]], channels):
            layers += [
                nn.Conv2d(c_in, c_out, kernel_size, stride=2, padding=(kernel_size - 1) // 2),
                nn.LeakyReLU(negative_slope, inplace=True),
            ]
        self.convs = nn.Sequential(*layers)
        self.fc = nn.Linear(channels[-1], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N,) logits."""
        return self.fc(self.convs(x).mean(dim=(2, 3))).squeeze(1)


def _build(discriminator_cfg, config_prefix: str, in_channels: int) -> nn.Module:
    return build_from_registry(
        DISCRIMINATOR_REGISTRY, discriminator_cfg.NAME, f"{config_prefix}.NAME",
        in_channels=in_channels,
        channels=list(discriminator_cfg.CHANNELS),
        kernel_size=discriminator_cfg.KERNEL_SIZE,
        negative_slope=discriminator_cfg.NEGATIVE_SLOPE,
    )


def build_feature_discriminator(cfg) -> nn.Module:
    """Dis_f of Eq. (8), on Enc's feature maps."""
    return _build(cfg.RAE.FEATURE_TRANSFER.DISCRIMINATOR, "RAE.FEATURE_TRANSFER.DISCRIMINATOR",
                  cfg.MODEL.BACKBONE.FEAT_DIM)


def build_pixel_discriminator(cfg) -> nn.Module:
    """Dis_p of Eq. (13), on RGB images in Dec's [-1, 1] space."""
    return _build(cfg.RAE.PIXEL_TRANSFER.DISCRIMINATOR, "RAE.PIXEL_TRANSFER.DISCRIMINATOR", 3)
