"""The two experiments of the command line, each trained then reported in OUTPUT_ROOT:
the component ablation (Table IV: ablation.md + ablation.png) and the loss-weight sweep
(Fig. 6: sweep.md + sweep.png)."""
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .plots import bar_chart, sweep_plot
from .runs import TRAIN_NET, execute, plan_runs
from .summary import Summary, evaluated_test_set, markdown_table, summarise
from .variants import SWEEP_KEYS, Variant, sweep_variants


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _header(title: str, test_set: str, seeds: Sequence[int]) -> str:
    return (f"# {title}\n\nTest set: {test_set}. Mean ± sample standard deviation over seeds "
            f"{', '.join(map(str, seeds))} (one seed: the mean alone), in %.\n\n")


def _train_and_summarise(variants: Sequence[Variant], seeds: Sequence[int], output_root: Path,
                         overrides: Sequence, dataset: Optional[str],
                         init_from: Optional[str] = None, **launch) -> Tuple[List[Summary], str]:
    """Each variant's summary over its seeds, and the test set they are of."""
    runs = plan_runs(variants, seeds, output_root, init_from)
    execute(runs, overrides, **launch)
    summaries = {summary.name: summary for summary in summarise(runs, dataset)}
    # the table keeps the order the configs were given in
    return [summaries[variant.name] for variant in variants], evaluated_test_set(runs[0], dataset)


def ablation(variants: Sequence[Variant], seeds: Sequence[int], output_root, overrides: Sequence = (),
             dataset: Optional[str] = None, init_from: Optional[str] = None,
             python: str = sys.executable, train_script=TRAIN_NET,
             progress: Callable[[str], None] = print) -> Dict[str, Path]:
    """Train each variant x seed, then write the table and the bar chart of all of them.
    Variants: one per config file (``config_variants``) or a setting's rows
    (``row_variants``). ``init_from``: see ``plan_runs``."""
    output_root = Path(output_root).resolve()
    summaries, test_set = _train_and_summarise(
        variants, seeds, output_root, overrides, dataset, init_from,
        python=python, train_script=train_script, progress=progress)
    text = _header("Component ablation (Table IV)", test_set, seeds) + markdown_table(summaries)
    table = _write(output_root / "ablation.md", text)
    chart = bar_chart(summaries, output_root / "ablation.png",
                      title=f"{test_set}: component ablation")
    return {"table": table, "chart": chart}


def sweep(config_file, values: Sequence[float], seeds: Sequence[int], output_root,
          params: Sequence[str] = tuple(SWEEP_KEYS), overrides: Sequence = (),
          dataset: Optional[str] = None, python: str = sys.executable, train_script=TRAIN_NET,
          progress: Callable[[str], None] = print) -> Dict[str, Path]:
    """Train ``config_file`` at each value of each loss weight x seed, then write one table per
    weight and the line plot of mAP / Rank-1 against it."""
    output_root = Path(output_root).resolve()
    curves = sweep_variants(config_file, values, params, overrides)
    # the configured point is on every curve: one run
    variants = list(dict.fromkeys(variant for curve in curves.values() for _, variant in curve))
    summaries, test_set = _train_and_summarise(
        variants, seeds, output_root, overrides, dataset, python=python,
        train_script=train_script, progress=progress)
    by_name = {summary.name: summary for summary in summaries}
    points = {param: [(value, by_name[variant.name]) for value, variant in curve]
              for param, curve in curves.items()}
    text = _header(f"Loss-weight sweep (Fig. 6) of {Path(config_file).name}", test_set, seeds)
    text += "\n".join(f"## {param} ({SWEEP_KEYS[param]})\n\n" + markdown_table(
        [summary for _, summary in points[param]], first_column="run") for param in points)
    table = _write(output_root / "sweep.md", text)
    chart = sweep_plot(points, output_root / "sweep.png", title=f"{test_set}: loss-weight sweep")
    return {"table": table, "chart": chart}
