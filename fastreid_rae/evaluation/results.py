"""The metrics of a run, kept in its output folder as ``results.json``.

fastreid logs evaluation tables but keeps no machine-readable record of them (its
``metrics.json`` misses the evaluation at the end of training), so the trainer writes one
after every evaluation and tools (the demo, the ablation runner) read it back.
"""
import json
from pathlib import Path

from ..atomic import atomic_open

RESULTS_FILE = "results.json"


def write_results(output_dir, results):
    """Write ``{dataset: {metric: value}}`` atomically: a crash never leaves half a file."""
    path = Path(output_dir) / RESULTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    clean = {dataset: {metric: float(value) for metric, value in metrics.items()}
             for dataset, metrics in results.items()}
    with atomic_open(path, "w") as f:
        f.write(json.dumps(clean, indent=2, sort_keys=True) + "\n")


def read_final_metrics(output_dir):
    """``{dataset: {metric: value}}`` of the last evaluation of the run in ``output_dir``."""
    path = Path(output_dir) / RESULTS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: the run in {output_dir} has not been "
                                "evaluated yet")
    return json.loads(path.read_text())
