"""Read the metrics a finished run left in its output folder.

fastreid's ``JSONWriter`` appends one JSON object per logging period to
``OUTPUT_DIR/metrics.json``; evaluation results appear there as ``"<dataset>/<metric>"``.
"""
import json
import math
from pathlib import Path


def read_final_metrics(output_dir):
    """``{dataset: {metric: value}}`` from the last evaluation recorded in ``output_dir``.

    Raises FileNotFoundError when the run wrote no metrics file, ValueError when it holds no
    evaluation (the run stopped before its first test).
    """
    path = Path(output_dir) / "metrics.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: no finished fastreid run in {output_dir}")
    last = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by an interrupted write
            evaluated = {k: v for k, v in record.items() if "/" in k and k.split("/")[1] == "mAP"}
            if evaluated:
                last = record
    if not last:
        raise ValueError(f"{path} holds no evaluation result (keys like 'Market1501/mAP')")
    results = {}
    for key, value in last.items():
        if "/" in key and isinstance(value, (int, float)) and math.isfinite(value):
            dataset, metric = key.split("/", 1)
            results.setdefault(dataset, {})[metric] = float(value)
    return results
