"""Re-ID-like feature sets with known identities, for tests and ``benchmarks/pseudo_labels.py``.

Identities come in look-alike families (people dressed alike), so the nearest neighbours mix
identities the way real target-domain features do; every camera adds its own bias.

    centre_p = normalise(family_f(p) + spread * u_p)
    x        = normalise(centre_p + camera_bias_c + noise * e),   u, e ~ N(0, I / d)

With the defaults, a same-identity pair has cosine ~0.7, the nearest neighbour is the same
identity ~99% of the time but only ~87% of the 10 nearest are, and the paper's DBSCAN
pseudo-labels reach ARI ~0.7 (look-alikes merge), like early target-domain epochs. Each
identity walks past the cameras within a few hundred frames of its own random time, so
camera / frame indices carry a temporal cue.
"""
from dataclasses import dataclass
from typing import Tuple

import numpy as np


@dataclass
class SyntheticReidFeatures:
    features: np.ndarray  # (N, d) float32, unit rows
    identities: np.ndarray  # (N,) int64
    camids: np.ndarray  # (N,) int64
    frames: np.ndarray  # (N,) int64


def make_reid_like_features(
    num_images: int,
    dim: int = 2048,
    images_per_identity: Tuple[int, int] = (10, 30),
    family_size: int = 8,
    spread: float = 0.2,
    noise: float = 0.65,
    num_cameras: int = 6,
    camera_bias: float = 0.15,
    seed: int = 0,
) -> SyntheticReidFeatures:
    rng = np.random.default_rng(seed)
    sizes = []
    while sum(sizes) < num_images:
        sizes.append(int(rng.integers(images_per_identity[0], images_per_identity[1] + 1)))
    sizes[-1] -= sum(sizes) - num_images
    sizes = np.array([s for s in sizes if s > 0])
    num_ids = len(sizes)
    identities = np.repeat(np.arange(num_ids), sizes)

    def gaussian(rows: int) -> np.ndarray:
        return rng.standard_normal((rows, dim), dtype=np.float32) / np.float32(np.sqrt(dim))

    family = rng.integers(0, max(1, num_ids // family_size), num_ids)
    centres = gaussian(int(family.max()) + 1)[family] + np.float32(spread) * gaussian(num_ids)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    camids = rng.integers(0, num_cameras, num_images)
    biases = np.float32(camera_bias) * gaussian(num_cameras)

    features = gaussian(num_images)
    features *= np.float32(noise)
    features += centres[identities]
    features += biases[camids]
    features /= np.linalg.norm(features, axis=1, keepdims=True)

    appearance = rng.integers(0, 100 * num_ids, num_ids)
    camera_delay = rng.integers(0, 300, num_cameras)
    frames = appearance[identities] + camera_delay[camids] + rng.integers(0, 200, num_images)
    return SyntheticReidFeatures(
        features=features,
        identities=identities.astype(np.int64),
        camids=camids.astype(np.int64),
        frames=frames.astype(np.int64),
    )
