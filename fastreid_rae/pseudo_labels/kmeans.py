"""``kmeans``: k-means pseudo-labels (OpenUnReID's ``kmeans`` label generator), faiss, seeded.

Every image gets a cluster (no outliers). Runs on the L2-normalised features, so Euclidean
k-means ranks like cosine similarity; with a fixed seed and thread count faiss repeats itself.

Seeding is k-means++ (Arthur & Vassilvitskii, 2007) rather than faiss's k random points:
random seeding puts two seeds in one identity and none in another most of the time (8
planted clusters: 99.8%), and Lloyd's iterations rarely undo that. The seeds are drawn from
a random subset of 10 images per cluster, which keeps seeding well under Lloyd's cost.
"""
import logging
from typing import Optional

import faiss
import numpy as np

from .base import PseudoLabeler, PseudoLabels, l2_normalize
from .registry import PSEUDO_LABEL_REGISTRY

logger = logging.getLogger(__name__)


def kmeans_plus_plus_seeds(
    points: np.ndarray, num_clusters: int, rng: np.random.Generator
) -> np.ndarray:
    """k-means++: each next seed is drawn with probability proportional to the squared
    distance to the nearest seed so far."""
    squared_norms = (points.astype(np.float64) ** 2).sum(axis=1)

    def squared_distances_to(index: int) -> np.ndarray:
        return np.maximum(squared_norms - 2.0 * (points @ points[index]) + squared_norms[index], 0.0)

    picks = [int(rng.integers(len(points)))]
    nearest = squared_distances_to(picks[0])
    for _ in range(1, num_clusters):
        total = nearest.sum()
        if total > 0:
            picks.append(int(rng.choice(len(points), p=nearest / total)))
        else:  # fewer distinct points than clusters: any point will do
            picks.append(int(rng.integers(len(points))))
        np.minimum(nearest, squared_distances_to(picks[-1]), out=nearest)
    return points[picks].astype(np.float32)


class KMeansPseudoLabeler(PseudoLabeler):
    def __init__(self, num_clusters: int = 500, num_iters: int = 25, seed: int = 0):
        super().__init__()
        if num_clusters < 1:
            raise ValueError(f"RAE.PSEUDO_LABEL.KMEANS.NUM_CLUSTERS must be >= 1, got {num_clusters}")
        self.num_clusters = num_clusters
        self.num_iters = num_iters
        self.seed = seed

    def target_size_problem(self, num_images: int) -> Optional[str]:
        if self.num_clusters > num_images:
            return (f"RAE.PSEUDO_LABEL.KMEANS.NUM_CLUSTERS = {self.num_clusters} exceeds the "
                    f"{num_images} target images; expected at most one cluster per image")
        return None

    def _assign(self, features, camids, frames) -> PseudoLabels:
        num, dim = features.shape
        problem = self.target_size_problem(num)
        if problem:
            raise ValueError(problem)
        unit = l2_normalize(features)
        kmeans = faiss.Kmeans(
            dim,
            self.num_clusters,
            niter=self.num_iters,
            seed=self.seed,
            # train on every image: faiss otherwise subsamples 256 points per centroid
            max_points_per_centroid=max(256, -(-num // self.num_clusters)),
            min_points_per_centroid=1,
            verbose=False,
        )
        rng = np.random.default_rng(self.seed)
        pool = unit[rng.choice(num, min(num, 10 * self.num_clusters), replace=False)]
        kmeans.train(unit, init_centroids=kmeans_plus_plus_seeds(pool, self.num_clusters, rng))
        _, assignment = kmeans.index.search(unit, 1)
        # a centroid nobody is nearest to would be an empty class: relabelling drops it
        result = PseudoLabels.from_assignment(features, assignment.reshape(-1))
        logger.info("kmeans pseudo-labels: %d clusters of %d images", result.num_clusters, num)
        return result


@PSEUDO_LABEL_REGISTRY.register()
def kmeans(cfg) -> KMeansPseudoLabeler:
    node = cfg.RAE.PSEUDO_LABEL.KMEANS
    return KMeansPseudoLabeler(num_clusters=node.NUM_CLUSTERS, num_iters=node.NUM_ITERS, seed=node.SEED)
