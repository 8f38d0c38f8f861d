"""Vectorised CMC / mAP / mINP under the Market-1501 protocol, as fastreid's ``evaluate_rank``.

fastreid 1.4.0's wheel ships its Cython ranker uncompiled, and its python ranker
(``fastreid/evaluation/rank.py::eval_market1501``) loops over queries in Python, argsorts the
whole query x gallery matrix at once (int64: twice the matrix's float32 size) and breaks on
small galleries: it stacks per-query CMC rows of different lengths whenever a query keeps
fewer than ``max_rank`` gallery images after the same-camera rule.

Here queries are ranked one block at a time (``rank_blocks``), so memory is bounded by the
block: ``evaluate_rank`` cuts a dense matrix into blocks, ``chunked.ChunkedReidEvaluator``
computes each block's distances on the fly and never holds the dense matrix. Within a block
nothing is argsorted: the rank of a true match among the images a query keeps is the number
of kept images nearer than it (a binary search in the block's sorted distances), + 1.
Equal distances are ordered by gallery index, as a stable sort orders them.
"""
import numpy as np


def evaluate_rank(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=50, chunk_size=256):
    """``(cmc, all_AP, all_INP)`` exactly as fastreid's ``evaluate_rank`` returns them, from
    a dense ``(num_query, num_gallery)`` distance matrix ranked ``chunk_size`` rows at a time.
    """
    distmat = np.asarray(distmat)
    blocks = ((rows, distmat[rows]) for rows in query_blocks(len(distmat), chunk_size))
    return rank_blocks(blocks, q_pids, g_pids, q_camids, g_camids, max_rank)


def query_blocks(num_query, chunk_size):
    """Consecutive row slices of at most ``chunk_size`` queries covering ``num_query``."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive number of queries, got {chunk_size}")
    return [slice(start, min(start + chunk_size, num_query))
            for start in range(0, num_query, chunk_size)]


def rank_blocks(blocks, q_pids, g_pids, q_camids, g_camids, max_rank=50):
    """``(cmc, all_AP, all_INP)`` over all queries, given their distances block by block.

    ``blocks`` yields ``(rows, dist)``: a slice of the queries and their ``(len(rows),
    num_gallery)`` distances to the whole gallery. Gallery images of the query's identity
    taken by the query's camera are ignored; queries whose identity has no other image in
    the gallery are skipped. ``cmc[k-1]`` is the share of queries with a true match in the
    top k; AP averages precision at each true match; INP is (number of true matches) /
    (rank of the last one).
    """
    q_pids, g_pids = np.asarray(q_pids), np.asarray(g_pids)
    q_camids, g_camids = np.asarray(q_camids), np.asarray(g_camids)
    first_ranks, all_ap, all_inp = [], [], []
    for rows, dist in blocks:
        ranks, num_rel = true_match_ranks(dist, q_pids[rows], g_pids, q_camids[rows], g_camids)
        if not len(ranks):
            continue
        starts = np.cumsum(num_rel) - num_rel  # each query's first entry in ``ranks``
        j = np.arange(1, len(ranks) + 1) - np.repeat(starts, num_rel)  # j-th match of its query
        starts, num_rel = starts[num_rel > 0], num_rel[num_rel > 0]
        first_ranks.append(ranks[starts])
        all_ap.append(np.add.reduceat(j / ranks, starts) / num_rel)  # mean precision at matches
        all_inp.append(num_rel / ranks[starts + num_rel - 1])

    if not first_ranks:
        raise ValueError("no query identity appears in the gallery (after ignoring the "
                         "query's own camera); check the query/gallery split")
    first_ranks = np.concatenate(first_ranks)
    max_rank = min(max_rank, len(g_pids))
    cmc = (first_ranks[:, None] <= np.arange(1, max_rank + 1)).mean(axis=0).astype(np.float32)
    return cmc, np.concatenate(all_ap), np.concatenate(all_inp)


def true_match_ranks(dist, q_pids, g_pids, q_camids, g_camids):
    """Where each query of one block finds its true matches.

    Returns ``(ranks, num_rel)``: ``num_rel[i]`` true matches (same identity, other camera)
    of query i, and ``ranks``, the 1-based rank of each among the gallery images query i
    keeps, queries one after the other, each query's in increasing order.
    """
    dist = np.asarray(dist)
    same_id = q_pids[:, None] == g_pids[None, :]
    junk = same_id & (q_camids[:, None] == g_camids[None, :])
    rows, cols = np.nonzero(same_id & ~junk)
    kept_dist = np.where(junk, np.inf, dist)  # ignored images sort after every kept one
    del same_id, junk
    values = kept_dist[rows, cols]
    sorted_dist = np.sort(kept_dist, axis=1)

    num_rel = np.bincount(rows, minlength=len(dist))
    below = np.empty(len(rows), dtype=np.int64)  # kept images before each true match
    start = 0
    for query in np.flatnonzero(num_rel):
        part = slice(start, start + num_rel[query])
        start = part.stop
        below[part] = np.searchsorted(sorted_dist[query], values[part], side="left")
        equal = np.searchsorted(sorted_dist[query], values[part], side="right") - below[part]
        for k in np.flatnonzero(equal > 1):  # a tie: images at the same distance come first
            match = part.start + k           # when their gallery index is lower
            below[match] += np.count_nonzero(kept_dist[query, :cols[match]] == values[match])
    ranks = below + 1
    return ranks[np.lexsort((ranks, rows))], num_rel
