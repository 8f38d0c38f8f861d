#!/usr/bin/env python
"""Train or evaluate RAE (and fastreid models) with fastreid's command line.

    python tools/train_net.py --config-file configs/RAE/duke2market.yml [--resume | --overwrite]
    python tools/train_net.py --config-file ... --eval-only MODEL.WEIGHTS path/to/model.pth
    python tools/train_net.py --config-file ... KEY VALUE [KEY VALUE ...]

A bad config, dataset or OUTPUT_DIR stops the run before anything is built or written, with
one error naming the file or key (docs/errors.md); a start refused later (a checkpoint that
does not fit) leaves OUTPUT_DIR byte for byte as it was.
"""
import os
import sys
from contextlib import nullcontext

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import fastreid_rae  # noqa: E402  (fastreid compat shims + registrations, before fastreid)
from fastreid.config import get_cfg  # noqa: E402
from fastreid.engine import default_argument_parser, default_setup  # noqa: E402
from fastreid.utils import comm  # noqa: E402
from fastreid.utils.checkpoint import Checkpointer  # noqa: E402
from fastreid.utils.logger import setup_logger  # noqa: E402

from fastreid_rae.config import add_rae_config  # noqa: E402
from fastreid_rae.engine import UDATrainer  # noqa: E402
from fastreid_rae.engine.checkpoint import sized_to_checkpoint  # noqa: E402
from fastreid_rae.engine.config_loading import merge_config  # noqa: E402
from fastreid_rae.engine.divergence import DivergedError  # noqa: E402
from fastreid_rae.engine.launch import launch  # noqa: E402
from fastreid_rae.engine.rae_step import NonFiniteLossError  # noqa: E402
from fastreid_rae.engine.run_folder import (  # noqa: E402
    eval_output_dir, left_as_found_if_refused, undone_if_the_start_fails)
from fastreid_rae.engine.preflight import INPUT_ERRORS, check_command_line, preflight  # noqa: E402


def argument_parser():
    parser = default_argument_parser()
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the run already in OUTPUT_DIR instead of refusing to start")
    return parser


def load_config(args):
    cfg = get_cfg()
    add_rae_config(cfg)
    merge_config(cfg, args.config_file, args.opts)  # errors name the file and the key
    cfg.freeze()
    return cfg


def setup(args):
    cfg = load_config(args)
    if args.eval_only and cfg.OUTPUT_DIR:
        cfg.defrost()
        cfg.OUTPUT_DIR = eval_output_dir(cfg.OUTPUT_DIR, cfg.MODEL.WEIGHTS)
        cfg.freeze()
    if comm.is_main_process():  # once, before default_setup writes config.yaml
        preflight(cfg, args)
    return cfg


def main(args):
    cfg = setup(args)
    owner = comm.is_main_process()  # rank 0 alone writes OUTPUT_DIR
    with undone_if_the_start_fails(cfg.OUTPUT_DIR) if owner else nullcontext():
        with left_as_found_if_refused(cfg.OUTPUT_DIR) if owner else nullcontext():
            default_setup(cfg, args)
            # default_setup gives only fastreid's own loggers a handler; ours log to the same files
            setup_logger(cfg.OUTPUT_DIR, distributed_rank=comm.get_rank(), name="fastreid_rae")
            run = prepared_run(cfg, args)
        return run()


def prepared_run(cfg, args):
    """The evaluation or the training, ready to start: the model loaded, or the trainer built
    and resumed. What can still refuse the run (a checkpoint that does not fit) happens here."""
    if args.eval_only:
        cfg = sized_to_checkpoint(cfg, cfg.MODEL.WEIGHTS)
        cfg.defrost()
        cfg.MODEL.BACKBONE.PRETRAIN = False
        model = UDATrainer.build_model(cfg)
        Checkpointer(model).load(cfg.MODEL.WEIGHTS)
        return lambda: UDATrainer.test(cfg, model)

    trainer = UDATrainer(cfg)
    trainer.resume_or_load(resume=args.resume)
    return trainer.train


if __name__ == "__main__":
    args = argument_parser().parse_args()
    print("Command Line Args:", args)
    try:
        check_command_line(args)  # before launch: --num-gpus 0 would start no process at all
        # MODEL.DEVICE cpu: --num-gpus N runs N gloo CPU processes
        launch(main, args.num_gpus, num_machines=args.num_machines, machine_rank=args.machine_rank,
               dist_url=args.dist_url, args=(args,), device=load_config(args).MODEL.DEVICE)
    # the user's to fix (the input, or the learning rates of a diverged run): the message
    # names what and where; a traceback would only bury it
    except INPUT_ERRORS + (DivergedError, NonFiniteLossError) as error:
        sys.exit(f"error: {error}")
