#!/usr/bin/env python
"""The demo behind `make demo`: a synthetic two-domain world, a few CPU trainings, one table.

    python tools/demo.py --output demo_output

Writes the `small` synthetic world (Duke-like source, Market-like target) to OUTPUT/world,
trains each run with tools/train_net.py into OUTPUT/<run>, and prints mAP / Rank-1 / Rank-5
of each on the target domain's query/gallery. Finished runs are not repeated; an
interrupted one resumes from its last checkpoint.
"""
import argparse
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import fastreid_rae  # noqa: E402,F401
from fastreid_rae.data.synthetic import generate_world  # noqa: E402
from fastreid_rae.data.synthetic.world import load_world_card  # noqa: E402
from fastreid_rae.evaluation import read_final_metrics  # noqa: E402

TARGET_TEST_SET = "Market1501"

# (run folder, what it is, config)
RUNS = [
    ("direct_transfer", "Direct transfer (source labels only)",
     "configs/Supervised/synthetic_duke2market_direct.yml"),
    ("target_supervised", "Target-supervised (upper bound, uses target labels)",
     "configs/Supervised/synthetic_market_supervised.yml"),
]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=REPO / "demo_output")
    parser.add_argument("--preset", default="small")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", default=",".join(name for name, _, _ in RUNS),
                        help="comma-separated subset of: %(default)s")
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


def finished_metrics(run_dir):
    if not (run_dir / "model_final.pth").is_file():
        return None
    try:
        return read_final_metrics(run_dir)[TARGET_TEST_SET]
    except (FileNotFoundError, KeyError):
        return None


def train(config, world, run_dir):
    """Run tools/train_net.py; its full log goes to run_dir/train_stdout.log, progress here."""
    run_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, str(REPO / "tools" / "train_net.py"), "--config-file",
               str(REPO / config), "--resume", "DATASETS.ROOT", str(world),
               "OUTPUT_DIR", str(run_dir)]
    log_path = run_dir / "train_stdout.log"
    with open(log_path, "a") as log:
        process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, bufsize=1)
        for line in process.stdout:
            log.write(line)
            if " eta: " in line:
                print("    " + line.split("]:", 1)[-1].strip()[:110], flush=True)
        if process.wait() != 0:
            raise SystemExit(f"[demo] training failed (exit {process.returncode}); "
                             f"see {log_path}")


def main(argv=None):
    args = parse_args(argv)
    output = args.output.resolve()
    world = output / "world"
    ensure_world(world, args.preset, args.seed)

    wanted = args.runs.split(",")
    unknown = sorted(set(wanted) - {name for name, _, _ in RUNS})
    if unknown:
        raise SystemExit(f"[demo] unknown run(s) {unknown}; valid: {[n for n, _, _ in RUNS]}")

    rows = []
    for name, title, config in RUNS:
        if name not in wanted:
            continue
        run_dir = output / name
        metrics = finished_metrics(run_dir)
        if metrics is None:
            print(f"[demo] training: {title}  ({config})")
            start = time.time()
            train(config, world, run_dir)
            print(f"[demo] done in {time.time() - start:.0f} s")
            metrics = finished_metrics(run_dir)
        else:
            print(f"[demo] already trained: {title} ({run_dir})")
        rows.append((title, metrics, run_dir))

    table = ["| run | mAP | Rank-1 | Rank-5 | output |", "|---|---:|---:|---:|---|"]
    table += [f"| {title} | {m['mAP']:.1f} | {m['Rank-1']:.1f} | {m['Rank-5']:.1f} | {d} |"
              for title, m, d in rows]
    text = "\n".join(table)
    (output / "demo_results.md").write_text(
        f"Target test set: {TARGET_TEST_SET} layout of the synthetic world in {world}\n\n"
        + text + "\n")
    print(f"\nResults on the target domain ({TARGET_TEST_SET}-like, synthetic):\n{text}\n")
    print(f"[demo] table saved to {output / 'demo_results.md'}")


if __name__ == "__main__":
    main()
