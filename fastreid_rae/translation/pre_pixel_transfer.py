"""How RAE's pre mode (RAE.PIXEL_TRANSFER.MODE pre, Table IV's PT-hat) uses the translator.

* the source images of feature learning are the translated source set, read from
  RAE.TRANSLATOR.TRANSLATED_ROOT by fastreid's loader (``source_train_root``);
* with RAE.FUSION.ENABLED, the fusion's second input is F^x2s = Enc(G_t2s(I)): the frozen
  G_t2s of RAE.TRANSLATOR.WEIGHTS takes the place of Dec (``SourceStyleTranslation``).
"""
import json
import os

import torch
from torch import nn

from ..modeling.pixels import PixelSpace
from ..modeling.registry import PRE_PIXEL_TRANSFER_REGISTRY
from .checkpoint import load_checkpoint, load_module_weights
from .translate_dataset import MANIFEST_NAME
from .translator import build_generator

WEIGHTS_KEY = "RAE.TRANSLATOR.WEIGHTS"
TRANSLATED_ROOT_KEY = "RAE.TRANSLATOR.TRANSLATED_ROOT"


def pre_pixel_transfer(cfg) -> bool:
    return cfg.RAE.PIXEL_TRANSFER.ENABLED and cfg.RAE.PIXEL_TRANSFER.MODE == "pre"


def check_pre_pixel_transfer_config(cfg) -> None:
    """What the model needs in pre mode: the translator checkpoint, if fusion is on.
    ValueError (not FileNotFoundError): the key is what is wrong, and the preflight turns
    ValueErrors of check_rae_config into config errors."""
    weights = cfg.RAE.TRANSLATOR.WEIGHTS
    if cfg.RAE.FUSION.ENABLED and not os.path.isfile(weights):
        raise ValueError(
            f"RAE.PIXEL_TRANSFER.MODE pre with RAE.FUSION.ENABLED fuses F with Enc(G_t2s(I)): "
            f"{WEIGHTS_KEY} must name a translator checkpoint (tools/train_translator.py), got {weights!r}"
        )


def source_train_root(cfg) -> str:
    """Where the source training sets are read: RAE.TRANSLATOR.TRANSLATED_ROOT in pre mode
    (tools/train_translator.py --translate writes it), DATASETS.ROOT otherwise."""
    if not pre_pixel_transfer(cfg):
        return cfg.DATASETS.ROOT
    root = cfg.RAE.TRANSLATOR.TRANSLATED_ROOT
    if not root or not os.path.isdir(root):
        raise ValueError(
            f"RAE.PIXEL_TRANSFER.MODE pre trains on translated source images: {TRANSLATED_ROOT_KEY} must "
            f"name the folder written by tools/train_translator.py --translate, got {root!r}"
        )
    if cfg.DATASETS.COMBINEALL:
        # only the training split is translated; query / gallery are links to the originals
        raise ValueError(f"DATASETS.COMBINEALL would mix untranslated source query / gallery images into "
                         f"the translated training set of {TRANSLATED_ROOT_KEY}; set it False in pre mode")
    manifest = os.path.join(root, MANIFEST_NAME)
    if os.path.isfile(manifest):  # absent for a tree made by another tool: nothing to check
        with open(manifest) as file:
            translated = json.load(file)["dataset"]
        if list(cfg.DATASETS.NAMES) != [translated]:
            raise ValueError(f"{TRANSLATED_ROOT_KEY} {root!r} holds a translated {translated} ({manifest}), "
                             f"but DATASETS.NAMES is {list(cfg.DATASETS.NAMES)}")
    return root


@PRE_PIXEL_TRANSFER_REGISTRY.register()
class SourceStyleTranslation(nn.Module):
    """Loader images (0..255) -> G_t2s -> encoder input, with G_t2s frozen: no parameter
    trains (none is in RAE's param_groups), no gradient is computed through it (its input is
    an image, nothing upstream learns), and it stays in eval mode."""

    def __init__(self, generator: nn.Module):
        super().__init__()
        self.generator = generator.requires_grad_(False).eval()

    check_config = staticmethod(check_pre_pixel_transfer_config)

    @classmethod
    def from_config(cls, cfg) -> "SourceStyleTranslation":
        """G_t2s built from RAE.TRANSLATOR.GENERATOR, weights from RAE.TRANSLATOR.WEIGHTS."""
        weights = cfg.RAE.TRANSLATOR.WEIGHTS
        payload = load_checkpoint(weights, WEIGHTS_KEY)
        generator = build_generator(cfg)
        load_module_weights(generator, payload, "generator_t2s.", weights, WEIGHTS_KEY)
        return cls(generator)

    def train(self, mode: bool = True):
        return self  # frozen: model.train() must not switch it (a generator may hold BN / dropout)

    @torch.no_grad()
    def forward(self, images: torch.Tensor, pixel_space: PixelSpace) -> torch.Tensor:
        size = tuple(images.shape[-2:])
        # the translator works in [-1, 1] (the decoder space) at the image's own size
        translated = self.generator(pixel_space.to_decoder_space(images, size))
        return pixel_space.decoder_output_to_encoder_input(translated, size)
