"""The one neighbour search every pseudo-label backend shares (faiss, CPU, chunked).

``knn_search`` returns, for each feature, its ``k`` nearest features (itself included, at
distance ~0) as two dense ``N x k`` arrays, never an ``N x N`` matrix:

* ``method="exact"``: brute force (``faiss.knn``: BLAS distance blocks + heaps, no copy of
  the features into an index); queries go in chunks so a progress bar can follow.
* ``method="approximate"``: an inverted file (``faiss.IndexIVFFlat``, 4 sqrt(N) lists by
  default, coarse k-means seeded so runs repeat); each query scans ``nprobe`` lists only.
  Re-ID features are strongly clustered, so recall against exact stays ~1 (``knn_recall``
  measures it; tests and benchmarks report it). An HNSW graph was tried too: as accurate,
  no faster here, and its multi-threaded build is not repeatable.

Distances are squared Euclidean, which for L2-normalised features is ``2 - 2 cos``, the
distance SpCL's k-reciprocal encoding uses.
"""
import logging
from typing import Tuple

import faiss
import numpy as np
from tqdm import tqdm

logger = logging.getLogger(__name__)

SEARCH_METHODS = ("exact", "approximate")


def _as_float32_rows(features: np.ndarray) -> np.ndarray:
    features = np.ascontiguousarray(features, dtype=np.float32)
    if features.ndim != 2:
        raise ValueError(f"features must be a 2-D (N x d) array, got shape {features.shape}")
    return features


def _search_function(features: np.ndarray, method: str, num_lists: int, nprobe: int, seed: int):
    """The search function ``queries -> (distances, indices)`` of the chosen method."""
    num, dim = features.shape
    if method == "exact":
        return lambda queries, k: faiss.knn(queries, features, k, metric=faiss.METRIC_L2)
    if method == "approximate":
        if num_lists <= 0:
            num_lists = int(round(4 * np.sqrt(num)))  # faiss's rule of thumb: O(sqrt(N)) lists
        num_lists = max(1, min(num_lists, num // 8))  # keep a few points per list to train on
        index = faiss.IndexIVFFlat(faiss.IndexFlatL2(dim), dim, num_lists, faiss.METRIC_L2)
        index.cp.seed = seed
        index.cp.min_points_per_centroid = 1  # no warning spam on small sets
        # The coarse quantiser only routes queries: 16 points per list and 10 iterations
        # (a sixth of faiss's default 40 x 25 training cost, which alone took ~10 s at
        # MSMT17 size) already route with recall > 0.99 at nprobe 16.
        index.cp.niter = 10
        rng = np.random.default_rng(seed)
        train = features[np.sort(rng.choice(num, min(num, 16 * num_lists), replace=False))]
        index.train(train)
        index.nprobe = min(nprobe, num_lists)
        index.add(features)  # the inverted lists hold a copy of the features
        return index.search
    raise ValueError(
        f"RAE.PSEUDO_LABEL.NEIGHBORS.METHOD must be one of {SEARCH_METHODS}, got {method!r}"
    )


def knn_search(
    features: np.ndarray,
    k: int,
    method: str = "exact",
    chunk_size: int = 4096,
    num_lists: int = 0,
    nprobe: int = 16,
    seed: int = 0,
    progress: bool = True,
) -> Tuple[np.ndarray, np.ndarray]:
    """k nearest neighbours of every row of ``features`` among all rows.

    Args:
        features: N x d float array (normalise first if the caller wants cosine ranking).
        k: neighbours per row, the row itself included; clipped to N.
        method: "exact" or "approximate" (inverted file), see the module docstring.
        chunk_size: queries per faiss call.
        num_lists, nprobe, seed: inverted lists (0: 4 sqrt(N)), lists scanned per query, and
            the coarse k-means seed (approximate only).
        progress: show a tqdm bar over query chunks.

    Returns:
        distances: N x k float32 squared Euclidean distances, ascending per row, >= 0.
        indices: N x k int32 neighbour indices.
    """
    features = _as_float32_rows(features)
    num = features.shape[0]
    k = min(int(k), num)
    if k < 1:
        raise ValueError(f"knn_search needs k >= 1 and at least one feature, got k={k}, N={num}")
    search = _search_function(features, method, num_lists, nprobe, seed)

    distances = np.empty((num, k), dtype=np.float32)
    indices = np.empty((num, k), dtype=np.int32)
    starts = range(0, num, chunk_size)
    for start in tqdm(starts, desc=f"{method} k-NN (k={k})", disable=not progress or len(starts) < 2):
        stop = min(start + chunk_size, num)
        dist, idx = search(features[start:stop], k)
        distances[start:stop] = dist
        indices[start:stop] = idx
    if (indices < 0).any():
        # the probed lists held fewer than k points for some query: say how to fix it
        raise RuntimeError(
            f"approximate k-NN found fewer than k={k} neighbours for some features; raise "
            "RAE.PSEUDO_LABEL.NEIGHBORS.NPROBE or use METHOD 'exact'"
        )
    # ||x||^2 + ||y||^2 - 2xy in float32 can dip just below zero for the row itself
    np.maximum(distances, 0.0, out=distances)
    return distances, indices


def search_options_from_config(cfg) -> dict:
    """``knn_search`` keyword arguments from ``cfg.RAE.PSEUDO_LABEL.NEIGHBORS``."""
    node = cfg.RAE.PSEUDO_LABEL.NEIGHBORS
    if node.METHOD not in SEARCH_METHODS:
        raise ValueError(
            f"RAE.PSEUDO_LABEL.NEIGHBORS.METHOD must be one of {SEARCH_METHODS}, got {node.METHOD!r}"
        )
    return dict(method=node.METHOD, num_lists=node.NUM_LISTS, nprobe=node.NPROBE)


def pair_sq_distances(
    features: np.ndarray, rows: np.ndarray, cols: np.ndarray, chunk_size: int = 2048
) -> np.ndarray:
    """Squared Euclidean distance of each pair ``(rows[p], cols[p])`` (float32).

    Chunked so the gathered rows stay small (2048 pairs x 2048-d = 16 MB per operand).
    """
    features = _as_float32_rows(features)
    out = np.empty(len(rows), dtype=np.float32)
    for start in range(0, len(rows), chunk_size):
        stop = min(start + chunk_size, len(rows))
        diff = features[rows[start:stop]] - features[cols[start:stop]]
        out[start:stop] = np.einsum("pd,pd->p", diff, diff)
    return out


def knn_recall(approx_indices: np.ndarray, exact_indices: np.ndarray) -> float:
    """Mean fraction of each row's exact neighbours that the approximate search found."""
    if approx_indices.shape != exact_indices.shape:
        raise ValueError(
            f"neighbour lists differ in shape: {approx_indices.shape} vs {exact_indices.shape}"
        )
    num, k = exact_indices.shape
    rows = np.repeat(np.arange(num, dtype=np.int64), k)
    exact_keys = rows * num + exact_indices.reshape(-1)
    approx_keys = rows * num + approx_indices.reshape(-1)
    return float(np.isin(approx_keys, exact_keys).sum()) / (num * k)
