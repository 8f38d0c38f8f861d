"""How well the label-free pseudo-label figures track the true ARI (docs/pseudo_labels.md,
"Watching a run without labels").

    .venv/bin/python benchmarks/label_free_monitoring.py                # simulated runs
    .venv/bin/python benchmarks/label_free_monitoring.py --images 400 --seeds 0   # quicker
    .venv/bin/python benchmarks/label_free_monitoring.py --runs logs/a logs/b     # real runs

With ``--runs``: finished training runs on a target whose identities are known (CUHK01,
CUHK03, the synthetic world). Every checkpoint keeps the pseudo-labels its epoch trained on
(``pseudo_labels`` in ``model_XXXX.pth`` / ``model_final.pth``), so each labelling the run
made is read back, nothing is retrained or re-clustered; the target's cameras and hidden
identities come from the run's ``config.yaml`` (``--root`` replaces its DATASETS.ROOT).

A simulated adaptation run (``testing/features.py``'s re-ID-like features: look-alike
families, a bias per camera) is one seed's people seen through features whose noise falls
epoch by epoch, the same noise directions shrinking (the same seed draws the same people,
cameras and noise vectors at every level), as a model's target features tighten when it
adapts. Every "epoch" is pseudo-labelled by the paper's dbscan backend (k-reciprocal Jaccard
+ DBSCAN) at one of several radii (a run keeps its radius), and the figures the hook logs
(``label_free_quality``) are set against the ARI to the hidden identities. Printed: Spearman
and Pearson correlation over every labelling, and the median over runs of the Spearman
correlation within a run (epochs of one run: the figure's use while watching a run).
"""
import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
from scipy.stats import pearsonr, spearmanr

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from fastreid_rae.pseudo_labels import DBSCANPseudoLabeler, label_free_quality  # noqa: E402
from fastreid_rae.pseudo_labels.quality import adjusted_rand_index  # noqa: E402
from fastreid_rae.testing.features import make_reid_like_features  # noqa: E402

# From barely separable (same-identity cosine ~0.3) to tight (~0.85), one value per epoch.
NOISE_BY_EPOCH = (1.6, 1.3, 1.0, 0.8, 0.65, 0.5, 0.4)
FIGURES = ("clusters", "outlier_share", "size_min", "size_median", "size_max",
           "singleton_share", "largest_share", "multi_camera_share", "ari_to_previous")


def simulated_run(args, seed: int, eps: float):
    """One row per epoch: the label-free figures and the true ARI."""
    labeler = DBSCANPseudoLabeler(eps=eps, min_samples=4, k1=20, k2=6, progress=False)
    rows, previous = [], None
    for epoch, noise in enumerate(NOISE_BY_EPOCH):
        world = make_reid_like_features(args.images, dim=args.dim, images_per_identity=(4, 20),
                                        family_size=args.family_size, spread=args.spread,
                                        noise=noise, camera_bias=args.camera_bias, seed=seed)
        labels = labeler.assign(world.features, camids=world.camids).labels
        row = label_free_quality(labels, world.camids, previous)
        row.update(true_ari=adjusted_rand_index(labels, world.identities), epoch=epoch,
                   seed=seed, eps=eps, noise=noise)
        rows.append(row)
        previous = labels
    return rows


def recorded_run(run_dir: Path, root: str = None):
    """One row per pseudo-labelling that a finished run recorded in its checkpoints."""
    import torch

    from fastreid_rae.data.target import build_target_images
    from fastreid_rae.visualization.loading import load_config

    cfg = load_config(str(run_dir / "config.yaml"), ["DATASETS.ROOT", root] if root else [], finished_run=True)
    images = build_target_images(cfg)
    camids = np.array([image.camid for image in images])
    identities = np.array([image.true_pid for image in images])
    if any(pid is None for pid in identities):
        raise SystemExit(f"{run_dir}: the target {cfg.DATASETS.TARGET!r} has no identities to compare with")
    by_epoch = {}
    for checkpoint in sorted(run_dir.glob("model_*.pth")):
        recorded = torch.load(checkpoint, map_location="cpu", weights_only=False).get("pseudo_labels")
        if recorded is not None and recorded["epoch"] >= 0:
            by_epoch[int(recorded["epoch"])] = recorded["labels"].numpy()
    rows, previous = [], None
    for epoch, labels in sorted(by_epoch.items()):
        if len(labels) != len(images):
            raise SystemExit(f"{run_dir}: epoch {epoch} has {len(labels)} labels for {len(images)} target images")
        row = label_free_quality(labels, camids, previous)
        row.update(true_ari=adjusted_rand_index(labels, identities), epoch=epoch, run=run_dir.name)
        rows.append(row)
        previous = labels
    return rows


