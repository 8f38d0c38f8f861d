"""Discriminators D_s, D_t of the PT-hat translator.

CycleGAN's 70 x 70 PatchGAN (Isola et al. 2017; Zhu et al. 2017, Appendix 7.2): C64-C128-C256
-C512 of 4 x 4 convs, LeakyReLU 0.2, instance norm on all but the first, then a conv to one
score per patch. Scoring patches instead of whole images judges local style (colour casts,
texture, blur), which is what the domains differ in, and works at any image size.
"""
from fastreid.config import configurable
from torch import nn

from .registry import PATCH_DISCRIMINATOR_REGISTRY


@PATCH_DISCRIMINATOR_REGISTRY.register()
class PatchGANDiscriminator(nn.Module):
    """Widths: ``RAE.TRANSLATOR.DISCRIMINATOR.{BASE_CHANNELS, NUM_LAYERS}`` (CycleGAN: 64, 3).
    NUM_LAYERS stride-2 convs, then two stride-1 convs (the last to one channel)."""

    @configurable
    def __init__(self, *, base_channels: int, num_layers: int, negative_slope: float = 0.2):
        super().__init__()
        # no norm on the first layer (as CycleGAN): it would erase the colour cast being judged
        layers = [nn.Conv2d(3, base_channels, 4, stride=2, padding=1), nn.LeakyReLU(negative_slope, True)]
        channels = base_channels
        for layer in range(1, num_layers + 1):
            out_channels = base_channels * min(2 ** layer, 8)
            stride = 2 if layer < num_layers else 1
            layers += [nn.Conv2d(channels, out_channels, 4, stride=stride, padding=1),
                       nn.InstanceNorm2d(out_channels), nn.LeakyReLU(negative_slope, True)]
            channels = out_channels
        layers.append(nn.Conv2d(channels, 1, 4, stride=1, padding=1))
        self.layers = nn.Sequential(*layers)

    @classmethod
    def from_config(cls, cfg):
        keys = cfg.RAE.TRANSLATOR.DISCRIMINATOR
        return {"base_channels": keys.BASE_CHANNELS, "num_layers": keys.NUM_LAYERS}

    def forward(self, images):
        return self.layers(images)
