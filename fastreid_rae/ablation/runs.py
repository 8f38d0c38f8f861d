"""Train variants x seeds with tools/train_net.py, one subprocess a run, resumably.

Each run goes to ``OUTPUT_ROOT/<variant>/seed<k>``. fastreid evaluates before it checkpoints
(``DefaultTrainer.build_hooks``), so ``model_final.pth`` appears only after the last
evaluation has written ``results.json``: with both, a run is finished and never repeated.
Any other run is (re)started with ``--resume``: fastreid continues from the folder's
``last_checkpoint`` when there is one and starts from ``MODEL.WEIGHTS`` otherwise, and
train_net's check that a folder holds no other run accepts what an attempt that crashed
before its first checkpoint left behind.
"""
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Sequence

from ..evaluation.results import RESULTS_FILE, read_final_metrics
from .variants import Variant, adapts_source_model, check_overrides, load_config

TRAIN_NET = Path(__file__).resolve().parents[2] / "tools" / "train_net.py"
TRAIN_LOG = "train_net.out"  # the subprocess's stdout and stderr, next to fastreid's log.txt
LOG_TAIL_LINES = 30

NEW, PARTIAL, FINISHED = "new", "partial", "finished"


@dataclass(frozen=True)
class Run:
    variant: Variant
    seed: int
    output_dir: Path
    weights: Optional[Path] = None  # MODEL.WEIGHTS: another run's model_final.pth


def plan_runs(variants: Sequence[Variant], seeds: Sequence[int], output_root,
              init_from: Optional[str] = None) -> List[Run]:
    """Every variant x seed. ``init_from``: the name of one of the variants (e.g.
    direct_transfer, a source-only run) whose model of the same seed the variants whose
    config adapts a source model (``adapts_source_model``) load as MODEL.WEIGHTS, as UDA
    methods start from a source-trained model; its runs come first."""
    seeds = list(dict.fromkeys(int(seed) for seed in seeds))  # a repeated seed: one run
    if not seeds:
        raise ValueError("no seeds given: each variant needs at least one run")
    root = Path(output_root).resolve()
    if init_from is not None:
        names = [variant.name for variant in variants]
        if init_from not in names:
            raise ValueError(f"--init-from {init_from!r} is not one of the variants {names}")
        variants = sorted(variants, key=lambda variant: variant.name != init_from)  # stable
    adapting = {variant.name for variant in variants
                if init_from is not None and variant.name != init_from and adapts_source_model(variant)}

    def weights(variant: Variant, seed: int) -> Optional[Path]:
        return root / init_from / f"seed{seed}" / "model_final.pth" if variant.name in adapting else None

    return [Run(variant, seed, root / variant.name / f"seed{seed}", weights(variant, seed))
            for variant in variants for seed in seeds]


def run_state(output_dir) -> str:
    """FINISHED (trained and evaluated), PARTIAL (a checkpoint to resume from) or NEW."""
    output_dir = Path(output_dir)
    if (output_dir / "model_final.pth").is_file() and (output_dir / RESULTS_FILE).is_file():
        return FINISHED
    if (output_dir / "last_checkpoint").is_file():
        return PARTIAL
    return NEW


def run_overrides(run: Run, overrides: Sequence = ()) -> list:
    """The user's overrides, then the variant's, then the run's own weights, seed and folder."""
    weights = ["MODEL.WEIGHTS", run.weights] if run.weights is not None else []
    return [*overrides, *run.variant.overrides, *weights, "SEED", run.seed, "OUTPUT_DIR", run.output_dir]


def train_command(run: Run, overrides: Sequence = (), python: str = sys.executable,
                  train_script=TRAIN_NET) -> List[str]:
    return [python, str(train_script), "--config-file", str(run.variant.config_file), "--resume",
            *(str(item) for item in run_overrides(run, overrides))]


def headline(output_dir) -> str:
    """'Market1501 mAP 40.1 Rank-1 50.2' for each test set of a finished run."""
    return "; ".join(f"{dataset} mAP {m['mAP']:.1f} Rank-1 {m['Rank-1']:.1f}"
                     for dataset, m in sorted(read_final_metrics(output_dir).items()))


def _log_tail(path: Path) -> str:
    lines = path.read_text(errors="replace").splitlines() if path.is_file() else []
    return "\n".join(lines[-LOG_TAIL_LINES:])


def train(run: Run, command: Sequence[str], on_output: Optional[Callable[[str], None]] = None) -> None:
    """Run ``command``, its output appended to the run's train_net.out (and each line handed
    to ``on_output``, e.g. to show progress); raise unless the run is then finished."""
    run.output_dir.mkdir(parents=True, exist_ok=True)
    log_path = run.output_dir / TRAIN_LOG
    with open(log_path, "a") as log:  # appended: a resumed run keeps its earlier attempts' log
        process = subprocess.Popen(list(command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, bufsize=1)
        for line in process.stdout:
            log.write(line)
            if on_output is not None:
                on_output(line)
        returncode = process.wait()
    where = f"{run.variant.config_file}, seed {run.seed}"
    if returncode != 0:
        raise RuntimeError(f"{where}: tools/train_net.py exited with {returncode}; full log in "
                           f"{log_path}, its end:\n{_log_tail(log_path)}")
    if run_state(run.output_dir) != FINISHED:
        raise RuntimeError(f"{where}: training ended without model_final.pth and {RESULTS_FILE} "
                           f"in {run.output_dir} (is TEST.EVAL_PERIOD > 0?); see {log_path}")


def check_configs(runs: Sequence[Run], overrides: Sequence = ()) -> None:
    """Merge every variant's config as its runs will, so that a bad file or key stops the
    whole list, naming the file, before hours of training."""
    check_overrides(overrides)
    for variant in dict.fromkeys(run.variant for run in runs):
        load_config(variant, [*overrides, "SEED", 0])


def execute(runs: Sequence[Run], overrides: Sequence = (), python: str = sys.executable,
            train_script=TRAIN_NET, progress: Callable[[str], None] = print,
            on_output: Optional[Callable[[str], None]] = None) -> None:
    """Train every unfinished run, one after the other, with a progress line as each starts
    and ends (or is found finished); ``on_output`` sees every line a run prints."""
    check_configs(runs, overrides)
    for index, run in enumerate(runs, start=1):
        state = run_state(run.output_dir)
        prefix = f"[{index}/{len(runs)}] {run.variant.name} seed {run.seed}"
        if state == FINISHED:
            progress(f"{prefix}: finished earlier, kept: {headline(run.output_dir)}")
            continue
        progress(f"{prefix}: {'resuming' if state == PARTIAL else 'training'} in {run.output_dir}")
        start = time.time()
        train(run, train_command(run, overrides, python=python, train_script=train_script), on_output)
        progress(f"{prefix}: done in {time.time() - start:.0f} s: {headline(run.output_dir)}")
