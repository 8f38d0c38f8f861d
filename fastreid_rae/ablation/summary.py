"""Metrics of finished runs, as mean and spread over seeds, and the Markdown table of them."""
import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from ..engine.config_loading import ConfigError
from ..evaluation.results import read_final_metrics
from .runs import Run

# fastreid's ReidEvaluator keys, in percent, in the order of the paper's tables
METRICS = ("mAP", "Rank-1", "Rank-5", "Rank-10")


@dataclass(frozen=True)
class Summary:
    """One variant over its seeds. ``std`` is the sample standard deviation (n - 1), None for
    a single seed: one run says nothing about the spread."""
    name: str
    num_seeds: int
    mean: Dict[str, float]
    std: Dict[str, Optional[float]]


def evaluated_test_set(run: Run, dataset: Optional[str] = None) -> str:
    """``dataset`` if the run was evaluated on it, else the run's only test set (a ConfigError,
    as a wrong --dataset is the command line's)."""
    evaluated = sorted(read_final_metrics(run.output_dir))
    if dataset is None:
        if len(evaluated) != 1:
            raise ConfigError(f"{run.output_dir} was evaluated on {evaluated}; name the test set "
                              "to tabulate (--dataset)")
        return evaluated[0]
    if dataset not in evaluated:
        raise ConfigError(f"{run.output_dir} has no results for {dataset!r}, only {evaluated} "
                          f"({run.variant.config_file})")
    return dataset


def run_metrics(run: Run, dataset: Optional[str] = None) -> Dict[str, float]:
    """The run's last evaluation on ``dataset`` (default: its only test set)."""
    return read_final_metrics(run.output_dir)[evaluated_test_set(run, dataset)]


def mean_and_std(values: Sequence[float]):
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, None
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def summarise(runs: Sequence[Run], dataset: Optional[str] = None) -> List[Summary]:
    """One summary per variant, in the order the variants first appear in ``runs``."""
    by_variant = {}
    for run in runs:
        by_variant.setdefault(run.variant.name, []).append(run_metrics(run, dataset))
    summaries = []
    for name, per_seed in by_variant.items():
        spread = {metric: mean_and_std([m[metric] for m in per_seed]) for metric in METRICS}
        summaries.append(Summary(name, len(per_seed), {k: v[0] for k, v in spread.items()},
                                 {k: v[1] for k, v in spread.items()}))
    return summaries


def _cell(mean: float, std: Optional[float]) -> str:
    return f"{mean:.1f}" if std is None else f"{mean:.1f} ± {std:.1f}"


def markdown_table(summaries: Sequence[Summary], first_column: str = "config") -> str:
    header = [first_column, *METRICS, "seeds"]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for s in summaries:
        cells = [s.name, *(_cell(s.mean[m], s.std[m]) for m in METRICS), str(s.num_seeds)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
