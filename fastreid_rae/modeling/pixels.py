"""Conversions between the three pixel spaces RAE uses.

* loader images: what fastreid's data loader yields, 0..``pixel_max`` (255), input size;
* encoder input: loader images normalised by MODEL.PIXEL_MEAN / MODEL.PIXEL_STD, as in
  fastreid's Baseline;
* decoder space: Dec's tanh output range [-1, 1] at Dec's output size (input / 2).

Reconstruction targets go loader -> decoder space; reconstructed images go decoder space ->
encoder input (resized back to the input size) to be re-encoded (Eq. (20), Algorithm 2).
"""
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn


class PixelSpace(nn.Module):
    def __init__(self, pixel_mean: Sequence[float], pixel_std: Sequence[float], pixel_max: float):
        super().__init__()
        # not persistent, as in fastreid's Baseline: they come from the config, not checkpoints
        self.register_buffer("pixel_mean", torch.tensor(pixel_mean, dtype=torch.float32).view(1, -1, 1, 1), False)
        self.register_buffer("pixel_std", torch.tensor(pixel_std, dtype=torch.float32).view(1, -1, 1, 1), False)
        self.pixel_max = float(pixel_max)

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """Loader images -> encoder input. Out of place: the raw images are still needed as
        reconstruction targets (fastreid's Baseline normalises in place)."""
        return (images - self.pixel_mean) / self.pixel_std

    def to_decoder_space(self, images: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
        """Loader images -> [-1, 1] at ``size``: the reconstruction target of Eq. (12)/(15) and
        the "real" input of Dis_p in Eq. (13)."""
        scaled = images * (2.0 / self.pixel_max) - 1.0
        if tuple(scaled.shape[-2:]) == tuple(size):
            return scaled
        # antialias: a plain bilinear downscale aliases, and Dec would be asked to reproduce it
        return F.interpolate(scaled, size=size, mode="bilinear", align_corners=False, antialias=True)

    def decoder_output_to_encoder_input(self, reconstructed: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
        """Dec output in [-1, 1] -> encoder input at the input ``size``, normalised like any
        loader image (docs/design.md, "Decoder output size")."""
        if tuple(reconstructed.shape[-2:]) != tuple(size):
            reconstructed = F.interpolate(reconstructed, size=size, mode="bilinear", align_corners=False)
        return self.normalize((reconstructed + 1.0) * (self.pixel_max / 2.0))
