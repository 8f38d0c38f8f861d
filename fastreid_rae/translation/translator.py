"""The PT-hat translator: two generators and two discriminators, built from RAE.TRANSLATOR."""
from torch import nn

from ..modeling.registry import build_from_registry
from .registry import GENERATOR_REGISTRY, PATCH_DISCRIMINATOR_REGISTRY


def build_generator(cfg) -> nn.Module:
    name = cfg.RAE.TRANSLATOR.GENERATOR.NAME
    return build_from_registry(GENERATOR_REGISTRY, name, "RAE.TRANSLATOR.GENERATOR.NAME", cfg=cfg)


def build_patch_discriminator(cfg) -> nn.Module:
    name = cfg.RAE.TRANSLATOR.DISCRIMINATOR.NAME
    return build_from_registry(PATCH_DISCRIMINATOR_REGISTRY, name, "RAE.TRANSLATOR.DISCRIMINATOR.NAME", cfg=cfg)


def init_gan_weights(module: nn.Module, std: float = 0.02) -> None:
    """N(0, 0.02) conv weights, zero biases: CycleGAN's (and DCGAN's) initialisation."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(layer.weight, 0.0, std)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


class CycleGANTranslator(nn.Module):
    """G_s2t (source -> target style), G_t2s (target -> source style), D_s, D_t.

    Images in [-1, 1]. Attribute names are the checkpoint's keys: ``generator_t2s.*`` is what
    RAE's pre mode loads for the fusion input (fastreid_rae/translation/pre_pixel_transfer.py).
    """

    def __init__(self, generator_s2t: nn.Module, generator_t2s: nn.Module,
                 discriminator_source: nn.Module, discriminator_target: nn.Module):
        super().__init__()
        self.generator_s2t = generator_s2t
        self.generator_t2s = generator_t2s
        self.discriminator_source = discriminator_source
        self.discriminator_target = discriminator_target

    def generators(self):
        return [self.generator_s2t, self.generator_t2s]

    def discriminators(self):
        return [self.discriminator_source, self.discriminator_target]


def build_translator(cfg) -> CycleGANTranslator:
    translator = CycleGANTranslator(build_generator(cfg), build_generator(cfg),
                                    build_patch_discriminator(cfg), build_patch_discriminator(cfg))
    init_gan_weights(translator)
    return translator
