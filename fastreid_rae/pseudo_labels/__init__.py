"""Target-domain pseudo-label backends behind one registry (docs/design.md,
"Pseudo-label backends").

``build_pseudo_labeler(cfg)`` returns the backend named by ``cfg.RAE.PSEUDO_LABEL.NAME``:
``dbscan`` (the paper's), ``kmeans``, ``jvtc``, ``mmcl``, ``memory_contrast``. Importing this
package registers all of them.
"""
from .base import PseudoLabeler, PseudoLabels, cluster_centers
from .registry import PSEUDO_LABEL_REGISTRY, build_pseudo_labeler, registered_pseudo_labelers

# each import registers one backend
from .dbscan import DBSCANPseudoLabeler
from .kmeans import KMeansPseudoLabeler
from .jvtc import JVTCPseudoLabeler
from .mmcl import MMCLPseudoLabeler
from .memory_contrast import MemoryContrastPseudoLabeler

from .jaccard import jaccard_distance, k_reciprocal_jaccard
from .neighbors import knn_recall, knn_search
from .quality import label_free_quality, pseudo_label_quality

__all__ = [
    "PSEUDO_LABEL_REGISTRY",
    "PseudoLabeler",
    "PseudoLabels",
    "build_pseudo_labeler",
    "registered_pseudo_labelers",
    "cluster_centers",
    "DBSCANPseudoLabeler",
    "KMeansPseudoLabeler",
    "JVTCPseudoLabeler",
    "MMCLPseudoLabeler",
    "MemoryContrastPseudoLabeler",
    "jaccard_distance",
    "k_reciprocal_jaccard",
    "knn_search",
    "knn_recall",
    "label_free_quality",
    "pseudo_label_quality",
]
