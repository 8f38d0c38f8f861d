"""PT-hat (Table IV): an unpaired image-to-image translator, CycleGAN-style, that turns source
images into target style before feature learning (RAE.PIXEL_TRANSFER.MODE pre).

Importing this package registers its parts: GENERATOR_REGISTRY: ResnetGenerator;
PATCH_DISCRIMINATOR_REGISTRY: PatchGANDiscriminator. docs/model.md, "PT-hat", explains it.
"""
from .registry import GENERATOR_REGISTRY, PATCH_DISCRIMINATOR_REGISTRY
from .generators import ResnetGenerator
from .discriminators import PatchGANDiscriminator
from .translator import CycleGANTranslator, build_generator, build_patch_discriminator, build_translator
from .step import CycleGANStep
from .trainer import TranslatorTrainer
from .grid import save_translation_grid
from .translate_dataset import translate_source_train_set
from .pre_pixel_transfer import (SourceStyleTranslation, check_pre_pixel_transfer_config, pre_pixel_transfer,
                                 source_train_root)
