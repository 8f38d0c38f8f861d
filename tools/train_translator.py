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

A bad config, dataset, folder or checkpoint stops the tool before it trains or writes, with
one error naming the file, key or flag (docs/errors.md, "tools/train_translator.py").
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import fastreid_rae  # noqa: E402  (fastreid compat shims + registrations, before fastreid)
from fastreid.config import get_cfg  # noqa: E402
from fastreid.utils.logger import setup_logger  # noqa: E402

from fastreid_rae.cli import output_folder, positive_int  # noqa: E402
from fastreid_rae.config import add_rae_config  # noqa: E402
from fastreid_rae.engine.config_loading import merge_config  # noqa: E402
from fastreid_rae.engine.preflight import INPUT_ERRORS  # noqa: E402
from fastreid_rae.engine.run_folder import left_as_found_if_refused  # noqa: E402
from fastreid_rae.translation import TranslatorTrainer, save_translation_grid, translate_source_train_set  # noqa: E402
from fastreid_rae.data.datasets import dataset_arguments  # noqa: E402
from fastreid_rae.translation.data import domain_names, first_images, train_image_paths  # noqa: E402
from fastreid_rae.translation.preflight import preflight_translator  # noqa: E402

GRID_NAME = "translations.png"


def argument_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config-file", required=True, metavar="FILE")
    parser.add_argument("--output-dir", required=True, type=output_folder,
                        help="where translator.pth and translations.png go")
    parser.add_argument("--iters", type=positive_int, help="training iterations (default RAE.TRANSLATOR.MAX_ITER)")
    parser.add_argument("--resume", action="store_true", help="continue from --output-dir's translator.pth")
    parser.add_argument("--translate", metavar="DIR", type=output_folder,
                        help="write the translated source training set under DIR")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing translator.pth (without --resume) or --translate DIR")
    parser.add_argument("--grid-images", type=positive_int, default=8, help="columns of translations.png")
    parser.add_argument("--no-progress", action="store_true", help="no tqdm progress bars")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides, KEY VALUE ...")
    return parser


def setup(args):
    """The merged config, checked with the folders and datasets before anything is written."""
    cfg = get_cfg()
    add_rae_config(cfg)
    merge_config(cfg, args.config_file, args.opts)
    if args.iters is not None:
        cfg.RAE.TRANSLATOR.MAX_ITER = args.iters
    cfg.freeze()
    preflight_translator(cfg, str(args.output_dir), args.resume, args.overwrite,
                         args.translate and str(args.translate))
    return cfg


def main(args):
    cfg = setup(args)
    # a checkpoint that cannot be resumed leaves --output-dir as it was, log.txt included
    with left_as_found_if_refused(args.output_dir):
        os.makedirs(args.output_dir, exist_ok=True)
        setup_logger(str(args.output_dir), name="fastreid_rae")
        trainer = TranslatorTrainer(cfg, args.output_dir)
        if args.resume:
            trainer.resume()
    trainer.train(progress=not args.no_progress)

    size = cfg.INPUT.SIZE_TRAIN
    source_name, target_name = domain_names(cfg)
    source_paths = train_image_paths(source_name, cfg.DATASETS.ROOT)
    target_paths = train_image_paths(target_name, cfg.DATASETS.ROOT, **dataset_arguments(cfg, target_name))
    columns = min(args.grid_images, len(source_paths), len(target_paths))
    source, target = (first_images(paths, size, columns) for paths in (source_paths, target_paths))
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
    except INPUT_ERRORS as error:  # the user's to fix: the message names the file, key or flag
        sys.exit(f"error: {error}")
