"""The metrics of a run, kept in its output folder as ``results.json``.

fastreid logs evaluation tables but keeps no machine-readable record of them (its
``metrics.json`` misses the evaluation at the end of training), so the trainer writes one
after every evaluation and tools (the demo, the ablation runner) read it back.
"""
import json
import os
from pathlib import Path

RESULTS_FILE = "results.json"


def write_results(output_dir, results):
    """Write ``{dataset: {metric: value}}`` atomically: a crash never leaves half a file."""
    path = Path(output_dir) / RESULTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    clean = {dataset: {metric: float(value) for metric, value in metrics.items()}
             for dataset, metrics in results.items()}
    tmp.write_text(json.dumps(clean, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def read_final_metrics(output_dir):
    """``{dataset: {metric: value}}`` of the last evaluation of the run in ``output_dir``."""
    path = Path(output_dir) / RESULTS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: the run in {output_dir} has not been "
                                "evaluated yet")
    return json.loads(path.read_text())
