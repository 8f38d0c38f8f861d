"""Time and peak memory of re-ID evaluation up to MSMT17 test size (11,659 x 82,161, d = 2048).

    .venv/bin/python benchmarks/evaluation.py                    # 1/8, 1/4, 1/2, 1 x MSMT17
    .venv/bin/python benchmarks/evaluation.py --fractions 1 --methods chunked
    .venv/bin/python benchmarks/evaluation.py --upstream-max-fraction 0.5 --metric euclidean

Methods, each ``ReidEvaluator.evaluate`` after inference has handed it every feature:
  chunked   ``fastreid_rae/evaluation/chunked.py`` (TEST.CHUNKED.ENABLED, QUERY_CHUNK 256):
            distances of 256 queries at a time, never the dense matrix; each block's
            product by numpy's BLAS (TEST.CHUNKED.MATMUL numpy, the default).
  chunked-torch
            the same with TEST.CHUNKED.MATMUL torch: the products by torch's BLAS.
  dense     fastreid's ``ReidEvaluator`` as this project runs it with TEST.CHUNKED off: the
            dense query x gallery matrix (``build_dist``), ranked by ``fastreid_rae``'s
            ranker (``compat.py`` installs it; the Cython ranker is not compiled).
  upstream  fastreid 1.4.0's own path: the dense matrix ranked by its python ranker
            (``fastreid/evaluation/rank.py::eval_market1501``), which argsorts the whole
            matrix at once. Run only up to ``--upstream-max-fraction`` (default 1/4): its
            time grows ~16x from there to full size, where it was measured on this machine
            at 1,129 s and 19.7 GB peak RSS (docs/performance.md).

Features are re-ID-like (``testing/features.py``: 10-30 images per identity,
look-alike families, 15 cameras, unit rows, float32); a random 12.4 % of the images (MSMT17's
query share) are queries, so many gallery images share a query's identity and camera (junk).
Each (size, method) runs in a fresh process that loads the saved features and feeds them to
the evaluator in batches of 512 (as inference does); "peak RSS" is that process's peak
resident memory (``resource.getrusage``), features, the evaluator's copy of them and the
python / torch runtime included; "RSS before" is its resident memory just before
``evaluate``; "CPU s" is the process's CPU time in ``evaluate`` (user + system, all threads;
on a busy machine the wall time grows with the other jobs, the CPU time much less). Where
several methods run at one size, their result dicts are compared (max |difference| over
Rank-1/5/10, mAP, mINP, metric; CMC is float32 as in fastreid).
A method that runs past ``--timeout`` seconds is stopped and reported so.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

MSMT17_TEST = (11659, 82161)  # queries, gallery images
MSMT17_CAMERAS = 15
METHODS = ("chunked", "chunked-torch", "dense", "upstream")


def make_dataset(fraction, dim, seed=0):
    from fastreid_rae.testing.features import make_reid_like_features

    num_query, num_gallery = (round(fraction * n) for n in MSMT17_TEST)
    data = make_reid_like_features(num_query + num_gallery, dim=dim,
                                   num_cameras=MSMT17_CAMERAS, seed=seed)
    query = np.random.default_rng(seed + 1).permutation(len(data.features)) < num_query
    order = np.concatenate([np.flatnonzero(query), np.flatnonzero(~query)])  # queries first
    return {"features": data.features[order], "pids": data.identities[order],
            "camids": data.camids[order], "num_query": num_query}


def resident_mb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError("VmRSS not in /proc/self/status")


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_method(data_path, method, metric, query_chunk):
    """Child process: one evaluator's ``evaluate`` on the saved features."""
    import torch

    import fastreid_rae  # noqa: F401  (before fastreid)
    from fastreid.config import get_cfg

    from fastreid_rae.config import add_rae_config
    from fastreid_rae.evaluation.chunked import build_reid_evaluator

    saved = np.load(data_path)
    features, pids, camids = saved["features"], saved["pids"], saved["camids"]
    num_query = int(saved["num_query"])
    cfg = add_rae_config(get_cfg())
    cfg.TEST.METRIC = metric
    cfg.TEST.CHUNKED.ENABLED = method.startswith("chunked")
    cfg.TEST.CHUNKED.MATMUL = "torch" if method == "chunked-torch" else "numpy"
    cfg.TEST.CHUNKED.QUERY_CHUNK = query_chunk
    if method == "upstream":  # undo compat.py's ranker: fastreid's own python ranker
        from fastreid.evaluation import rank

        rank.evaluate_rank = lambda distmat, q_pids, g_pids, q_camids, g_camids: rank.evaluate_py(
            distmat, q_pids, g_pids, q_camids, g_camids, max_rank=50, use_metric_cuhk03=False)
    evaluator = build_reid_evaluator(cfg, num_query)
    for start in range(0, len(features), 512):
        rows = slice(start, start + 512)
        evaluator.process({"targets": torch.from_numpy(pids[rows]),
                           "camids": torch.from_numpy(camids[rows])},
                          torch.from_numpy(features[rows]))
    before = resident_mb()
    cpu_start, start = cpu_seconds(), time.perf_counter()
    results = evaluator.evaluate()
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu_start
    return {
        "method": method, "num_query": num_query, "num_gallery": len(features) - num_query,
        "seconds": seconds, "cpu_seconds": cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "rss_before_mb": before,
        "results": {key: float(value) for key, value in results.items()},
        "load_avg_1min": os.getloadavg()[0],
    }


