"""The one neighbour search every pseudo-label backend shares (faiss, CPU, chunked), and the
check that keeps an approximate search from clustering on wrong neighbours.

``knn_search`` returns, for each feature, its ``k`` nearest features (itself included, at
distance ~0) as two dense ``N x k`` arrays, never an ``N x N`` matrix, plus a
``SearchReport`` saying which search produced them and how well it agreed with exact search.
Search methods are registered in ``NEIGHBOR_INDEX_REGISTRY`` (``NEIGHBORS.METHOD``):

* ``exact``: brute force (``faiss.knn``: BLAS distance blocks + heaps, no copy of the
  features into an index).
* ``approximate``: an inverted file (``faiss.IndexIVFFlat``, 4 sqrt(N) lists by default,
  spherical coarse k-means seeded so runs repeat); each query scans ``nprobe`` lists.

An approximate search is only as good as the features are clustered: on tight re-ID features
its recall is ~1, on the loose features of an early adaptation epoch it can be 0.75 (docs/
pseudo_labels.md). So before searching all N rows it is checked: a seeded sample of rows is
searched both ways, and while recall@k is below ``min_recall`` the probe count is doubled
(up to 1/16 of the lists, beyond which scanning lists costs about as much as the exact
BLAS search); if that is not enough, the exact search runs instead. Either way the report
says so, and the trainer logs it.

Distances are squared Euclidean, which for L2-normalised features is ``2 - 2 cos``, the
distance SpCL's k-reciprocal encoding uses.
"""
import logging
import time
from dataclasses import dataclass, field
from typing import Dict, List, NamedTuple, Optional, Tuple

import faiss
import numpy as np
from fastreid.utils.registry import Registry
from tqdm import tqdm

logger = logging.getLogger(__name__)

NEIGHBOR_INDEX_REGISTRY = Registry("NEIGHBOR_INDEX")
NEIGHBOR_INDEX_REGISTRY.__doc__ = """
Neighbour search methods: ``builder(features, num_lists, nprobe, seed) -> index`` with
``index.search(queries, k) -> (squared distances, indices)``, ``index.nprobe`` (None where
there is nothing to probe) and ``index.widen() -> bool`` (search wider; False: cannot).
"""

# rows whose neighbours are searched both ways to measure an approximate search's recall:
# 256 x k = ~8,000 neighbour slots (recall to about +- 0.01); costs 256 / N of an exact search
RECALL_SAMPLE_SIZE = 256
# The list scan computes one distance at a time, ~15-20x slower per distance than exact
# search's BLAS blocks (measured at N = 32,621, d = 2048): probing more than ~1/16 of the
# lists costs about as much as the exact search, so widening stops there.
MAX_PROBED_SHARE = 1 / 16
NPROBE_GROWTH = 2


def _as_float32_rows(features: np.ndarray) -> np.ndarray:
    features = np.ascontiguousarray(features, dtype=np.float32)
    if features.ndim != 2:
        raise ValueError(f"features must be a 2-D (N x d) array, got shape {features.shape}")
    return features


class ExactIndex:
    nprobe = None

    def __init__(self, features: np.ndarray):
        self.features = features

    def search(self, queries: np.ndarray, k: int) -> Tuple[np.ndarray, np.ndarray]:
        return faiss.knn(queries, self.features, k, metric=faiss.METRIC_L2)

    def widen(self) -> bool:
        return False


