"""Vectorised CMC / mAP / mINP under the Market-1501 protocol, as fastreid's ``evaluate_rank``.

fastreid 1.4.0's wheel ships its Cython ranker uncompiled, and its python ranker
(``fastreid/evaluation/rank.py::eval_market1501``) loops over queries in Python and breaks on
small galleries: it stacks per-query CMC rows of different lengths whenever a query keeps
fewer than ``max_rank`` gallery images after the same-camera rule. This ranker computes the
same numbers for whole blocks of queries at once, with memory bounded by ``chunk_size``.
"""
import numpy as np


def evaluate_rank(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=50, chunk_size=256):
    """``(cmc, all_AP, all_INP)`` exactly as fastreid's ``evaluate_rank`` returns them.

    Gallery images of the query's identity taken by the query's camera are ignored; queries
    whose identity has no other image in the gallery are skipped. ``cmc[k-1]`` is the share of
    queries with a true match in the top k; AP averages precision at each true match; INP is
    (number of true matches) / (rank of the last one).
    """
    distmat = np.asarray(distmat)
    q_pids, g_pids = np.asarray(q_pids), np.asarray(g_pids)
    q_camids, g_camids = np.asarray(q_camids), np.asarray(g_camids)
    num_q, num_g = distmat.shape
    max_rank = min(max_rank, num_g)
    ranks = np.arange(1, max_rank + 1)

    cmc_hits, all_ap, all_inp = [], [], []
    for start in range(0, num_q, chunk_size):
        rows = slice(start, min(start + chunk_size, num_q))
        order = np.argsort(distmat[rows], axis=1)
        same_id = g_pids[order] == q_pids[rows, None]
        kept = ~(same_id & (g_camids[order] == q_camids[rows, None]))
        hits = same_id & kept
        valid = hits.any(axis=1)
        hits, kept = hits[valid], kept[valid]

        kept_rank = np.cumsum(kept, axis=1)  # 1-based rank of each gallery image once junk is dropped
        hit_count = np.cumsum(hits, axis=1)
        num_rel = hit_count[:, -1]
        first_hit_rank = kept_rank[np.arange(len(hits)), hits.argmax(axis=1)]
        last_hit_rank = np.where(hits, kept_rank, 0).max(axis=1)

        cmc_hits.append(first_hit_rank[:, None] <= ranks[None, :])
        all_ap.extend(np.where(hits, hit_count / kept_rank, 0.0).sum(axis=1) / num_rel)
        all_inp.extend(num_rel / last_hit_rank)

    if not all_ap:
        raise ValueError("no query identity appears in the gallery (after ignoring the "
                         "query's own camera); check the query/gallery split")
    cmc = np.concatenate(cmc_hits).mean(axis=0).astype(np.float32)
    return cmc, all_ap, all_inp
