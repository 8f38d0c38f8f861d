"""Everything tools/train_translator.py can be told is wrong before it trains or writes a file.

Without these checks a bad value reached torch as a traceback at the first iteration, a
missing dataset or a corrupt image failed after the output folder and its log were made, and
a --translate folder that existed was refused only after the whole training, its checkpoint
already written. The checks are RAE's pre-flight ones (fastreid_rae/engine/preflight/) on
the keys the translator reads, and the rules of its own two folders. Each raises one
``ConfigError`` or ``DatasetLayoutError``; docs/errors.md lists the cases.
"""
import os
from typing import Optional

from ..config_constraints import check_config_values
from ..engine.config_loading import ConfigError
from ..engine.preflight.config_checks import (check_device, check_input_sizes, check_registered_datasets,
                                              check_registered_parts)
from ..engine.preflight.dataset_checks import build_checked_dataset, check_images_readable
from .checkpoint import CHECKPOINT_NAME
from .data import check_fills_a_batch, domain_names
from .registry import GENERATOR_REGISTRY, PATCH_DISCRIMINATOR_REGISTRY
from .translate_dataset import check_translated_root

TRANSLATOR_PARTS = {"RAE.TRANSLATOR.GENERATOR.NAME": GENERATOR_REGISTRY,
                    "RAE.TRANSLATOR.DISCRIMINATOR.NAME": PATCH_DISCRIMINATOR_REGISTRY}


def check_translator_output_dir(output_dir: str, resume: bool, overwrite: bool) -> None:
    """--resume needs the checkpoint to continue; without it, one that exists is replaced
    only with --overwrite."""
    checkpoint = os.path.join(output_dir, CHECKPOINT_NAME)
    if resume and not os.path.isfile(checkpoint):
        raise ConfigError(f"--resume: no {CHECKPOINT_NAME} in --output-dir '{output_dir}' to continue; "
                          f"expected the folder of an earlier run, or no --resume to start one")
    if not resume and os.path.exists(checkpoint) and not overwrite:
        raise ConfigError(f"'{checkpoint}' exists; pass --resume to continue it or --overwrite to "
                          f"replace it")


def check_translator_datasets(cfg) -> None:
    """Both domains' training images load and decode, and each fills a batch."""
    for name in domain_names(cfg):
        dataset = build_checked_dataset(cfg, name, cfg.DATASETS.ROOT, is_source=False)
        paths = [item[0] for item in dataset.train]  # the translator reads the training split only
        check_images_readable(name, paths)
        check_fills_a_batch(cfg, name, paths)


def preflight_translator(cfg, output_dir: str, resume: bool, overwrite: bool,
                         translate: Optional[str]) -> None:
    """Config values first (instant), then the folders, then the datasets on disk (every
    training image is opened)."""
    check_config_values(cfg)
    check_registered_parts(cfg, TRANSLATOR_PARTS)
    check_registered_datasets(list(zip(("DATASETS.NAMES", "DATASETS.TARGET"), domain_names(cfg))))
    check_input_sizes(cfg)
    check_device(cfg, num_gpus=1)
    check_translator_output_dir(output_dir, resume, overwrite)
    if translate:
        check_translated_root(cfg, translate, overwrite, keep=(output_dir,))
    check_translator_datasets(cfg)
