"""Sparse k-reciprocal Jaccard distance (Zhong et al., CVPR 2017), as SpCL/OpenUnReID use it.

The dense recipe (SpCL's ``compute_jaccard_distance``) builds two N x N matrices; at MSMT17
size (32,621 images) that is 4 GB each. Every step below is the same arithmetic on sparse
matrices, so memory follows the number of neighbour pairs, not N^2:

1. k-reciprocal nearest neighbours: R(i, k) = {j in N(i, k) : i in N(j, k)}, where
   N(i, k) holds i and its k nearest neighbours (k + 1 entries). As a 0/1 matrix,
   R = F * F^T (element-wise) with F[i, j] = 1 for j in N(i, k).
2. Expansion to R*(i, k1): for each c in R(i, k1), R(c, k1/2) joins when
   |R(i, k1) ∩ R(c, k1/2)| > 2/3 |R(c, k1/2)|. All intersection sizes at once are the
   sparse product R(k1) @ R(k1/2)^T restricted to the pattern of R(k1).
3. Encoding with SpCL's weights: V[i, j] = softmax_j(-d(i, j)) over R*(i, k1),
   d the squared Euclidean distance (2 - 2 cos for unit features).
4. Local query expansion: V <- mean of V's rows over N(i, k2 - 1) (k2 entries,
   i itself first), i.e. a sparse product with a row-stochastic matrix.
5. Jaccard: J(i, j) = 1 - sum_k min(V_ik, V_jk) / sum_k max(V_ik, V_jk); rows of V
   sum to 1, so the denominator is 2 - sum_k min (SpCL's form). Only pairs sharing a non-zero
   column have sum_k min > 0; all others are at distance exactly 1. The min-sums are
   accumulated column by column over pairs (i < j) in row chunks.

``max_distance`` keeps only pairs at or below it (DBSCAN with eps needs nothing more: a pair
above eps is never a neighbour), which is what makes the result small.

Note on k: SpCL's faiss path asks faiss for k1 neighbours, so its "N(i, k1)" silently holds
k1 entries (self + k1 - 1). We follow Zhong et al.'s definition (self + k1).
"""
import logging
from typing import Callable, Optional

import numpy as np
import scipy.sparse as sp
from tqdm import tqdm

from .neighbors import NeighborLists, knn_search, pair_sq_distances

logger = logging.getLogger(__name__)

# Row blocks for summing minima: at most 1M generated pairs (~70 bytes each while the block
# is alive) and a float64 accumulator of at most 4M cells (32 MB), reused by every block.
_ACCUMULATOR_CELLS = 4_000_000
_PAIRS_PER_BLOCK = 1_000_000


def _rows_of(indptr: np.ndarray) -> np.ndarray:
    """Row id of every stored entry of a CSR matrix."""
    return np.repeat(np.arange(len(indptr) - 1, dtype=np.int64), np.diff(indptr))


