"""``memory_contrast``: cluster-level contrastive memory (Dai et al., "Cluster Contrast", 2021).

Each epoch the ``dbscan`` backend clusters the target set (outliers are left out); the memory
is re-initialised to the normalised centroids of the unit features of each cluster. For a
batch, the loss is InfoNCE against every centroid, Eq. (2) of the paper:

    L = -log exp(f . c_+ / tau) / sum_k exp(f . c_k / tau),   tau = 0.05,

and each centroid then moves toward its batch samples, c <- normalise(m c + (1 - m) f) with
m = 0.1 (every sample in turn; or, with HARD_UPDATE, only the sample least similar to its
centroid, the paper's "hard" variant).
"""
import logging
from typing import Optional

import torch
import torch.nn.functional as F

from .base import PseudoLabeler, PseudoLabels, cluster_centers, l2_normalize
from .dbscan import DBSCANPseudoLabeler, dbscan_options_from_config
from .memory import MemoryProduct, gather_from_ranks, momentum_update_
from .registry import PSEUDO_LABEL_REGISTRY

logger = logging.getLogger(__name__)


class MemoryContrastPseudoLabeler(PseudoLabeler):
    provides_loss = True

    def __init__(
        self,
        clusterer: Optional[DBSCANPseudoLabeler] = None,
        temperature: float = 0.05,
        momentum: float = 0.1,
        hard_update: bool = False,
    ):
        super().__init__()
        if temperature <= 0:
            raise ValueError(
                f"RAE.PSEUDO_LABEL.MEMORY_CONTRAST.TEMPERATURE must be > 0, got {temperature}"
            )
        self.clusterer = clusterer if clusterer is not None else DBSCANPseudoLabeler()
        self.temperature = temperature
        self.momentum = momentum
        self.hard_update = hard_update
        # one unit centroid per cluster, and each target image's cluster (-1: outlier)
        self.register_buffer("memory", torch.zeros(0, 0))
        self.register_buffer("labels", torch.zeros(0, dtype=torch.long))

    def _assign(self, features, camids, frames) -> PseudoLabels:
        result = self.clusterer.assign(features, camids, frames)
        unit = l2_normalize(features)
        centroids = l2_normalize(cluster_centers(unit, result.labels, result.num_clusters))
        device = self.memory.device
        self.memory = torch.from_numpy(centroids).to(device)
        self.labels = torch.from_numpy(result.labels).to(device)
        return result

    @torch.no_grad()
    def _update(self, targets: torch.Tensor, batch: torch.Tensor) -> None:
        targets, batch = gather_from_ranks(targets, batch)
        if not self.hard_update:
            momentum_update_(self.memory, targets, batch, self.momentum)
            return
        # hard variant: per cluster in the batch, the sample least similar to its centroid
        similarity = (batch * self.memory[targets]).sum(dim=1)
        for cluster in targets.unique().tolist():
            members = (targets == cluster).nonzero().reshape(-1)
            hardest = members[similarity[members].argmin()]
            momentum_update_(
                self.memory, targets[hardest : hardest + 1], batch[hardest : hardest + 1], self.momentum
            )

    def loss(self, features: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        if self.memory.numel() == 0:
            raise RuntimeError("MemoryContrastPseudoLabeler.loss() before assign(): the memory is empty")
        targets = self.labels[indices.to(self.labels.device).long()]
        # outliers are not in the epoch's target set; should one arrive, it has no centroid.
        # A batch of outliers still goes through the product (an empty sum): under DDP every
        # rank must reach the update's collective.
        inliers = targets >= 0
        targets = targets[inliers]
        inputs = F.normalize(features[inliers.to(features.device)], dim=1).to(self.memory.dtype)
        logits = MemoryProduct.apply(inputs, self.memory, lambda batch: self._update(targets, batch))
        loss = F.cross_entropy(logits / self.temperature, targets, reduction="sum")
        return loss / max(len(targets), 1)


@PSEUDO_LABEL_REGISTRY.register()
def memory_contrast(cfg) -> MemoryContrastPseudoLabeler:
    node = cfg.RAE.PSEUDO_LABEL.MEMORY_CONTRAST
    return MemoryContrastPseudoLabeler(
        clusterer=DBSCANPseudoLabeler(**dbscan_options_from_config(cfg)),
        temperature=node.TEMPERATURE,
        momentum=node.MOMENTUM,
        hard_update=node.HARD_UPDATE,
    )
