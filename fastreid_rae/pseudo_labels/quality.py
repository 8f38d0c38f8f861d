"""Pseudo-label quality against ground-truth identities (for logs, tests and benchmarks).

Outliers (label -1) count as singleton clusters: they form no pair and agree with nobody.
Pairwise precision/recall compare the set of same-label pairs with the set of same-identity
pairs; both come from contingency counts n_ab (images with label a and identity b), so no
N x N matrix is formed:

    true pairs = sum_ab C(n_ab, 2),  predicted pairs = sum_a C(n_a, 2),  actual = sum_b C(n_b, 2)
    precision = true / predicted,    recall = true / actual    (1.0 when the denominator is 0)
"""
from typing import Dict

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import adjusted_rand_score


def _outliers_as_singletons(labels: np.ndarray) -> np.ndarray:
    labels = np.asarray(labels).astype(np.int64).reshape(-1)
    singletons = labels < 0
    out = labels.copy()
    out[singletons] = labels.max(initial=-1) + 1 + np.arange(int(singletons.sum()))
    return out


def _pairs(counts: np.ndarray) -> int:
    counts = np.asarray(counts, dtype=np.int64)
    return int((counts * (counts - 1) // 2).sum())


def pairwise_precision_recall(labels: np.ndarray, identities: np.ndarray) -> Dict[str, float]:
    labels = _outliers_as_singletons(labels)
    identities = _outliers_as_singletons(identities)
    if len(labels) != len(identities):
        raise ValueError(f"{len(labels)} pseudo-labels for {len(identities)} identities")
    _, labels = np.unique(labels, return_inverse=True)
    _, identities = np.unique(identities, return_inverse=True)
    contingency = sp.coo_matrix(
        (np.ones(len(labels), dtype=np.int64), (labels, identities))
    ).tocsr()  # duplicates summed: n_ab
    return _precision_recall(_pairs(contingency.data), _pairs(np.bincount(labels)),
                             _pairs(np.bincount(identities)))


def multi_label_precision_recall(positive: np.ndarray, rows: np.ndarray,
                                 identities: np.ndarray) -> Dict[str, float]:
    """Pairwise precision / recall of multi-labels: ``positive[k, j]`` says image ``rows[k]``
    takes image j as a positive. Pairs (rows[k], j) with j != rows[k], against the pairs of
    the same identity; outliers (identity -1) have none. 1.0 when a denominator is 0."""
    positive, rows = np.asarray(positive, dtype=bool), np.asarray(rows)
    identities = _outliers_as_singletons(identities)
    same_identity = identities[rows][:, None] == identities[None, :]
    # an image is of its own identity: where it is its own positive, that pair is not counted
    self_positive = int(positive[np.arange(len(rows)), rows].sum())
    return _precision_recall(int((positive & same_identity).sum()) - self_positive,
                             int(positive.sum()) - self_positive,
                             int(same_identity.sum()) - len(rows))


def _precision_recall(true_pairs: int, predicted_pairs: int, actual_pairs: int) -> Dict[str, float]:
    return {
        "precision": true_pairs / predicted_pairs if predicted_pairs else 1.0,
        "recall": true_pairs / actual_pairs if actual_pairs else 1.0,
    }


def adjusted_rand_index(labels: np.ndarray, identities: np.ndarray) -> float:
    return float(
        adjusted_rand_score(_outliers_as_singletons(identities), _outliers_as_singletons(labels))
    )


def pseudo_label_quality(labels: np.ndarray, identities: np.ndarray) -> Dict[str, float]:
    """ARI, pairwise precision / recall / F1, and cluster / outlier counts."""
    scores = pairwise_precision_recall(labels, identities)
    precision, recall = scores["precision"], scores["recall"]
    labels = np.asarray(labels)
    return {
        "ari": adjusted_rand_index(labels, identities),
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "num_clusters": int(len(np.unique(labels[labels >= 0]))),
        "num_outliers": int((labels < 0).sum()),
    }
