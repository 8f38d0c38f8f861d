"""Registries of the PT-hat translator's parts (``RAE.TRANSLATOR.*.NAME``).

Same pattern as ``fastreid_rae/modeling/registry.py``: a decorator at the definition fills the
registry, a config names the part, an unknown name raises naming the key and the choices.
"""
from fastreid.utils.registry import Registry

GENERATOR_REGISTRY = Registry("RAE_TRANSLATOR_GENERATOR")
GENERATOR_REGISTRY.__doc__ = """
Image-to-image generators G_s2t, G_t2s: called as ``obj(cfg)``, map N x 3 x H x W images in
[-1, 1] to images of the same shape in [-1, 1]; ``check_size(H, W)`` raises a ConfigError for
a size they cannot map (checked before training starts).
"""

PATCH_DISCRIMINATOR_REGISTRY = Registry("RAE_TRANSLATOR_DISCRIMINATOR")
PATCH_DISCRIMINATOR_REGISTRY.__doc__ = """
Discriminators D_s, D_t of the translator: called as ``obj(cfg)``, map N x 3 x H x W images in
[-1, 1] to a map of real/fake scores (one per patch).
"""
