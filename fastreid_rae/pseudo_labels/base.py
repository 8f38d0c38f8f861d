"""The interface every pseudo-label backend implements (docs/design.md, "Pseudo-label backends").

Once per epoch the trainer calls ``assign(features, camids, frames)`` with the features of the
whole target training set; the backend answers with ``PseudoLabels`` (label -1 = outlier,
left out of that epoch's target set) and cluster centres (for the target classifier).
Every step the trainer calls ``loss(features, indices)`` with the target batch and its
dataset indices:

* clustering backends (``provides_loss = False``: dbscan, kmeans, jvtc) return None, and
  the trainer's CE + triplet on the pseudo-labels is the target loss, Eq. (5)-(7);
* memory backends (``provides_loss = True``: mmcl, memory_contrast) return their own loss and
  keep a memory, registered as buffers so ``state_dict()`` checkpoints it.

Backends are ``nn.Module``s so that ``.to(device)`` moves their memory and fastreid's
``Checkpointer`` can save them next to the model.
"""
from dataclasses import dataclass
from typing import Dict, FrozenSet, Optional, Tuple, Union

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from .neighbors import SearchReport

ArrayLike = Union[np.ndarray, torch.Tensor]

# Per-image side information a backend may require from the target dataset.
SIDE_INFORMATION = ("camids", "frames")


@dataclass
class PseudoLabels:
    """One epoch's pseudo-labels.

    Attributes:
        labels: (N,) int64; 0 .. num_clusters - 1, or -1 for an outlier.
        centers: (num_clusters, d) float32, mean of the input features of each cluster.
        num_clusters: number of clusters (outliers not counted).
        num_outliers: number of images labelled -1.
        neighbor_search: how the k-NN search behind the clusters went (its measured recall,
            a fallback to exact search), for backends that search neighbours; else None.
    """

    labels: np.ndarray
    centers: np.ndarray
    num_clusters: int
    num_outliers: int
    neighbor_search: Optional[SearchReport] = None

    @classmethod
    def from_assignment(
        cls,
        features: np.ndarray,
        assignment: np.ndarray,
        neighbor_search: Optional[SearchReport] = None,
    ) -> "PseudoLabels":
        """Relabel ``assignment`` (any ints, negative = outlier) to 0..C-1 and average centres."""
        assignment = np.asarray(assignment).astype(np.int64)
        labels = np.full(len(assignment), -1, dtype=np.int64)
        inliers = assignment >= 0
        _, labels[inliers] = np.unique(assignment[inliers], return_inverse=True)
        num_clusters = int(labels.max()) + 1 if inliers.any() else 0
        return cls(
            labels=labels,
            centers=cluster_centers(features, labels, num_clusters),
            num_clusters=num_clusters,
            num_outliers=int((~inliers).sum()),
            neighbor_search=neighbor_search,
        )


def cluster_centers(features: np.ndarray, labels: np.ndarray, num_clusters: int) -> np.ndarray:
    """Mean feature of each cluster 0..num_clusters-1 (outliers ignored), as a sparse product."""
    inliers = np.flatnonzero(labels >= 0)
    membership = sp.csr_matrix(
        (np.ones(len(inliers), dtype=np.float32), (labels[inliers], inliers)),
        shape=(num_clusters, len(labels)),
    )
    sizes = np.asarray(membership.sum(axis=1)).reshape(-1, 1)
    return np.asarray(membership @ features / np.maximum(sizes, 1), dtype=np.float32)


def as_feature_matrix(features: ArrayLike) -> np.ndarray:
    """N x d contiguous float32 numpy array from a numpy array or a (any-device) tensor."""
    if isinstance(features, torch.Tensor):
        features = features.detach().cpu().float().numpy()
    features = np.ascontiguousarray(features, dtype=np.float32)
    if features.ndim != 2 or len(features) == 0:
        raise ValueError(f"target features must be a non-empty N x d array, got shape {features.shape}")
    return features


