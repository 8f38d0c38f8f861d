"""Pseudo-label quality against ground-truth identities (for logs, tests and benchmarks), and
the label-free figures that can be watched on a target without identities (your own cameras).

Outliers (label -1) count as singleton clusters: they form no pair and agree with nobody.
Pairwise precision/recall compare the set of same-label pairs with the set of same-identity
pairs; both come from contingency counts n_ab (images with label a and identity b), so no
N x N matrix is formed:

    true pairs = sum_ab C(n_ab, 2),  predicted pairs = sum_a C(n_a, 2),  actual = sum_b C(n_b, 2)
    precision = true / predicted,    recall = true / actual    (1.0 when the denominator is 0)
"""
from typing import Dict, Optional

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


def cluster_sizes(labels: np.ndarray) -> np.ndarray:
    """Images per cluster 0..C-1 (outliers, label -1, in none)."""
    labels = np.asarray(labels).astype(np.int64).reshape(-1)
    return np.bincount(labels[labels >= 0])


def multi_camera_share(labels: np.ndarray, camids: np.ndarray) -> float:
    """Share of the clusters whose images come from more than one camera. A person is seen by
    several cameras; a cluster held together by one camera's background or colour cast is
    not."""
    labels = np.asarray(labels).astype(np.int64).reshape(-1)
    _, cameras = np.unique(np.asarray(camids).reshape(-1), return_inverse=True)  # any id type
    inliers = labels >= 0
    if not inliers.any():
        return 0.0
    label_camera = np.unique(np.stack([labels[inliers], cameras.reshape(-1)[inliers]]), axis=1)
    cameras_per_cluster = np.bincount(label_camera[0])
    cameras_per_cluster = cameras_per_cluster[cameras_per_cluster > 0]
    return float((cameras_per_cluster > 1).mean())


def label_change(labels: np.ndarray, previous: np.ndarray) -> Optional[float]:
    """ARI of ``labels`` against ``previous`` on the images that both place in a cluster;
    None when fewer than two are (nothing to compare). 1.0: the same partition again."""
    labels, previous = np.asarray(labels).reshape(-1), np.asarray(previous).reshape(-1)
    if len(labels) != len(previous):
        raise ValueError(f"{len(labels)} labels against {len(previous)} previous ones")
    both = (labels >= 0) & (previous >= 0)
    if both.sum() < 2:
        return None
    return float(adjusted_rand_score(previous[both], labels[both]))


def label_free_quality(labels: np.ndarray, camids: np.ndarray,
                       previous: Optional[np.ndarray] = None) -> Dict[str, float]:
    """What the labels say about themselves, with no identities: cluster count, outlier
    share, cluster sizes (min / median / max, the share of singleton clusters, the largest
    cluster's share of all images), the share of clusters spanning several cameras, and
    ``ari_to_previous`` (``label_change``; absent without previous labels or overlap).
    Sizes are 0 when there is no cluster."""
    labels = np.asarray(labels).reshape(-1)
    sizes = cluster_sizes(labels)
    sizes = sizes[sizes > 0]
    figures = {
        "clusters": int(len(sizes)),
        "outlier_share": float((labels < 0).mean()) if len(labels) else 0.0,
        "size_min": int(sizes.min()) if len(sizes) else 0,
        "size_median": float(np.median(sizes)) if len(sizes) else 0.0,
        "size_max": int(sizes.max(initial=0)),
        "singleton_share": float((sizes == 1).mean()) if len(sizes) else 0.0,
        "largest_share": float(sizes.max(initial=0) / len(labels)) if len(labels) else 0.0,
        "multi_camera_share": multi_camera_share(labels, camids),
    }
    change = None if previous is None else label_change(labels, previous)
    if change is not None:
        figures["ari_to_previous"] = change
    return figures