def correlation_table(runs):
    rows = [row for run in runs for row in run]
    table = []
    for figure in FIGURES:
        pooled = [(row[figure], row["true_ari"]) for row in rows if figure in row]
        values, ari = np.array(pooled).T
        within = [spearmanr(*np.array([(row[figure], row["true_ari"]) for row in run
                                       if figure in row]).T)[0] for run in runs]
        within = [value for value in within if np.isfinite(value)]
        table.append((figure, spearmanr(values, ari)[0], pearsonr(values, ari)[0],
                      float(np.median(within)) if within else float("nan"), len(pooled),
                      values.min(), values.max()))
    return table


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=800)
    parser.add_argument("--dim", type=int, default=128)
    # look-alikes: families of FAMILY_SIZE people whose centres differ by SPREAD (0.2, the
    # generator's default, leaves them inseparable at any noise: ARI stays ~0.2)
    parser.add_argument("--family-size", type=int, default=4)
    parser.add_argument("--spread", type=float, default=0.7)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--eps", type=float, nargs="+", default=[0.45, 0.6, 0.75],
                        help="DBSCAN radii; each (seed, radius) is one run")
    parser.add_argument("--camera-bias", type=float, default=0.4)
    parser.add_argument("--runs", type=Path, nargs="+",
                        help="finished runs' folders: their recorded labellings instead of simulated ones")
    parser.add_argument("--root", help="DATASETS.ROOT for --runs (default: each run's own)")
    args = parser.parse_args()
    # a figure constant within one run has no rank correlation there: left out, not warned
    warnings.filterwarnings("ignore", message="An input array is constant")

    if args.runs:
        runs = [run for run in (recorded_run(folder, args.root) for folder in args.runs) if run]
        description = f"{len(runs)} recorded runs, {sum(map(len, runs))} pseudo-labellings"
    else:
        runs = [simulated_run(args, seed, eps) for seed in args.seeds for eps in args.eps]
        description = (f"{len(runs)} runs x {len(NOISE_BY_EPOCH)} pseudo-labellings, N = {args.images}, "
                       f"d = {args.dim}")
    true_ari = [row["true_ari"] for run in runs for row in run]
    print(f"{description}; true ARI {min(true_ari):.3f} .. {max(true_ari):.3f}\n")
    print(f"| {'figure':<20} | Spearman | Pearson | within a run (median Spearman) | points | range |")
    print(f"|{'-' * 22}|---------:|--------:|-------------------------------:|-------:|-------|")
    for figure, spearman, pearson, within, points, low, high in correlation_table(runs):
        if low == high:  # e.g. singleton_share under DBSCAN, which leaves loners out instead
            print(f"| {figure:<20} | {'n/a':>8} | {'n/a':>7} | {'n/a':>30} | {points:6d} | "
                  f"always {low:.3g} |")
            continue
        print(f"| {figure:<20} | {spearman:+8.2f} | {pearson:+7.2f} | {within:+30.2f} | "
              f"{points:6d} | {low:.3g} .. {high:.3g} |")
    print("\nper run: true ARI by pseudo-labelling")
    for run in runs:
        name = run[0]["run"] if "run" in run[0] else f"eps {run[0]['eps']:.2f} seed {run[0]['seed']}"
        print(f"  {name}: " + " ".join(f"{row['true_ari']:.2f}" for row in run))


if __name__ == "__main__":
    main()
