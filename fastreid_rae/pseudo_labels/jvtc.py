"""``jvtc``: clustering on joint visual and camera-temporal similarity (Li & Zhang, ECCV 2020),
the "JVTC + RAE" rows.

1. Visual clusters: the ``dbscan`` recipe (k-reciprocal Jaccard + DBSCAN) on the features.
2. Temporal model (JVTC's temporal consistency, with st-ReID's Histogram-Parzen estimate):
   for every pair of images in the same visual cluster, the frame gap |t_i - t_j| is counted
   in bins of FRAME_INTERVAL frames, one histogram per unordered camera pair; each histogram
   is smoothed with a Gaussian of SIGMA bins and scaled to peak 1, giving S_T(c_i, c_j, dt)
   in [0, 1]. (JVTC feeds the Parzen probability itself; scaling to peak 1 makes S_T a
   score on the same [0, 1] footing as a cosine for every camera pair, however much data
   that pair has.)
3. Joint similarity with logistic smoothing (st-ReID, used by JVTC):
   S_J = 1 / (1 + lambda e^{-gamma S_V}) * 1 / (1 + lambda e^{-gamma S_T}),  S_V = cosine,
   and joint distance d_J = 1 - S_J (0 for an image and itself).
4. Clusters: the k-reciprocal Jaccard distance of d_J, then DBSCAN (same keys as ``dbscan``).

Scale: d_J is evaluated on each image's NUM_CANDIDATES visual nearest neighbours (re-ranked
by d_J) and on the few expanded-set pairs outside them, never on all N^2 pairs; an image
outside the visual candidates cannot become a joint neighbour.
"""
import logging
from typing import Optional

import numpy as np
from scipy.ndimage import gaussian_filter1d

from .base import PseudoLabeler, PseudoLabels, l2_normalize
from .dbscan import DBSCANPseudoLabeler, dbscan_options_from_config
from .jaccard import k_reciprocal_jaccard
from .neighbors import pair_sq_distances
from .registry import PSEUDO_LABEL_REGISTRY

logger = logging.getLogger(__name__)

# a (rare) giant visual cluster contributes the pairs of this many random members only
_MAX_MEMBERS_PER_CLUSTER = 500


