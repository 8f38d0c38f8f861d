"""Re-ID-like feature sets with known identities, for the tests and the benchmarks.

Identities come in look-alike families (people dressed alike), so the nearest neighbours mix
identities the way real target-domain features do; every camera adds its own bias.

    centre_p = normalise(family_f(p) + spread * u_p)
    x        = normalise(centre_p + camera_bias_c + noise * e),   u, e ~ N(0, I / d)

With the defaults, a same-identity pair has cosine ~0.7, the nearest neighbour is the same
identity ~99% of the time but only ~87% of the 10 nearest are, and the paper's DBSCAN
pseudo-labels reach ARI ~0.7 (look-alikes merge), like early target-domain epochs. Each
identity walks past the cameras within a few hundred frames of its own random time, so
camera / frame indices carry a temporal cue.

``make_clustered_features`` is the harder kind a re-ID model produces early in adaptation:
no families, but Zipf-sized identities (1-60 images, ~8 on average), a few loners, and a
noise level that spans tight to hard clusters (``DIFFICULTY_NOISE``). Its hard end is nearly
isotropic in d dimensions, which is what defeats inverted-file search (docs/pseudo_labels.md).
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


def _gaussian_rows(rng: np.random.Generator, rows: int, dim: int) -> np.ndarray:
    """Rows of N(0, I / d): each has norm ~1."""
    return rng.standard_normal((rows, dim), dtype=np.float32) / np.float32(np.sqrt(dim))


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
        return _gaussian_rows(rng, rows, dim)

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


# Noise norm around each unit centre, per difficulty: 0.55 times 1, 2, 3, 4. At "hard" a
# same-identity pair has cosine ~0.17 against ~0 +- 0.02 for strangers, so neighbours are
# still findable, and SpCL's clustering reaches ARI ~0.4 against the identities.
DIFFICULTY_NOISE = {"tight": 0.55, "medium": 1.1, "loose": 1.65, "hard": 2.2}


def make_clustered_features(
    num_images: int,
    dim: int = 2048,
    noise: float = DIFFICULTY_NOISE["hard"],
    max_identity_size: int = 60,
    zipf_exponent: float = 1.3,
    loner_share: float = 0.05,
    num_cameras: int = 6,
    seed: int = 0,
) -> SyntheticReidFeatures:
    """Unit features x = normalise(centre + noise * e), e ~ N(0, I / d), around random unit
    centres; identity sizes P(s) ~ s^-zipf_exponent on 1..max_identity_size (mean ~8 at
    1.3); ``loner_share`` of the images are random unit vectors, each its own identity.
    Cameras and frames are random (no temporal cue)."""
    rng = np.random.default_rng(seed)
    num_loners = int(round(loner_share * num_images))
    sizes_range = np.arange(1, max_identity_size + 1)
    probabilities = sizes_range ** -float(zipf_exponent)
    probabilities /= probabilities.sum()
    sizes = []
    while sum(sizes) < num_images - num_loners:
        sizes.append(int(rng.choice(sizes_range, p=probabilities)))
    if sizes:
        sizes[-1] -= sum(sizes) - (num_images - num_loners)
    sizes = [s for s in sizes if s > 0] + [1] * num_loners
    identities = np.repeat(np.arange(len(sizes)), sizes)
    rng.shuffle(identities)  # loners and identities interleave in dataset order

    centres = _gaussian_rows(rng, len(sizes), dim)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    features = _gaussian_rows(rng, num_images, dim)
    clustered = identities < len(sizes) - num_loners
    features[clustered] *= np.float32(noise)  # a loner is pure direction: its own centre
    features[clustered] += centres[identities[clustered]]
    features /= np.linalg.norm(features, axis=1, keepdims=True)
    return SyntheticReidFeatures(
        features=features,
        identities=identities.astype(np.int64),
        camids=rng.integers(0, num_cameras, num_images).astype(np.int64),
        frames=rng.integers(0, 100 * len(sizes), num_images).astype(np.int64),
    )