class InvertedFileIndex:
    """faiss IVF-Flat whose probe count can be raised after it is built."""

    def __init__(self, features: np.ndarray, num_lists: int = 0, nprobe: int = 16, seed: int = 0):
        num, dim = features.shape
        if num_lists <= 0:
            num_lists = int(round(4 * np.sqrt(num)))  # faiss's rule of thumb: O(sqrt(N)) lists
        num_lists = max(1, min(num_lists, num // 8))  # keep a few points per list to train on
        index = faiss.IndexIVFFlat(faiss.IndexFlatL2(dim), dim, num_lists, faiss.METRIC_L2)
        index.cp.seed = seed
        index.cp.min_points_per_centroid = 1  # no warning spam on small sets
        # Unit centroids: with plain L2 k-means, on loose features a few centroids that average
        # many unrelated rows end up short and near every row, so they swallow the data (one
        # list held 44 % of N = 32,621 hard features: slow and blind to the rest).
        index.cp.spherical = True
        # The coarse quantiser only routes queries: 16 points per list and 10 iterations
        # (a sixth of faiss's default 40 x 25 training cost, which alone took ~10 s at
        # MSMT17 size) route as well as the default; the recall check guards the rest.
        index.cp.niter = 10
        rng = np.random.default_rng(seed)
        index.train(features[np.sort(rng.choice(num, min(num, 16 * num_lists), replace=False))])
        index.add(features)  # the inverted lists hold a copy of the features
        self.index = index
        self.num_lists = num_lists
        self.nprobe = min(int(nprobe), num_lists)
        self.max_nprobe = max(self.nprobe, int(MAX_PROBED_SHARE * num_lists))

    @property
    def nprobe(self) -> int:
        return self.index.nprobe

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        self.index.nprobe = value

    def search(self, queries: np.ndarray, k: int) -> Tuple[np.ndarray, np.ndarray]:
        return self.index.search(queries, k)

    def widen(self) -> bool:
        if self.nprobe >= self.max_nprobe:
            return False
        self.nprobe = min(self.nprobe * NPROBE_GROWTH, self.max_nprobe)
        return True


@NEIGHBOR_INDEX_REGISTRY.register()
def exact(features: np.ndarray, num_lists: int, nprobe: int, seed: int) -> ExactIndex:
    return ExactIndex(features)


@NEIGHBOR_INDEX_REGISTRY.register()
def approximate(features: np.ndarray, num_lists: int, nprobe: int, seed: int) -> InvertedFileIndex:
    return InvertedFileIndex(features, num_lists, nprobe, seed)


# fastreid's Registry has no public listing; its name map is the source of truth
SEARCH_METHODS = tuple(sorted(NEIGHBOR_INDEX_REGISTRY._obj_map))


@dataclass
class SearchReport:
    """How one k-NN search went. ``recall`` is recall@k of the approximate search (at the
    last probe count tried) on ``sample_size`` seeded rows against exact search; 1.0 for an
    exact search, which is not sampled. ``attempts``: (nprobe, recall) per probe count tried."""

    method: str  # asked for (NEIGHBORS.METHOD)
    used: str  # produced the lists: the method, or "exact" after a fallback
    recall: float = 1.0
    min_recall: float = 0.0
    sample_size: int = 0
    nprobe: Optional[int] = None  # lists scanned per query by the search that was used
    attempts: List[Tuple[int, float]] = field(default_factory=list)
    # wall seconds of building the index (IVF training + adding), the recall check, the search
    seconds: Dict[str, float] = field(default_factory=dict)

    @property
    def fell_back(self) -> bool:
        return self.used != self.method

    def summary(self) -> str:
        if not self.attempts:
            return f"{self.used} k-NN"
        tried = ", ".join(f"{recall:.3f} at nprobe {nprobe}" for nprobe, recall in self.attempts)
        outcome = ("fell back to exact search" if self.fell_back
                   else f"searched with nprobe {self.nprobe}")
        return (f"{self.method} k-NN recall@k on {self.sample_size} sampled rows vs exact: "
                f"{tried} (MIN_RECALL {self.min_recall}); {outcome}")

    def scalars(self) -> dict:
        return dict(knn_recall=self.recall, knn_exact_fallback=float(self.fell_back))


class NeighborLists(NamedTuple):
    distances: np.ndarray  # N x k float32 squared Euclidean, ascending per row, >= 0
    indices: np.ndarray  # N x k int32
    report: SearchReport


def _recall_sample(num: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(num, min(num, RECALL_SAMPLE_SIZE), replace=False))


def _checked_index(features: np.ndarray, k: int, method: str, index, min_recall: float, seed: int):
    """``index``, widened until its recall on a seeded sample reaches ``min_recall``, or the
    exact index if it cannot; and the report of what was measured."""
    report = SearchReport(method=method, used=method, min_recall=min_recall, nprobe=index.nprobe)
    if isinstance(index, ExactIndex):
        return index, report
    queries = features[_recall_sample(len(features), seed)]
    _, truth = faiss.knn(queries, features, k, metric=faiss.METRIC_L2)
    report.sample_size = len(queries)
    while True:
        _, found = index.search(queries, k)
        report.recall = knn_recall(found, truth)
        report.attempts.append((index.nprobe, report.recall))
        report.nprobe = index.nprobe
        if report.recall >= min_recall:
            return index, report
        tried = index.nprobe
        if not index.widen():
            break
        logger.warning(
            "%s k-NN recall@%d %.3f < RAE.PSEUDO_LABEL.NEIGHBORS.MIN_RECALL %.3f at nprobe %d; "
            "raising nprobe to %d", method, k, report.recall, min_recall, tried, index.nprobe,
        )
    logger.warning(
        "%s k-NN recall@%d %.3f < RAE.PSEUDO_LABEL.NEIGHBORS.MIN_RECALL %.3f even at nprobe %d "
        "(the widest search cheaper than exact); falling back to exact search",
        method, k, report.recall, min_recall, report.nprobe,
    )
    report.used, report.nprobe = "exact", None
    return ExactIndex(features), report


def _check_search_options(method: str, min_recall: float) -> None:
    if method not in SEARCH_METHODS:
        raise ValueError(
            f"RAE.PSEUDO_LABEL.NEIGHBORS.METHOD must be one of {SEARCH_METHODS}, got {method!r}"
        )
    if not 0.0 <= min_recall <= 1.0:
        raise ValueError(
            f"RAE.PSEUDO_LABEL.NEIGHBORS.MIN_RECALL must be in [0, 1], got {min_recall}"
        )


def knn_search(
    features: np.ndarray,
    k: int,
    method: str = "exact",
    chunk_size: int = 4096,
    num_lists: int = 0,
    nprobe: int = 16,
    min_recall: float = 0.95,
    seed: int = 0,
    progress: bool = True,
) -> NeighborLists:
    """k nearest neighbours of every row of ``features`` among all rows.

    Args:
        features: N x d float array (normalise first if the caller wants cosine ranking).
        k: neighbours per row, the row itself included; clipped to N.
        method: a name in ``NEIGHBOR_INDEX_REGISTRY`` ("exact", "approximate").
        chunk_size: queries per faiss call.
        num_lists, nprobe: inverted lists (0: 4 sqrt(N)) and lists scanned per query at first
            (approximate only).
        min_recall: an approximate search whose recall@k on a seeded sample of rows is
            below this searches wider, or falls back to exact search (see module docstring).
        seed: the coarse k-means seed and the recall sample's.
        progress: show a tqdm bar over query chunks.

    Returns:
        ``NeighborLists(distances, indices, report)``: N x k float32 squared Euclidean
        distances (ascending per row, >= 0), N x k int32 indices, the ``SearchReport``.
    """
    features = _as_float32_rows(features)
    num = features.shape[0]
    k = min(int(k), num)
    if k < 1:
        raise ValueError(f"knn_search needs k >= 1 and at least one feature, got k={k}, N={num}")
    _check_search_options(method, min_recall)
    began = time.perf_counter()
    index = NEIGHBOR_INDEX_REGISTRY.get(method)(features, num_lists, nprobe, seed)
    built = time.perf_counter()
    index, report = _checked_index(features, k, method, index, min_recall, seed)
    checked = time.perf_counter()

    distances = np.empty((num, k), dtype=np.float32)
    indices = np.empty((num, k), dtype=np.int32)
    starts = range(0, num, chunk_size)
    for start in tqdm(starts, desc=f"{report.used} k-NN (k={k})", disable=not progress or len(starts) < 2):
        stop = min(start + chunk_size, num)
        dist, idx = index.search(features[start:stop], k)
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
    report.seconds = dict(build=built - began, check=checked - built,
                          search=time.perf_counter() - checked)
    return NeighborLists(distances, indices, report)


def search_options_from_config(cfg) -> dict:
    """``knn_search`` keyword arguments from ``cfg.RAE.PSEUDO_LABEL.NEIGHBORS``."""
    node = cfg.RAE.PSEUDO_LABEL.NEIGHBORS
    _check_search_options(node.METHOD, node.MIN_RECALL)  # at build time, not first epoch
    return dict(method=node.METHOD, num_lists=node.NUM_LISTS, nprobe=node.NPROBE,
                min_recall=node.MIN_RECALL)


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
    # key = row * span + index + 1: unique per (row, neighbour) whatever the rows are (a
    # sample of queries searched among all N), and a missing neighbour (-1) matches nothing
    span = int(max(exact_indices.max(), approx_indices.max())) + 2
    rows = np.repeat(np.arange(num, dtype=np.int64), k) * span
    exact_keys = rows + exact_indices.reshape(-1) + 1
    approx_keys = rows + approx_indices.reshape(-1) + 1
    return float(np.isin(approx_keys, exact_keys).sum()) / (num * k)
