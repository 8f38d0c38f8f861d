"""``dbscan``: the paper's pseudo-labels (Sec. III-A, steps 2-3; SpCL's recipe and defaults).

k-reciprocal Jaccard distance of the L2-normalised target features (``jaccard.py``), then
DBSCAN on it. DBSCAN only asks whether a pair is within eps, so the sparse distance keeps
just the pairs at or below eps; every other pair (including all pairs without a shared
reciprocal neighbour, at Jaccard distance 1) is never a neighbour. The clustering is
therefore identical to DBSCAN on the dense N x N matrix, at a fraction of the memory.
"""
import logging
from typing import Optional

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import DBSCAN
from sklearn.neighbors import sort_graph_by_row_values

from .base import PseudoLabeler, PseudoLabels, l2_normalize
from .jaccard import jaccard_from_neighbors
from .neighbors import NeighborLists, knn_search, search_options_from_config
from .registry import PSEUDO_LABEL_REGISTRY

logger = logging.getLogger(__name__)


def dbscan_on_sparse_distances(distances: sp.csr_matrix, eps: float, min_samples: int) -> np.ndarray:
    """sklearn DBSCAN on a sparse precomputed distance graph (stored entries are the candidates).

    Returns labels 0..C-1, -1 for noise.
    """
    distances = sort_graph_by_row_values(distances.tocsr(), copy=True, warn_when_not_sorted=False)
    return DBSCAN(eps=eps, min_samples=min_samples, metric="precomputed").fit_predict(distances)


class DBSCANPseudoLabeler(PseudoLabeler):
    """DBSCAN on k-reciprocal Jaccard distance (SpCL defaults: eps 0.6, min_samples 4, k1 30, k2 6)."""

    def __init__(
        self,
        eps: float = 0.6,
        min_samples: int = 4,
        k1: int = 30,
        k2: int = 6,
        search_options: Optional[dict] = None,
        progress: bool = True,
    ):
        super().__init__()
        if not 0.0 < eps < 1.0:
            raise ValueError(
                f"RAE.PSEUDO_LABEL.DBSCAN.EPS must be in (0, 1) (a Jaccard distance), got {eps}"
            )
        self.eps = eps
        self.min_samples = min_samples
        self.k1 = k1
        self.k2 = k2
        self.search_options = dict(search_options or {})
        self.progress = progress

    def neighbors(self, unit: np.ndarray, k: int) -> NeighborLists:
        """The k-NN lists of the unit features, by the configured (and checked) search."""
        return knn_search(unit, k, progress=self.progress, **self.search_options)

    def jaccard(self, unit: np.ndarray, neighbors: NeighborLists) -> sp.csr_matrix:
        """Sparse Jaccard distances of the unit features, pairs within eps only."""
        return jaccard_from_neighbors(unit, neighbors, self.k1, self.k2, self.eps, self.progress)

    def cluster(self, distances: sp.csr_matrix) -> np.ndarray:
        return dbscan_on_sparse_distances(distances, self.eps, self.min_samples)

    def _assign(self, features, camids, frames) -> PseudoLabels:
        unit = l2_normalize(features)
        neighbors = self.neighbors(unit, min(self.k1, len(unit) - 1) + 1)
        labels = self.cluster(self.jaccard(unit, neighbors))
        result = PseudoLabels.from_assignment(features, labels, neighbors.report)
        logger.info(
            "dbscan pseudo-labels: %d clusters, %d outliers of %d images; %s",
            result.num_clusters, result.num_outliers, len(features), neighbors.report.summary(),
        )
        return result


def dbscan_options_from_config(cfg) -> dict:
    """Keyword arguments of ``DBSCANPseudoLabeler`` from ``cfg.RAE.PSEUDO_LABEL`` (shared by the
    backends that cluster this way: dbscan, jvtc, memory_contrast)."""
    node = cfg.RAE.PSEUDO_LABEL
    return dict(
        eps=node.DBSCAN.EPS,
        min_samples=node.DBSCAN.MIN_SAMPLES,
        k1=node.DBSCAN.K1,
        k2=node.DBSCAN.K2,
        search_options=search_options_from_config(cfg),
    )


@PSEUDO_LABEL_REGISTRY.register()
def dbscan(cfg) -> DBSCANPseudoLabeler:
    return DBSCANPseudoLabeler(**dbscan_options_from_config(cfg))
