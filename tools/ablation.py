#!/usr/bin/env python
"""Table IV and Fig. 6, measured: train a setting's rows (or configs) x seeds with
tools/train_net.py, then tabulate and plot mean ± std of mAP / Rank-1 / Rank-5 / Rank-10 on the
target test set.

    python tools/ablation.py run configs/RAE/synthetic/duke2market.yml \\
        --rows direct_transfer baseline ft pt ft_pt ft_pt_f --seeds 0 1 2 \\
        --output-root logs/ablation/synthetic --opts DATASETS.ROOT datasets/synthetic
    python tools/ablation.py run configs/RAE/synthetic/duke2market.yml --rows mmcl mmcl_rae ...
    python tools/ablation.py run my_a.yml my_b.yml --init-from my_a --output-root ...
    python tools/ablation.py sweep configs/RAE/synthetic/duke2market.yml --values 0.1 1 10 100 \\
        --seeds 0 1 2 --output-root logs/sweep/synthetic --opts DATASETS.ROOT datasets/synthetic

`--rows`: rows of the one config given, a setting: Table IV's (direct_transfer, baseline, ft,
pt, ft_pt, ft_pt_f, pt_hat, ft_pt_hat, ft_pt_hat_f) and, for each pseudo-label backend X, "X"
and "X_rae" (fastreid_rae/ablation/rows.py). Rows that adapt the source model train the
direct_transfer row first and load its model of the same seed. PT-hat rows read
tools/train_translator.py's output: `--translator DIR` (trained with --output-dir DIR
--translate DIR/translated). Without `--rows`, each config file is one row, named by its file;
`--init-from NAME`: every other config adapts the model of config NAME of the same seed.
Each run trains into OUTPUT_ROOT/<row, config name or lambda_value>/seed<k> with SEED k; run
it again and finished runs are kept, interrupted ones resume from their last checkpoint.
`run` writes OUTPUT_ROOT/ablation.md and ablation.png, `sweep` sweep.md and sweep.png.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import fastreid_rae  # noqa: E402,F401  (fastreid compat shims, before fastreid)
from fastreid_rae.ablation import (SWEEP_KEYS, ablation, config_variants, row_names,  # noqa: E402
                                   row_variants, sweep)
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
    run = commands.add_parser("run", help="the component ablation: a setting's rows, or configs")
    run.add_argument("configs", nargs="+",
                     help="with --rows, one setting (e.g. configs/RAE/synthetic/duke2market.yml); "
                          "else config files, one row each")
    run.add_argument("--rows", nargs="+", metavar="ROW",
                     help=f"rows of the setting: {', '.join(row_names())}")
    run.add_argument("--translator", default=None, metavar="DIR",
                     help="PT-hat rows: tools/train_translator.py's --output-dir (translated set "
                          "in DIR/translated)")
    run.add_argument("--init-from", default=None, metavar="NAME",
                     help="without --rows: config name whose model_final.pth of the same seed is "
                          "every other config's MODEL.WEIGHTS; trained first")
    _common(run)
    lambdas = commands.add_parser("sweep", help="Fig. 6: one config at several loss weights")
    lambdas.add_argument("config")
    lambdas.add_argument("--values", type=float, nargs="+", required=True)
    lambdas.add_argument("--params", nargs="+", choices=sorted(SWEEP_KEYS),
                         default=sorted(SWEEP_KEYS))
    _common(lambdas)
    return parser.parse_args(argv)


def run_variants(args):
    """The variants ``run`` trains, and the one whose model the others adapt."""
    if args.rows is None:
        if args.translator is not None:
            raise ValueError("--translator goes with --rows (a setting's PT-hat rows)")
        return config_variants(args.configs), args.init_from
    if len(args.configs) != 1 or args.init_from is not None:
        raise ValueError("--rows takes one config, the setting, and no --init-from (rows that "
                         f"adapt a source model start from its direct_transfer row); got "
                         f"{len(args.configs)} config(s)")
    return row_variants(args.configs[0], args.rows, args.translator)


def main(argv=None):
    args = parse_args(argv)
    common = dict(seeds=args.seeds, output_root=args.output_root, overrides=args.opts,
                  dataset=args.dataset, progress=lambda line: print(line, flush=True))
    try:
        if args.command == "run":
            variants, init_from = run_variants(args)
            written = ablation(variants, init_from=init_from, **common)
        else:
            written = sweep(args.config, args.values, params=args.params, **common)
    except USER_ERRORS as error:
        sys.exit(f"error: {error}")
    print(written["table"].read_text())
    print(f"table: {written['table']}\nchart: {written['chart']}")


if __name__ == "__main__":
    main()