class CameraTemporalModel:
    """S_T(c_a, c_b, dt): smoothed, peak-normalised histogram of same-cluster frame gaps."""

    def __init__(self, cameras: np.ndarray, scores: np.ndarray, interval: int):
        self.cameras = cameras  # sorted camera ids; scores is indexed by their position
        self.scores = scores  # (num_cams, num_cams, num_bins), each [a, b, :] peaks at 1 or is 0
        self.interval = interval

    @classmethod
    def fit(
        cls,
        labels: np.ndarray,
        camids: np.ndarray,
        frames: np.ndarray,
        interval: int = 100,
        sigma: float = 50.0,
        seed: int = 0,
    ) -> "CameraTemporalModel":
        cameras, cam_index = np.unique(camids, return_inverse=True)
        num_cams = len(cameras)
        num_bins = int((frames.max() - frames.min()) // interval) + 1
        rng = np.random.default_rng(seed)
        first, second = [], []
        order = np.argsort(labels, kind="stable")
        bounds = np.flatnonzero(np.diff(labels[order])) + 1
        for members in np.split(order, bounds):
            if labels[members[0]] < 0 or len(members) < 2:
                continue
            if len(members) > _MAX_MEMBERS_PER_CLUSTER:
                members = rng.choice(members, _MAX_MEMBERS_PER_CLUSTER, replace=False)
            a, b = np.triu_indices(len(members), k=1)
            first.append(members[a])
            second.append(members[b])
        counts = np.zeros((num_cams, num_cams, num_bins))
        if first:
            first, second = np.concatenate(first), np.concatenate(second)
            gap_bins = np.abs(frames[first] - frames[second]) // interval
            cells = (cam_index[first] * num_cams + cam_index[second]) * num_bins + gap_bins
            mirrored = (cam_index[second] * num_cams + cam_index[first]) * num_bins + gap_bins
            counts = np.bincount(
                np.concatenate([cells, mirrored]), minlength=num_cams * num_cams * num_bins
            ).reshape(num_cams, num_cams, num_bins).astype(np.float64)
        else:
            logger.warning("jvtc: no visual cluster with two images; the temporal cue is flat (0)")
        # Parzen window over the gap; 'reflect' because gaps are >= 0 (mass near 0 stays)
        smoothed = gaussian_filter1d(counts, sigma, axis=2, mode="reflect") if sigma > 0 else counts
        peak = smoothed.max(axis=2, keepdims=True)
        scores = np.divide(smoothed, peak, out=np.zeros_like(smoothed), where=peak > 0)
        return cls(cameras, scores.astype(np.float32), interval)

    def __call__(self, cam_a: np.ndarray, cam_b: np.ndarray, frame_gap: np.ndarray) -> np.ndarray:
        a = np.searchsorted(self.cameras, cam_a)
        b = np.searchsorted(self.cameras, cam_b)
        bins = np.minimum(np.abs(frame_gap) // self.interval, self.scores.shape[2] - 1)
        return self.scores[a, b, bins]


def logistic_smoothing(score: np.ndarray, lam: float, gamma: float) -> np.ndarray:
    """st-ReID's 1 / (1 + lambda e^{-gamma s})."""
    return 1.0 / (1.0 + lam * np.exp(-gamma * score))


class JVTCPseudoLabeler(PseudoLabeler):
    requires = frozenset({"camids", "frames"})

    def __init__(
        self,
        clusterer: Optional[DBSCANPseudoLabeler] = None,
        frame_interval: int = 100,
        sigma: float = 50.0,
        lam: float = 1.0,
        gamma: float = 5.0,
        num_candidates: int = 60,
    ):
        super().__init__()
        self.clusterer = clusterer if clusterer is not None else DBSCANPseudoLabeler()
        if frame_interval < 1:
            raise ValueError(
                f"RAE.PSEUDO_LABEL.JVTC.FRAME_INTERVAL must be >= 1 frame, got {frame_interval}"
            )
        self.frame_interval = frame_interval
        self.sigma = sigma
        self.lam = lam
        self.gamma = gamma
        self.num_candidates = num_candidates

    def joint_distance(self, temporal, unit, camids, frames, rows, cols, sq_distances=None):
        """d_J = 1 - S_J of the pairs (rows, cols); squared distances are computed if not given."""
        if sq_distances is None:
            sq_distances = pair_sq_distances(unit, rows, cols)
        visual = 1.0 - sq_distances.astype(np.float64) / 2.0  # cosine of unit vectors
        temporal_score = temporal(camids[rows], camids[cols], frames[rows] - frames[cols])
        joint = logistic_smoothing(visual, self.lam, self.gamma) * logistic_smoothing(
            temporal_score, self.lam, self.gamma
        )
        return np.where(rows == cols, 0.0, 1.0 - joint)

    def _assign(self, features, camids, frames) -> PseudoLabels:
        clusterer = self.clusterer
        unit = l2_normalize(features)
        num = len(unit)
        k1 = min(clusterer.k1, num - 1)
        width = min(max(self.num_candidates, k1 + 1), num)
        neighbors = clusterer.neighbors(unit, width)
        knn_sq, knn_index = neighbors.distances, neighbors.indices
        visual_labels = clusterer.cluster(clusterer.jaccard(unit, neighbors))
        temporal = CameraTemporalModel.fit(
            visual_labels, camids, frames, self.frame_interval, self.sigma
        )

        # re-rank each image's visual candidates by joint distance (the image itself first)
        rows = np.repeat(np.arange(num), width)
        cols = knn_index.reshape(-1).astype(np.int64)
        joint = self.joint_distance(
            temporal, unit, camids, frames, rows, cols, knn_sq.reshape(-1)
        ).reshape(num, width)
        order = np.argsort(joint, axis=1, kind="stable")
        joint_index = np.take_along_axis(knn_index, order, axis=1)
        joint = np.take_along_axis(joint, order, axis=1)

        distances = k_reciprocal_jaccard(
            joint, joint_index,
            lambda r, c: self.joint_distance(temporal, unit, camids, frames, r, c),
            k1=k1, k2=clusterer.k2, max_distance=clusterer.eps, progress=clusterer.progress,
        )
        result = PseudoLabels.from_assignment(
            features, clusterer.cluster(distances), neighbors.report
        )
        logger.info(
            "jvtc pseudo-labels: %d clusters, %d outliers of %d images (visual only: %d "
            "clusters); %s", result.num_clusters, result.num_outliers, num,
            len(set(visual_labels.tolist()) - {-1}), neighbors.report.summary(),
        )
        return result


@PSEUDO_LABEL_REGISTRY.register()
def jvtc(cfg) -> JVTCPseudoLabeler:
    node = cfg.RAE.PSEUDO_LABEL.JVTC
    return JVTCPseudoLabeler(
        clusterer=DBSCANPseudoLabeler(**dbscan_options_from_config(cfg)),
        frame_interval=node.FRAME_INTERVAL,
        sigma=node.SIGMA,
        lam=node.LAMBDA,
        gamma=node.GAMMA,
        num_candidates=node.NUM_CANDIDATES,
    )
