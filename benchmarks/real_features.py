"""Features of real crops by a trained model, saved for ``benchmarks/pseudo_labels.py
--features-file``: what pseudo-labelling sees in a run, not a generator's guess at it.

    .venv/bin/python benchmarks/real_features.py --config-file logs/source/config.yaml \\
        --weights logs/source/model_final.pth --datasets CUHK01 CUHK03Pair1 --output cuhk.npz

Each dataset's training images are read as a target domain is (``build_target_images``:
camera, frame and the hidden identity from the names), through the feature loader and the
feature the pseudo-labelling hook clusters (Enc's BN-necked feature, ``encoder``). Several
datasets go into one set with their identities kept apart. Saved: ``features`` (N x d
float32), ``identities``, ``camids``, ``frames``, ``datasets`` (the name of each row).
"""
import argparse
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import fastreid_rae  # noqa: E402,F401  (fastreid compat shims before fastreid)


def dataset_features(cfg, model, dataset: str):
    import torch

    from fastreid_rae.data.target import build_target_feature_loader, build_target_images

    cfg = cfg.clone()
    cfg.defrost()
    cfg.DATASETS.TARGET = dataset
    images = build_target_images(cfg)
    parts = []
    with torch.no_grad():
        for batch in build_target_feature_loader(cfg, images):
            parts.append(model.extract_feature_kinds(batch, ["encoder"])["encoder"].float().cpu())
    return images, torch.cat(parts).numpy()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config-file", required=True)
    parser.add_argument("--weights", required=True)
    parser.add_argument("--datasets", nargs="+", required=True, help="registered dataset names")
    parser.add_argument("--root", help="DATASETS.ROOT (default: the config's)")
    parser.add_argument("--output", required=True, type=Path)
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE overrides")
    args = parser.parse_args()

    from fastreid_rae.visualization.loading import load_config, load_model

    cfg = load_config(args.config_file, [*(["DATASETS.ROOT", args.root] if args.root else []),
                                         "MODEL.DEVICE", "cpu", *args.opts])
    model = load_model(cfg, args.weights)
    saved = {"features": [], "identities": [], "camids": [], "frames": [], "datasets": []}
    first_identity = 0
    for dataset in args.datasets:
        images, features = dataset_features(cfg, model, dataset)
        _, identities = np.unique([image.true_pid for image in images], return_inverse=True)
        saved["features"].append(features)
        saved["identities"].append(identities + first_identity)
        saved["camids"].append([image.camid for image in images])
        saved["frames"].append([image.frame or 0 for image in images])
        saved["datasets"].append([dataset] * len(images))
        first_identity += int(identities.max()) + 1
        print(f"{dataset}: {len(images)} images, {int(identities.max()) + 1} identities, "
              f"{features.shape[1]}-d", flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.output, **{key: np.concatenate(values) for key, values in saved.items()})
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
