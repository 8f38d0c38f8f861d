"""Registries for the RAE parts fastreid has no registry for.

Each is filled by a decorator at the part's definition; a config names the part
(``RAE.PIXEL_TRANSFER.DECODER.NAME``, ``RAE.*.DISCRIMINATOR.NAME``, ``RAE.GAN.LOSS``,
``RAE.PIXEL_TRANSFER.RECONSTRUCTION_LOSS``).
"""
from fastreid.utils.registry import Registry

DECODER_REGISTRY = Registry("RAE_DECODER")
DECODER_REGISTRY.__doc__ = """
Decoders Dec of Eq. (10): called as ``obj(in_channels=..., channels=..., kernel_size=..., norm=...)``,
map an encoder feature map to an image in [-1, 1].
"""

DISCRIMINATOR_REGISTRY = Registry("RAE_DISCRIMINATOR")
DISCRIMINATOR_REGISTRY.__doc__ = """
Discriminators Dis_f (Eq. 8) and Dis_p (Eq. 13): called as
``obj(in_channels=..., channels=..., kernel_size=..., negative_slope=...)``, map a batch of maps
to one real/fake logit per sample.
"""

GAN_LOSS_REGISTRY = Registry("RAE_GAN_LOSS")
GAN_LOSS_REGISTRY.__doc__ = """
GAN objectives: called as ``obj()``; the instance has ``generator(fake_logits)`` and
``discriminator(real_logits, fake_logits)``.
"""


RECONSTRUCTION_LOSS_REGISTRY = Registry("RAE_RECONSTRUCTION_LOSS")
RECONSTRUCTION_LOSS_REGISTRY.__doc__ = """
Reconstruction losses of Eq. (12) / (15): functions ``f(reconstructed, target) -> scalar``.
"""

PRE_PIXEL_TRANSFER_REGISTRY = Registry("RAE_PRE_PIXEL_TRANSFER")
PRE_PIXEL_TRANSFER_REGISTRY.__doc__ = """
PT-hat's pixel transfer before Enc (RAE.PIXEL_TRANSFER.MODE pre, Table IV). fastreid_rae.translation
registers it, so that modeling never imports the translator's package. The entry has
``check_config(cfg)`` (ValueError naming the key) and ``from_config(cfg)``, which returns the frozen
module called as ``module(loader_images, pixel_space) -> encoder input``.
"""
PRE_PIXEL_TRANSFER = "SourceStyleTranslation"  # the one entry


def get_registered(registry, name: str, config_key: str):
    """``registry.get(name)``, with an error naming the config key and the choices."""
    try:
        return registry.get(name)
    except KeyError:
        # fastreid's Registry has no public listing; its map is the only source of the choices
        choices = sorted(registry._obj_map)
        raise KeyError(f"{config_key} = {name!r} is not registered; expected one of {choices}") from None


def build_from_registry(registry, name: str, config_key: str, **kwargs):
    """``registry.get(name)(**kwargs)``, with an error naming the config key and the choices."""
    return get_registered(registry, name, config_key)(**kwargs)
