"""Time and memory of the paper's pseudo-labels (k-reciprocal Jaccard + DBSCAN) at re-ID scale.

    .venv/bin/python benchmarks/pseudo_labels.py                 # N = 2k, 8k, 16k, 32,621
    .venv/bin/python benchmarks/pseudo_labels.py --sizes 32621 --methods approximate
    .venv/bin/python benchmarks/pseudo_labels.py --with-100k     # adds N = 100,000
    .venv/bin/python benchmarks/pseudo_labels.py --sizes 32621 --backends jvtc kmeans

Features are re-ID-like Gaussian mixtures (``pseudo_labels/synthetic.py``: 10-30 images per
identity, look-alike families, 6 cameras), d = 2048, float32. Each (N, method) runs in a fresh
process that first loads the features, so "peak RSS above features" is the process's peak
resident memory minus its resident memory once the features are loaded. Where the dense
N x N reference fits (N <= 8,000) its DBSCAN labels are computed too and compared (ARI 1.000
= identical partition). Other backends (``--backends``) are timed end to end through
``build_pseudo_labeler`` with their default config. Timings on a shared 2-core machine vary
with its load, reported too.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

DEFAULT_SIZES = [2000, 8000, 16000, 32621]
DENSE_REFERENCE_MAX_N = 8000


def resident_mb(field: str) -> float:
    """VmRSS (current) or VmHWM (peak) of this process, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"{field} not in /proc/self/status")


def run_backend(data_path: str, backend: str, method: str) -> dict:
    """Child process: one end-to-end ``assign`` of a registered backend on the saved set."""
    import fastreid_rae  # noqa: F401  (before fastreid)
    from fastreid.config import get_cfg
    from fastreid_rae.config import add_rae_config
    from fastreid_rae.pseudo_labels import build_pseudo_labeler
    from fastreid_rae.pseudo_labels.quality import adjusted_rand_index

    saved = np.load(data_path)
    features, identities = saved["features"], saved["identities"]
    camids, frames = saved["camids"], saved["frames"]
    cfg = add_rae_config(get_cfg())
    cfg.RAE.PSEUDO_LABEL.NAME = backend
    cfg.RAE.PSEUDO_LABEL.NEIGHBORS.METHOD = method
    labeler = build_pseudo_labeler(cfg)
    baseline = resident_mb("VmRSS")
    start = time.perf_counter()
    result = labeler.assign(features, camids, frames)
    return {
        "n": len(features),
        "backend": backend,
        "method": method,
        "total_s": time.perf_counter() - start,
        "peak_mb_above_features": resident_mb("VmHWM") - baseline,
        "clusters": result.num_clusters,
        "outliers": result.num_outliers,
        "ari_vs_identities": adjusted_rand_index(result.labels, identities),
        "load_avg_1min": os.getloadavg()[0],
    }


def run_dbscan_stages(data_path: str, method: str, dense: bool) -> dict:
    """Child process: the paper's pipeline on the saved features, timing every stage."""
    import fastreid_rae  # noqa: F401  (before fastreid)
    from fastreid_rae.pseudo_labels.base import l2_normalize
    from fastreid_rae.pseudo_labels.dbscan import dbscan_on_sparse_distances
    from fastreid_rae.pseudo_labels.jaccard import k_reciprocal_jaccard
    from fastreid_rae.pseudo_labels.neighbors import knn_search, pair_sq_distances
    from fastreid_rae.pseudo_labels.quality import adjusted_rand_index

    saved = np.load(data_path)
    features, identities = saved["features"], saved["identities"]
    baseline = resident_mb("VmRSS")
    k1, k2, eps, min_samples = 30, 6, 0.6, 4  # RAE.PSEUDO_LABEL.DBSCAN defaults

    start = time.perf_counter()
    unit = l2_normalize(features)
    knn_distances, knn_indices = knn_search(unit, k1 + 1, method=method, progress=False)
    after_knn = time.perf_counter()
    distances = k_reciprocal_jaccard(
        knn_distances, knn_indices, lambda r, c: pair_sq_distances(unit, r, c),
        k1=k1, k2=k2, max_distance=eps, progress=False,
    )
    after_jaccard = time.perf_counter()
    labels = dbscan_on_sparse_distances(distances, eps, min_samples)
    end = time.perf_counter()
    peak = resident_mb("VmHWM") - baseline

    result = {
        "n": len(features),
        "backend": "dbscan",
        "method": method,
        "knn_s": after_knn - start,
        "jaccard_s": after_jaccard - after_knn,
        "dbscan_s": end - after_jaccard,
        "total_s": end - start,
        "peak_mb_above_features": peak,
        "pairs_within_eps_per_image": distances.nnz / len(features),
        "clusters": int(labels.max()) + 1,
        "outliers": int((labels < 0).sum()),
        "ari_vs_identities": adjusted_rand_index(labels, identities),
        "ari_vs_dense": None,
        "load_avg_1min": os.getloadavg()[0],
    }
    if dense:
        from sklearn.cluster import DBSCAN
        from tests.test_pseudo_labels import dense_jaccard_reference

        dense_start = time.perf_counter()
        reference = DBSCAN(eps=eps, min_samples=min_samples, metric="precomputed").fit_predict(
            dense_jaccard_reference(unit, k1, k2)
        )
        result["dense_s"] = time.perf_counter() - dense_start
        result["ari_vs_dense"] = adjusted_rand_index(labels, reference)
        result["identical_to_dense"] = bool(
            result["ari_vs_dense"] == 1.0 and np.array_equal(labels < 0, reference < 0)
        )
    return result