def _row_sums(values: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    return np.bincount(_rows_of(indptr), weights=values, minlength=len(indptr) - 1)


def _neighbourhood_matrix(knn_indices: np.ndarray, k: int, values=None) -> sp.csr_matrix:
    """0/1 (or ``values``) CSR matrix with row i holding N(i, k) = the first k + 1 neighbours."""
    num = knn_indices.shape[0]
    cols = knn_indices[:, : k + 1].astype(np.int32)
    data = np.ones(cols.size, dtype=np.int32) if values is None else values
    indptr = np.arange(0, cols.size + 1, k + 1, dtype=np.int64)
    matrix = sp.csr_matrix((data, cols.reshape(-1), indptr), shape=(num, num))
    matrix.sort_indices()
    return matrix


def _k_reciprocal(knn_indices: np.ndarray, k: int) -> sp.csr_matrix:
    """k-reciprocal neighbours R(i, k) as a 0/1 CSR matrix."""
    forward = _neighbourhood_matrix(knn_indices, k)
    reciprocal = forward.multiply(forward.T).tocsr()
    reciprocal.sort_indices()
    return reciprocal


def _expanded_sets(knn_indices: np.ndarray, k1: int) -> sp.csr_matrix:
    """Expanded sets R*(i, k1) as a 0/1 CSR matrix (sorted indices)."""
    reciprocal = _k_reciprocal(knn_indices, k1)
    k_half = int(np.around(k1 / 2))  # the reference rounds half to even, as np.around does
    reciprocal_half = _k_reciprocal(knn_indices, k_half)

    # overlap[i, c] = |R(i, k1) ∩ R(c, k1/2)|, needed only for candidates c in R(i, k1)
    overlap = (reciprocal @ reciprocal_half.T).multiply(reciprocal).tocsr()
    overlap.eliminate_zeros()
    candidate_size = np.diff(reciprocal_half.indptr)[overlap.indices]
    accepted = 3 * overlap.data > 2 * candidate_size  # "> 2/3 |R(c, k1/2)|", in integers
    rows = _rows_of(overlap.indptr)[accepted]
    acceptance = sp.csr_matrix(
        (np.ones(int(accepted.sum()), dtype=np.int32), (rows, overlap.indices[accepted])),
        shape=reciprocal.shape,
    )
    expanded = (reciprocal + acceptance @ reciprocal_half).tocsr()
    expanded.data[:] = 1
    expanded.sort_indices()
    return expanded


def _lookup_knn_distances(
    keys: np.ndarray, knn_distances: np.ndarray, knn_indices: np.ndarray
) -> tuple:
    """Distances of pairs (as keys i * N + j) already measured by the k-NN search, either way."""
    num, k = knn_indices.shape
    rows = np.repeat(np.arange(num, dtype=np.int64), k)
    cols = knn_indices.reshape(-1).astype(np.int64)
    known_keys = np.concatenate([rows * num + cols, cols * num + rows])
    known_dist = np.concatenate([knn_distances.reshape(-1), knn_distances.reshape(-1)])
    order = np.argsort(known_keys, kind="stable")
    known_keys, known_dist = known_keys[order], known_dist[order]
    pos = np.minimum(np.searchsorted(known_keys, keys), len(known_keys) - 1)
    found = known_keys[pos] == keys
    return known_dist[pos].astype(np.float64), found


def _encode(expanded: sp.csr_matrix, distances: np.ndarray) -> sp.csr_matrix:
    """SpCL's encoding: row-wise softmax of -d over each expanded set (float64)."""
    rows = _rows_of(expanded.indptr)
    row_min = np.full(expanded.shape[0], np.inf)
    np.minimum.at(row_min, rows, distances)
    weights = np.exp(-(distances - row_min[rows]))  # shift by the row minimum: same softmax
    weights /= _row_sums(weights, expanded.indptr)[rows]
    return sp.csr_matrix((weights, expanded.indices, expanded.indptr), shape=expanded.shape)


def _query_expansion(encoding: sp.csr_matrix, knn_indices: np.ndarray, k2: int) -> sp.csr_matrix:
    """Local query expansion: average V's rows over the k2 nearest (the row itself first)."""
    if k2 == 1:
        return encoding
    averaging = _neighbourhood_matrix(
        knn_indices, k2 - 1, values=np.full(knn_indices.shape[0] * k2, 1.0 / k2)
    )
    expanded = (averaging @ encoding).tocsr()
    expanded.sort_indices()
    return expanded


def _row_blocks(pairs_per_row: np.ndarray, max_rows: int, max_pairs: int) -> list:
    """Split rows into consecutive blocks of at most ``max_rows`` rows and ~``max_pairs`` pairs."""
    bounds, rows_in_block, pairs_in_block = [0], 0, 0
    for row, count in enumerate(pairs_per_row.tolist()):
        if rows_in_block and (rows_in_block == max_rows or pairs_in_block + count > max_pairs):
            bounds.append(row)
            rows_in_block, pairs_in_block = 0, 0
        rows_in_block += 1
        pairs_in_block += count
    bounds.append(len(pairs_per_row))
    return list(zip(bounds[:-1], bounds[1:]))


def _sum_of_minima_upper(encoding: sp.csr_matrix, max_distance: float, progress: bool) -> tuple:
    """Pairs i < j sharing a column, with J(i, j) = 1 - m / (2 - m) <= max_distance.

    m = sum_k min(V_ik, V_jk). Each stored V_ik pairs with the entries below it in column k
    (j > i), so every unordered pair is generated once per shared column. A block of rows is
    summed by scattering into a reused (rows x N) accumulator (``np.add.at``), read back and
    reset at the same cells: cost follows the number of generated pairs, never N^2, and is
    several times faster than sorting the pairs (COO -> CSR).
    """
    num = encoding.shape[0]
    entry_rows = _rows_of(encoding.indptr)
    entry_cols = encoding.indices.astype(np.int64)
    # CSC view of the same entries: stable sort by column keeps rows ascending within a column
    csc_order = np.argsort(entry_cols, kind="stable")
    csc_rows = entry_rows[csc_order]
    csc_values = encoding.data[csc_order]
    col_end = np.cumsum(np.bincount(entry_cols, minlength=num))
    csc_position = np.empty_like(csc_order)
    csc_position[csc_order] = np.arange(len(csc_order))
    # partners of entry e: the CSC slots after it in its column
    partners = col_end[entry_cols] - csc_position - 1
    pairs_per_row = _row_sums(partners, encoding.indptr).astype(np.int64)

    # m >= threshold  <=>  J <= max_distance (J decreases in m)
    threshold = 2.0 * (1.0 - max_distance) / (2.0 - max_distance)
    rows_per_block = max(1, min(num, _ACCUMULATOR_CELLS // num))
    accumulator = np.zeros(rows_per_block * num)
    blocks = _row_blocks(pairs_per_row, rows_per_block, _PAIRS_PER_BLOCK)
    kept_cells, kept_sums = [], []
    for start, stop in tqdm(blocks, desc="Jaccard sums", disable=not progress or len(blocks) < 2):
        lo, hi = encoding.indptr[start], encoding.indptr[stop]
        counts = partners[lo:hi]
        total = int(counts.sum())
        if total == 0:
            continue
        # ragged arange: entry e owns CSC slots csc_position[e] + 1 ... csc_position[e] + counts[e]
        slots = np.repeat(csc_position[lo:hi] + 1 - (np.cumsum(counts) - counts), counts)
        slots += np.arange(total, dtype=np.int64)
        minima = np.minimum(np.repeat(encoding.data[lo:hi], counts), csc_values[slots])
        cells = np.repeat((entry_rows[lo:hi] - start) * num, counts) + csc_rows[slots]
        np.add.at(accumulator, cells, minima)
        sums = accumulator[cells]
        accumulator[cells] = 0.0
        # a cell appears once per shared column; keep one copy of those that pass
        passes = sums >= threshold
        passing, first = np.unique(cells[passes], return_index=True)
        kept_cells.append(passing + start * num)
        kept_sums.append(sums[passes][first])
    if not kept_cells:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0)
    kept_cells = np.concatenate(kept_cells)
    return kept_cells // num, kept_cells % num, np.concatenate(kept_sums)


def k_reciprocal_jaccard(
    knn_distances: np.ndarray,
    knn_indices: np.ndarray,
    pair_distance: Callable[[np.ndarray, np.ndarray], np.ndarray],
    k1: int = 30,
    k2: int = 6,
    max_distance: Optional[float] = None,
    progress: bool = True,
) -> sp.csr_matrix:
    """Sparse k-reciprocal Jaccard distance from a k-NN graph.

    Args:
        knn_distances, knn_indices: N x K neighbour lists sorted by ascending distance, each
            row starting with the row itself; K >= k1 + 1 (``knn_search(features, k1 + 1)``).
        pair_distance: distance of arbitrary pairs ``(rows, cols) -> d``, the same distance
            the k-NN lists hold; called only for expanded-set pairs the lists do not cover.
        k1, k2: Zhong et al.'s k1 (reciprocal neighbours) and k2 (query expansion).
        max_distance: keep pairs with J <= max_distance (None: every pair with J < 1).

    Returns:
        Symmetric N x N CSR matrix (float64) of Jaccard distances with the diagonal stored
        as explicit zeros; a pair that is not stored is at distance > max_distance (or 1).
    """
    num, width = knn_indices.shape
    k1 = min(int(k1), num - 1)
    if width < k1 + 1:
        raise ValueError(f"k_reciprocal_jaccard needs k1 + 1 = {k1 + 1} neighbours per row, got {width}")
    if not 1 <= k2 <= k1 + 1:
        raise ValueError(f"RAE.PSEUDO_LABEL.DBSCAN.K2 must be in [1, K1 + 1 = {k1 + 1}], got {k2}")
    if max_distance is None:
        max_distance = np.nextafter(1.0, 0.0)
    if not 0.0 <= max_distance < 1.0:
        raise ValueError(f"max_distance must be in [0, 1), got {max_distance}")

    expanded = _expanded_sets(knn_indices, k1)
    keys = _rows_of(expanded.indptr) * num + expanded.indices
    distances, found = _lookup_knn_distances(keys, knn_distances, knn_indices)
    missing = np.flatnonzero(~found)
    if len(missing):
        distances[missing] = pair_distance(keys[missing] // num, keys[missing] % num)
    logger.debug(
        "k-reciprocal sets: %.1f members per image, %d pair distances beyond the k-NN lists",
        expanded.nnz / num, len(missing),
    )
    encoding = _query_expansion(_encode(expanded, distances), knn_indices, k2)

    rows, cols, minima = _sum_of_minima_upper(encoding, max_distance, progress)
    jaccard = np.maximum(1.0 - minima / (2.0 - minima), 0.0)  # SpCL clips rounding below 0
    diagonal = np.arange(num, dtype=np.int64)
    result = sp.coo_matrix(
        (
            np.concatenate([jaccard, jaccard, np.zeros(num)]),
            (np.concatenate([rows, cols, diagonal]), np.concatenate([cols, rows, diagonal])),
        ),
        shape=(num, num),
    ).tocsr()
    result.sort_indices()
    return result


def jaccard_from_neighbors(
    features: np.ndarray,
    neighbors: NeighborLists,
    k1: int = 30,
    k2: int = 6,
    max_distance: Optional[float] = None,
    progress: bool = True,
) -> sp.csr_matrix:
    """``k_reciprocal_jaccard`` of ``features`` from their k-NN lists (at least k1 + 1 wide)."""
    k1 = min(int(k1), len(features) - 1)
    return k_reciprocal_jaccard(
        neighbors.distances[:, : k1 + 1],
        neighbors.indices[:, : k1 + 1],
        lambda rows, cols: pair_sq_distances(features, rows, cols),
        k1=k1,
        k2=k2,
        max_distance=max_distance,
        progress=progress,
    )


def jaccard_distance(
    features: np.ndarray,
    k1: int = 30,
    k2: int = 6,
    max_distance: Optional[float] = None,
    progress: bool = True,
    **search_options,
) -> sp.csr_matrix:
    """``k_reciprocal_jaccard`` on squared Euclidean distances of ``features`` (normalise first).

    ``search_options`` go to ``neighbors.knn_search`` (method, num_lists, nprobe, ...).
    """
    features = np.ascontiguousarray(features, dtype=np.float32)
    neighbors = knn_search(
        features, min(k1, len(features) - 1) + 1, progress=progress, **search_options
    )
    return jaccard_from_neighbors(features, neighbors, k1, k2, max_distance, progress)
