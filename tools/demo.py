#!/usr/bin/env python
"""The demo behind `make demo`: a synthetic two-domain world, three CPU trainings, one table.

    python tools/demo.py --output demo_output

Writes the `small` synthetic world (Duke-like labelled source, Market-like unlabelled target)
to OUTPUT/world and trains, with tools/train_net.py, the rows of Table IV that tell the story:
direct transfer (source labels only; its Enc is the source model), then, each adapting that
Enc for the same epochs, the DBSCAN baseline (plus target pseudo-labels) and full RAE (plus
feature transfer, pixel transfer and fusion; its Dec first trains on the frozen Enc), each
into OUTPUT/<run>/seed<k>.
Then prints mAP / Rank-1 / Rank-5 of each on the target domain's query/gallery. Finished
runs are not repeated; an interrupted one resumes from its last checkpoint.
"""
import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import fastreid_rae  # noqa: E402,F401
from fastreid_rae.ablation.rows import row_variant, with_source_model  # noqa: E402
from fastreid_rae.ablation.runs import execute, plan_runs  # noqa: E402
from fastreid_rae.ablation.variants import Variant  # noqa: E402
from fastreid_rae.cli import output_folder  # noqa: E402
from fastreid_rae.data.synthetic import PRESETS, generate_world  # noqa: E402
from fastreid_rae.data.synthetic.world import load_world_card  # noqa: E402
from fastreid_rae.evaluation import read_final_metrics  # noqa: E402

TARGET_TEST_SET = "Market1501"
SETTING = REPO / "configs/RAE/synthetic/duke2market.yml"

# run name -> (what it is, the setting's Table IV row or a config); the first three are the default
RUNS = {
    "direct_transfer": ("Direct transfer (source labels only)", "direct_transfer"),
    "dbscan_baseline": ("DBSCAN baseline (+ target pseudo-labels)", "baseline"),
    "rae": ("RAE (baseline + FT + PT + F)", "ft_pt_f"),
    "target_supervised": ("Target-supervised (upper bound, uses target labels)",
                          REPO / "configs/Supervised/synthetic_market_supervised.yml"),
}
DEFAULT_RUNS = ("direct_transfer", "dbscan_baseline", "rae")
SOURCE_MODEL_RUN = "direct_transfer"  # its model_final.pth: MODEL.WEIGHTS of the runs adapting a source model


def run_variant(name: str) -> Variant:
    what = RUNS[name][1]
    if isinstance(what, Path):
        return Variant(name, what)
    return replace(row_variant(SETTING, what), name=name)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=output_folder, default=REPO / "demo_output")
    parser.add_argument("--preset", default="small", choices=sorted(PRESETS))
    parser.add_argument("--seed", type=int, default=0, help="world and training seed")
    parser.add_argument("--runs", default=",".join(DEFAULT_RUNS),
                        help=f"comma-separated subset of {', '.join(RUNS)} (default: %(default)s)")
    return parser.parse_args(argv)


def ensure_world(root, preset, seed):
    try:
        card = load_world_card(root)
        if card["preset"] == preset and card["seed"] == seed:
            print(f"[demo] using the synthetic world in {root}")
            return
    except FileNotFoundError:
        pass
    print(f"[demo] writing the '{preset}' synthetic world (seed {seed}) to {root}")
    generate_world(root, preset=preset, seed=seed, domains=("market", "duke"), overwrite=True,
                   workers=2)


def show_progress(line: str) -> None:
    """fastreid's periodic progress lines and our pseudo-label summaries, shortened."""
    if " eta: " in line or "pseudo-identities" in line:
        print("    " + line.split("]:", 1)[-1].strip()[:110], flush=True)


def main(argv=None):
    args = parse_args(argv)
    output = args.output.resolve()
    world = output / "world"
    wanted = args.runs.split(",")
    unknown = sorted(set(wanted) - set(RUNS))
    if unknown:
        raise SystemExit(f"[demo] unknown run(s) {unknown}; valid: {list(RUNS)}")
    ensure_world(world, args.preset, args.seed)

    variants, init_from = with_source_model([run_variant(name) for name in wanted],
                                            run_variant(SOURCE_MODEL_RUN))
    if init_from and SOURCE_MODEL_RUN not in wanted:
        print(f"[demo] the other runs adapt the {SOURCE_MODEL_RUN} model: training it first")
    runs = plan_runs(variants, [args.seed], output, init_from=init_from)
    start = time.time()
    execute(runs, ["DATASETS.ROOT", str(world)], progress=lambda line: print(f"[demo] {line}", flush=True),
            on_output=show_progress)
    print(f"[demo] all runs done in {time.time() - start:.0f} s")

    table = ["| run | mAP | Rank-1 | Rank-5 | output |", "|---|---:|---:|---:|---|"]
    for run in runs:
        metrics = read_final_metrics(run.output_dir)[TARGET_TEST_SET]
        table.append(f"| {RUNS[run.variant.name][0]} | {metrics['mAP']:.1f} | {metrics['Rank-1']:.1f} "
                     f"| {metrics['Rank-5']:.1f} | {run.output_dir} |")
    text = "\n".join(table)
    (output / "demo_results.md").write_text(
        f"Target test set: {TARGET_TEST_SET} layout of the synthetic world in {world}\n\n" + text + "\n")
    print(f"\nResults on the target domain ({TARGET_TEST_SET}-like, synthetic):\n{text}\n")
    print(f"[demo] table saved to {output / 'demo_results.md'}")


if __name__ == "__main__":
    main()