def l2_normalize(features: np.ndarray) -> np.ndarray:
    """Unit rows (float32); already-unit features are returned as they are, not copied (an
    MSMT17-sized copy is 267 MB)."""
    features = np.asarray(features, dtype=np.float32)
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    if np.allclose(norms, 1.0, atol=1e-5):
        return features
    return features / np.maximum(norms, np.float32(1e-12))


class PseudoLabeler(nn.Module):
    """Base class of the backends; subclasses implement ``_assign`` (and ``loss`` if any)."""

    # side information the backend cannot work without, a subset of SIDE_INFORMATION
    requires: FrozenSet[str] = frozenset()
    # True: ``loss`` is the target loss; False: CE + triplet on the pseudo-labels is
    provides_loss: bool = False
    # the target batches' sampler (a DATALOADER.SAMPLER_TRAIN name); "": the configured one
    target_sampler: str = ""

    def assign(
        self,
        features: ArrayLike,
        camids: Optional[ArrayLike] = None,
        frames: Optional[ArrayLike] = None,
    ) -> PseudoLabels:
        """Pseudo-labels for the whole target set (call once per epoch, before its steps).

        Args:
            features: N x d target features (normalised here when the backend needs it).
            camids: (N,) camera id of each image, or None if the dataset has none.
            frames: (N,) frame index of each image, or None if the dataset has none.
        """
        features = as_feature_matrix(features)
        camids, frames = self._check_side_information(len(features), camids, frames)
        return self._assign(features, camids, frames)

    def _assign(
        self, features: np.ndarray, camids: Optional[np.ndarray], frames: Optional[np.ndarray]
    ) -> PseudoLabels:
        raise NotImplementedError

    def target_size_problem(self, num_images: int) -> Optional[str]:
        """What keeps the backend from labelling a target set of ``num_images`` images (a
        setting naming its key), or None; pre-flight asks before any training."""
        return None

    def loss(self, features: torch.Tensor, indices: torch.Tensor) -> Optional[torch.Tensor]:
        """Target loss of a batch (features B x d, dataset indices (B,)); None: use CE + triplet."""
        return None

    def positive_pair_quality(self, identities: np.ndarray) -> Optional[Dict[str, float]]:
        """Pair precision / recall of the positives ``loss`` trains on, against the hidden
        ``identities``, where they are not the pairs of the labels ``assign`` returned (e.g.
        MMCL's per-image multi-labels); None: the labels' pairs are the positives."""
        return None

    def _check_side_information(
        self, num: int, camids: Optional[ArrayLike], frames: Optional[ArrayLike]
    ) -> Tuple[Optional[np.ndarray], Optional[np.ndarray]]:
        given = {"camids": camids, "frames": frames}
        missing = sorted(name for name in self.requires if given[name] is None)
        if missing:
            raise ValueError(
                f"pseudo-label backend {type(self).__name__} needs per-image {' and '.join(missing)} "
                f"of the target training set, but none were given (the dataset provides no "
                f"{'/'.join(missing)}); use a dataset whose file names carry them, or set "
                f"RAE.PSEUDO_LABEL.NAME to a backend that does not need them (e.g. 'dbscan')"
            )
        checked = []
        for name, values in given.items():
            if values is None:
                checked.append(None)
                continue
            if isinstance(values, torch.Tensor):
                values = values.detach().cpu().numpy()
            values = np.asarray(values).astype(np.int64).reshape(-1)
            if len(values) != num:
                raise ValueError(f"got {len(values)} {name} for {num} target features")
            checked.append(values)
        return checked[0], checked[1]

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # Memories are sized by the target set at the first assign(); a checkpoint may arrive
        # before that, so adopt the checkpoint's shapes instead of failing on a mismatch.
        for name, buffer in self._buffers.items():
            key = prefix + name
            if buffer is not None and key in state_dict and state_dict[key].shape != buffer.shape:
                self._buffers[name] = torch.empty_like(state_dict[key], device=buffer.device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