def run_child(data_path, method, args):
    command = [sys.executable, __file__, "--child", data_path, method, "--metric", args.metric,
               "--query-chunk", str(args.query_chunk)]
    start = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT,
                              timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"method": method, "stopped": f"stopped after {args.timeout:.0f} s (--timeout)"}
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        return {"method": method, "stopped": f"failed after {time.perf_counter() - start:.0f} s: "
                                              f"{reason[0]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def print_table(rows):
    header = (f"{'queries x gallery':>17} {'method':>13} {'evaluate s':>10} {'CPU s':>6} "
              f"{'peak RSS GB':>11} {'RSS before GB':>13} {'Rank-1':>7} {'mAP':>6} {'max|diff|':>9} {'load':>5}")
    print(header)
    print("-" * len(header))
    for r in rows:
        size = f"{r['num_query']:,} x {r['num_gallery']:,}"
        if "stopped" in r:
            print(f"{size:>17} {r['method']:>13}  {r['stopped']}")
            continue
        diff = "-" if r.get("max_diff") is None else f"{r['max_diff']:.1e}"
        print(f"{size:>17} {r['method']:>13} {r['seconds']:>10.1f} {r['cpu_seconds']:>6.0f} "
              f"{r['peak_rss_mb'] / 1024:>11.2f} {r['rss_before_mb'] / 1024:>13.2f} {r['results']['Rank-1']:>7.2f} "
              f"{r['results']['mAP']:>6.2f} {diff:>9} {r['load_avg_1min']:>5.1f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.125, 0.25, 0.5, 1.0],
                        help="sizes as fractions of MSMT17 test (queries and gallery alike)")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--upstream-max-fraction", type=float, default=0.25,
                        help="largest size at which fastreid's own python ranker runs")
    parser.add_argument("--dense-max-fraction", type=float, default=1.0)
    parser.add_argument("--metric", default="cosine", choices=["cosine", "euclidean"])
    parser.add_argument("--query-chunk", type=int, default=256)
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--timeout", type=float, default=900, help="seconds per method and size")
    parser.add_argument("--json", default="", help="also write the rows to this file")
    parser.add_argument("--child", nargs=2, metavar=("DATA", "METHOD"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(run_method(*args.child, args.metric, args.query_chunk)))
        return

    limits = {"chunked": float("inf"), "chunked-torch": float("inf"),
              "dense": args.dense_max_fraction,
              "upstream": args.upstream_max_fraction}
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        data_path = f"{folder}/features.npz"
        for fraction in args.fractions:
            np.savez(data_path, **make_dataset(fraction, args.dim))
            size = {key: round(fraction * n) for key, n in zip(("num_query", "num_gallery"),
                                                               MSMT17_TEST)}
            at_size = []
            for method in args.methods:
                if fraction > limits[method]:
                    continue
                row = {**size, **run_child(data_path, method, args)}
                at_size.append(row)
                print(f"done: {size['num_query']} x {size['num_gallery']} {method}: "
                      f"{row.get('stopped') or '%.1f s' % row['seconds']}",
                      file=sys.stderr, flush=True)
            finished = [r for r in at_size if "stopped" not in r]
            for r in finished:  # compare with the first method that finished at this size
                if len(finished) > 1 and r is not finished[0]:
                    r["max_diff"] = max(abs(r["results"][k] - finished[0]["results"][k])
                                        for k in r["results"])
            rows.extend(at_size)
    print(f"metric {args.metric}, d = {args.dim}, QUERY_CHUNK {args.query_chunk}; "
          f"max|diff| vs the size's first method ({args.methods[0]})")
    print_table(rows)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