def print_table(rows):
    header = (
        f"{'N':>7} {'search':>11} {'k-NN s':>7} {'Jaccard s':>9} {'DBSCAN s':>8} {'total s':>8} "
        f"{'peak MB':>8} {'clusters':>8} {'outliers':>8} {'ARI/ids':>7} {'ARI/dense':>9} {'load':>5}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        dense = "-" if r["ari_vs_dense"] is None else f"{r['ari_vs_dense']:.3f}"
        print(
            f"{r['n']:>7} {r['method']:>11} {r['knn_s']:>7.1f} {r['jaccard_s']:>9.1f} "
            f"{r['dbscan_s']:>8.1f} {r['total_s']:>8.1f} {r['peak_mb_above_features']:>8.0f} "
            f"{r['clusters']:>8} {r['outliers']:>8} "
            f"{r['ari_vs_identities']:>7.3f} {dense:>9} {r['load_avg_1min']:>5.1f}"
        )


def print_backend_table(rows):
    header = (
        f"{'N':>7} {'backend':>16} {'search':>11} {'total s':>8} {'peak MB':>8} "
        f"{'clusters':>8} {'outliers':>8} {'ARI/ids':>7} {'load':>5}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['n']:>7} {r['backend']:>16} {r['method']:>11} {r['total_s']:>8.1f} "
            f"{r['peak_mb_above_features']:>8.0f} {r['clusters']:>8} {r['outliers']:>8} "
            f"{r['ari_vs_identities']:>7.3f} {r['load_avg_1min']:>5.1f}"
        )


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=DEFAULT_SIZES)
    parser.add_argument("--with-100k", action="store_true", help="also N = 100,000 (long)")
    parser.add_argument(
        "--methods", nargs="+", default=["exact", "approximate"], choices=["exact", "approximate"]
    )
    parser.add_argument("--backends", nargs="+", default=["dbscan"], help="registered backend names")
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--no-dense", action="store_true", help="skip the dense reference")
    parser.add_argument("--json", type=str, default="", help="also write the rows to this file")
    parser.add_argument(
        "--child", nargs=4, metavar=("DATA", "BACKEND", "METHOD", "DENSE"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()

    if args.child:
        data_path, backend, method, dense = args.child
        if backend == "dbscan":
            print(json.dumps(run_dbscan_stages(data_path, method, dense == "1")))
        else:
            print(json.dumps(run_backend(data_path, backend, method)))
        return

    from fastreid_rae.pseudo_labels.synthetic import make_reid_like_features

    sizes = args.sizes + ([100_000] if args.with_100k else [])
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        data_path = f"{folder}/target_set.npz"
        for n in sizes:
            data = make_reid_like_features(n, dim=args.dim, seed=0)
            np.savez(
                data_path,
                features=data.features,
                identities=data.identities,
                camids=data.camids,
                frames=data.frames,
            )
            del data
            for backend in args.backends:
                for method in args.methods:
                    dense = (
                        backend == "dbscan"
                        and method == "exact"
                        and not args.no_dense
                        and n <= DENSE_REFERENCE_MAX_N
                    )
                    command = [sys.executable, __file__, "--child", data_path, backend, method]
                    output = subprocess.run(
                        command + ["1" if dense else "0"],
                        check=True, capture_output=True, text=True, cwd=REPO_ROOT,
                    ).stdout
                    rows.append(json.loads(output.strip().splitlines()[-1]))
                    print(
                        f"done: N={n} {backend} {method} in {rows[-1]['total_s']:.1f} s",
                        file=sys.stderr, flush=True,
                    )
    staged = [r for r in rows if "knn_s" in r]
    if staged:
        print_table(staged)
    others = [r for r in rows if "knn_s" not in r]
    if others:
        print_backend_table(others)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
