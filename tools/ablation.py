#!/usr/bin/env python
"""Table IV and Fig. 6, measured: train configs x seeds with tools/train_net.py, then tabulate
and plot mean ± std of mAP / Rank-1 / Rank-5 / Rank-10 on the target test set.

    python tools/ablation.py run configs/RAE/ablation/synthetic/*.yml --seeds 0 1 2 \\
        --init-from direct_transfer \\
        --output-root logs/ablation/synthetic --opts DATASETS.ROOT datasets/synthetic
    python tools/ablation.py sweep configs/RAE/synthetic/duke2market.yml --values 0.1 1 10 100 \\
        --seeds 0 1 2 --output-root logs/sweep/synthetic --opts DATASETS.ROOT datasets/synthetic

Each run trains into OUTPUT_ROOT/<config name or lambda_value>/seed<k> with SEED k;
run it again and finished runs are kept, interrupted ones resume from their last checkpoint.
`--init-from NAME`: every other config adapts the model of config NAME (a source-only run,
trained first) of the same seed, as the synthetic ablation rows expect.
`run` writes OUTPUT_ROOT/ablation.md and ablation.png, `sweep` sweep.md and sweep.png.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import fastreid_rae  # noqa: E402,F401  (fastreid compat shims, before fastreid)
from fastreid_rae.ablation import SWEEP_KEYS, ablation, sweep  # noqa: E402
from fastreid_rae.engine.config_loading import ConfigError  # noqa: E402

# the user's to fix (a config, a path, a failed run whose log is quoted): the message, not a
# traceback
USER_ERRORS = (ConfigError, FileNotFoundError, RuntimeError, ValueError)


def _common(parser):
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--output-root", required=True,
                        help="each run goes to OUTPUT_ROOT/<name>/seed<k>; the report beside them")
    parser.add_argument("--dataset", default=None,
                        help="test set to report (default: the runs' only one)")
    parser.add_argument("--opts", nargs=argparse.REMAINDER, default=[],
                        help="KEY VALUE config overrides for every run (last on the line)")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="the component ablation: several configs")
    run.add_argument("configs", nargs="+",
                     help="config files, e.g. configs/RAE/ablation/synthetic/*.yml")
    run.add_argument("--init-from", default=None, metavar="NAME",
                     help="config name (e.g. direct_transfer) whose model_final.pth of the same "
                          "seed is every other config's MODEL.WEIGHTS; trained first")
    _common(run)
    lambdas = commands.add_parser("sweep", help="Fig. 6: one config at several loss weights")
    lambdas.add_argument("config")
    lambdas.add_argument("--values", type=float, nargs="+", required=True)
    lambdas.add_argument("--params", nargs="+", choices=sorted(SWEEP_KEYS),
                         default=sorted(SWEEP_KEYS))
    _common(lambdas)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    common = dict(seeds=args.seeds, output_root=args.output_root, overrides=args.opts,
                  dataset=args.dataset, progress=lambda line: print(line, flush=True))
    try:
        if args.command == "run":
            written = ablation(args.configs, init_from=args.init_from, **common)
        else:
            written = sweep(args.config, args.values, params=args.params, **common)
    except USER_ERRORS as error:
        sys.exit(f"error: {error}")
    print(written["table"].read_text())
    print(f"table: {written['table']}\nchart: {written['chart']}")


if __name__ == "__main__":
    main()
