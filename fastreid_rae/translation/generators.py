"""Generators G_s2t, G_t2s of the PT-hat translator.

CycleGAN's ResNet generator (Zhu et al. 2017, Appendix 7.2, after Johnson et al. 2016):
c7s1-k, two stride-2 downsamplings, residual blocks, two fractional-strided upsamplings,
c7s1-3 + tanh; instance normalisation and reflection padding throughout. Fully
convolutional: any H, W divisible by 2^NUM_DOWNSAMPLING.
"""
from fastreid.config import configurable
from torch import nn

from ..errors import ConfigError
from .registry import GENERATOR_REGISTRY


def _conv_norm_relu(in_channels: int, out_channels: int, **conv_kwargs) -> list:
    # bias kept: InstanceNorm here has no affine shift to make it redundant (as CycleGAN)
    return [nn.Conv2d(in_channels, out_channels, **conv_kwargs), nn.InstanceNorm2d(out_channels), nn.ReLU(True)]


class ResidualBlock(nn.Module):
    """x + (pad, conv3, IN, ReLU, pad, conv3, IN)(x): a "R256" block of CycleGAN."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), *_conv_norm_relu(channels, channels, kernel_size=3),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, kernel_size=3), nn.InstanceNorm2d(channels),
        )

    def forward(self, x):
        return x + self.body(x)


@GENERATOR_REGISTRY.register()
class ResnetGenerator(nn.Module):
    """Widths: ``RAE.TRANSLATOR.GENERATOR.{BASE_CHANNELS, NUM_DOWNSAMPLING, NUM_BLOCKS}``
    (CycleGAN: 64, 2, 9 blocks at 256 x 256 and 6 at 128 x 128)."""

    @configurable
    def __init__(self, *, base_channels: int, num_downsampling: int, num_blocks: int):
        super().__init__()
        self.size_multiple = 2 ** num_downsampling
        layers = [nn.ReflectionPad2d(3), *_conv_norm_relu(3, base_channels, kernel_size=7)]
        channels = base_channels
        for _ in range(num_downsampling):
            layers += _conv_norm_relu(channels, channels * 2, kernel_size=3, stride=2, padding=1)
            channels *= 2
        layers += [ResidualBlock(channels) for _ in range(num_blocks)]
        for _ in range(num_downsampling):
            # output_padding 1: each layer exactly doubles H and W, undoing one downsampling
            layers += [nn.ConvTranspose2d(channels, channels // 2, kernel_size=3, stride=2, padding=1,
                                          output_padding=1),
                       nn.InstanceNorm2d(channels // 2), nn.ReLU(True)]
            channels //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(channels, 3, kernel_size=7), nn.Tanh()]
        self.layers = nn.Sequential(*layers)

    @classmethod
    def from_config(cls, cfg):
        keys = cfg.RAE.TRANSLATOR.GENERATOR
        return {"base_channels": keys.BASE_CHANNELS, "num_downsampling": keys.NUM_DOWNSAMPLING,
                "num_blocks": keys.NUM_BLOCKS}

    def check_size(self, height: int, width: int) -> None:
        if height % self.size_multiple or width % self.size_multiple:
            raise ConfigError(
                f"the translator's generator needs H and W divisible by {self.size_multiple} "
                f"(2^RAE.TRANSLATOR.GENERATOR.NUM_DOWNSAMPLING), got {height} x {width}; "
                f"change INPUT.SIZE_TRAIN / INPUT.SIZE_TEST"
            )

    def forward(self, images):
        self.check_size(*images.shape[-2:])
        return self.layers(images)
