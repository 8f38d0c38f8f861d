#!/usr/bin/env python
"""Train the PT-hat translator (CycleGAN, Table IV) and translate the source training set.

    python tools/train_translator.py --config-file configs/RAE/synthetic/duke2market.yml \\
        --output-dir logs/translator/duke2market [--iters N] [--resume] \\
        [--translate datasets/duke2market_translated [--overwrite]] [KEY VALUE ...]

Trains on DATASETS.NAMES[0] vs DATASETS.TARGET training images under DATASETS.ROOT for
RAE.TRANSLATOR.MAX_ITER (or --iters) iterations and writes into --output-dir:
translator.pth (weights, optimizers, iteration: --resume continues it) and translations.png
(rows: source, G_s2t(source), G_t2s(G_s2t(source)), target, G_t2s(target)). --translate DIR
writes the translated source set under DIR with the original layout; train RAE on it with
RAE.PIXEL_TRANSFER.MODE pre RAE.TRANSLATOR.TRANSLATED_ROOT DIR (and, for fusion,
RAE.TRANSLATOR.WEIGHTS <output-dir>/translator.pth). docs/model.md, "PT-hat".
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import fastreid_rae  # noqa: E402  (fastreid compat shims + registrations, before fastreid)
from fastreid.config import get_cfg  # noqa: E402
from fastreid.utils.logger import setup_logger  # noqa: E402

from fastreid_rae.config import add_rae_config  # noqa: E402
from fastreid_rae.data.datasets import DatasetLayoutError  # noqa: E402
from fastreid_rae.engine.config_loading import ConfigError, merge_config  # noqa: E402
from fastreid_rae.translation import TranslatorTrainer, save_translation_grid, translate_source_train_set  # noqa: E402
from fastreid_rae.translation.data import first_images, single_source_name, train_image_paths  # noqa: E402

GRID_NAME = "translations.png"


def argument_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config-file", required=True, metavar="FILE")
    parser.add_argument("--output-dir", required=True, help="where translator.pth and translations.png go")
    parser.add_argument("--iters", type=int, help="training iterations (default RAE.TRANSLATOR.MAX_ITER)")
    parser.add_argument("--resume", action="store_true", help="continue from --output-dir's translator.pth")
    parser.add_argument("--translate", metavar="DIR", help="write the translated source training set under DIR")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing translator.pth (without --resume) or --translate DIR")
    parser.add_argument("--grid-images", type=int, default=8, help="columns of translations.png")
    parser.add_argument("--no-progress", action="store_true", help="no tqdm progress bars")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides, KEY VALUE ...")
    return parser


def setup(args):
    cfg = get_cfg()
    add_rae_config(cfg)
    merge_config(cfg, args.config_file, args.opts)
    if args.iters is not None:
        cfg.RAE.TRANSLATOR.MAX_ITER = args.iters
    cfg.freeze()
    os.makedirs(args.output_dir, exist_ok=True)
    setup_logger(args.output_dir, name="fastreid_rae")
    return cfg


def main(args):
    cfg = setup(args)
    trainer = TranslatorTrainer(cfg, args.output_dir)
    if args.resume:
        trainer.resume()
    elif trainer.checkpoint_path.exists() and not args.overwrite:
        raise ConfigError(f"{trainer.checkpoint_path} exists; pass --resume to continue it or --overwrite")
    trainer.train(progress=not args.no_progress)

    size = cfg.INPUT.SIZE_TRAIN
    source = first_images(train_image_paths(single_source_name(cfg), cfg.DATASETS.ROOT), size, args.grid_images)
    target = first_images(train_image_paths(cfg.DATASETS.TARGET, cfg.DATASETS.ROOT), size, len(source))
    device = trainer.device
    grid = save_translation_grid(os.path.join(args.output_dir, GRID_NAME), trainer.translator,
                                 source.to(device), target.to(device))
    print(f"checkpoint: {trainer.checkpoint_path}\npicture grid: {grid}")
    if args.translate:
        root = translate_source_train_set(cfg, trainer.translator.generator_s2t, args.translate,
                                          checkpoint=str(trainer.checkpoint_path), overwrite=args.overwrite,
                                          progress=not args.no_progress)
        print(f"translated source set: {root} (RAE.TRANSLATOR.TRANSLATED_ROOT)")


if __name__ == "__main__":
    arguments = argument_parser().parse_args()
    try:
        main(arguments)
    except (ConfigError, DatasetLayoutError, FileExistsError) as error:  # the user's to fix
        sys.exit(f"error: {error}")
