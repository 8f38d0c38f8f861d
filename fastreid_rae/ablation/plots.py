"""PNG pictures of summaries: the ablation's bar chart and Fig. 6's lambda sweep."""
import math
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

# Figure, not pyplot: it renders to PNG with Agg without touching the process-wide backend
# (training machines have no display) and needs no closing.
from matplotlib.figure import Figure

from .summary import METRICS, Summary

SWEEP_METRICS = ("mAP", "Rank-1")  # Fig. 6's two curves


def _errors(summaries: Sequence[Summary], metric: str) -> List[float]:
    # a single seed has no spread: NaN draws no error bar, where 0 would draw caps that read as exact
    return [math.nan if s.std[metric] is None else s.std[metric] for s in summaries]


def value_axis_label(summaries: Sequence[Summary]) -> str:
    counts = sorted({s.num_seeds for s in summaries})
    if counts == [1]:
        return "% (one seed)"
    seeds = str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
    return f"% (mean ± std over {seeds} seeds)"


def _save(fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path


def bar_chart(summaries: Sequence[Summary], path, title: str = "") -> Path:
    """Grouped bars, one group per variant, one bar per metric, +- one std over seeds."""
    width = 0.8 / len(METRICS)
    fig = Figure(figsize=(max(6.0, 1.1 * len(summaries) + 2), 4.5), layout="constrained")
    ax = fig.subplots()
    for offset, metric in enumerate(METRICS):
        positions = [i + (offset - (len(METRICS) - 1) / 2) * width for i in range(len(summaries))]
        ax.bar(positions, [s.mean[metric] for s in summaries], width,
               yerr=_errors(summaries, metric), capsize=2, label=metric)
    ax.set_xticks(range(len(summaries)))
    ax.set_xticklabels([s.name for s in summaries], rotation=30, ha="right")
    ax.set_ylabel(value_axis_label(summaries))
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))  # off the bars
    return _save(fig, path)


def sweep_plot(points: Dict[str, List[Tuple[float, Summary]]], path, title: str = "") -> Path:
    """One panel per swept parameter: mAP and Rank-1 (+- std) against its value."""
    fig = Figure(figsize=(5 * len(points), 4), layout="constrained")
    axes = fig.subplots(1, len(points), squeeze=False)
    for ax, (param, curve) in zip(axes[0], points.items()):
        curve = sorted(curve, key=lambda point: point[0])
        values = [value for value, _ in curve]
        for metric in SWEEP_METRICS:
            ax.errorbar(values, [s.mean[metric] for _, s in curve],
                        yerr=_errors([s for _, s in curve], metric), marker="o", capsize=3,
                        label=metric)
        # the paper's values span decades (Sec. IV-E: robust below 10, worse above)
        if min(values) > 0 and max(values) / min(values) >= 10:
            ax.set_xscale("log")
        ax.set_xlabel(param)
        ax.set_ylabel(value_axis_label([s for _, s in curve]))
        ax.legend(fontsize="small")
    fig.suptitle(title)
    return _save(fig, path)
