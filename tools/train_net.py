#!/usr/bin/env python
"""Train or evaluate RAE (and fastreid models) with fastreid's command line.

    python tools/train_net.py --config-file configs/RAE/duke2market.yml [--resume]
    python tools/train_net.py --config-file ... --eval-only MODEL.WEIGHTS path/to/model.pth
    python tools/train_net.py --config-file ... KEY VALUE [KEY VALUE ...]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import fastreid_rae  # noqa: E402  (fastreid compat shims + registrations, before fastreid)
from fastreid.config import get_cfg  # noqa: E402
from fastreid.engine import default_argument_parser, default_setup, launch  # noqa: E402
from fastreid.utils import comm  # noqa: E402
from fastreid.utils.checkpoint import Checkpointer  # noqa: E402
from fastreid.utils.logger import setup_logger  # noqa: E402

from fastreid_rae.config import add_rae_config  # noqa: E402
from fastreid_rae.engine import UDATrainer  # noqa: E402


def setup(args):
    cfg = get_cfg()
    add_rae_config(cfg)
    cfg.merge_from_file(args.config_file)
    cfg.merge_from_list(args.opts)
    cfg.freeze()
    default_setup(cfg, args)
    # default_setup gives only fastreid's own loggers a handler; ours log to the same files
    setup_logger(cfg.OUTPUT_DIR, distributed_rank=comm.get_rank(), name="fastreid_rae")
    return cfg


def main(args):
    cfg = setup(args)

    if args.eval_only:
        cfg.defrost()
        cfg.MODEL.BACKBONE.PRETRAIN = False
        model = UDATrainer.build_model(cfg)
        Checkpointer(model).load(cfg.MODEL.WEIGHTS)
        return UDATrainer.test(cfg, model)

    trainer = UDATrainer(cfg)
    trainer.resume_or_load(resume=args.resume)
    return trainer.train()


if __name__ == "__main__":
    args = default_argument_parser().parse_args()
    print("Command Line Args:", args)
    launch(
        main,
        args.num_gpus,
        num_machines=args.num_machines,
        machine_rank=args.machine_rank,
        dist_url=args.dist_url,
        args=(args,),
    )
