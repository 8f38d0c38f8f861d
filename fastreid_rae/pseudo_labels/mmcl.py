"""``mmcl``: memory-based multi-label classification (Wang & Zhang, CVPR 2020), the "MMCL + RAE" rows.

Every target image is a class. A memory M holds one unit feature per image (initialised from
the first epoch's features, then momentum-updated). For a batch:

* Memory-based positive label prediction (MPLP): for image i, rank all memory entries by
  similarity to M[i]; the candidates are the top K = max(#{s > t}, 10). Cycle consistency
  keeps the leading run of candidates c that also rank i among their own top K (i within the
  first K + 1 places of c's ranking, c itself first), capped at #{s > t}. Image i is always
  its own positive. During the first warm-up epochs only i itself is positive.
* Memory-based multi-label classification loss (MMCL):
  L = delta * mean_{p in P_i} (s_ip - 1)^2 + mean_{n in H_i} (s_in + 1)^2, averaged over the
  batch, where s = f_i . M^T (cosines) and H_i are the hardest r% negatives (largest s).
* Memory update: M[i] <- normalise(a M[i] + (1 - a) f_i), a = MOMENTUM * epoch / RAMP (the
  official code ramps 0 -> 0.5 over its 60 epochs).

Departures from the official code, both small: its cycle check counter starts at 1 and so
always keeps the first two candidates; we keep exactly the consistent run. Its negative count
int(r * #neg) can be 0 on small sets (mean of nothing = NaN); we take at least one.
"""
import logging
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F

from .base import PseudoLabeler, PseudoLabels, l2_normalize
from .memory import MemoryProduct, gather_from_ranks, momentum_update_
from .quality import multi_label_precision_recall
from .registry import PSEUDO_LABEL_REGISTRY

logger = logging.getLogger(__name__)

# candidates whose cycle consistency is checked in one (chunk x N) similarity product
_CANDIDATES_PER_CHUNK = 512
# images whose multi-labels are scored against the hidden identities each epoch (logs only)
_QUALITY_ROWS = 256


def mmcl_loss(
    logits: torch.Tensor, positive: torch.Tensor, delta: float, hard_negative_ratio: float
) -> torch.Tensor:
    """The MMCL loss of cosine logits (B x N) given boolean multi-labels (B x N)."""
    num = logits.shape[1]
    num_positive = positive.sum(dim=1)
    positive_term = ((1.0 - logits).pow(2) * positive).sum(dim=1) / num_positive.clamp_min(1)

    num_negative = num - num_positive
    num_hard = (hard_negative_ratio * num_negative).long().clamp_min(1).minimum(num_negative)
    # cosines are >= -1, so -2 ranks positives below every negative without inf arithmetic
    hardest = logits.masked_fill(positive, -2.0).topk(int(num_hard.max().clamp_min(1)), dim=1).values
    is_hard = torch.arange(hardest.shape[1], device=logits.device)[None, :] < num_hard[:, None]
    negative_term = torch.where(is_hard, (1.0 + hardest).pow(2), torch.zeros_like(hardest)).sum(dim=1)
    negative_term = negative_term / num_hard.clamp_min(1)
    return (delta * positive_term + negative_term).mean()


class MMCLPseudoLabeler(PseudoLabeler):
    provides_loss = True
    # every image is its own class: P x K sampling would repeat one image K times
    target_sampler = "TrainingSampler"

    def __init__(
        self,
        threshold: float = 0.6,
        min_candidates: int = 10,
        max_candidates: int = 100,
        delta: float = 5.0,
        hard_negative_ratio: float = 0.01,
        momentum: float = 0.5,
        momentum_ramp_epochs: int = 60,
        warmup_epochs: int = 6,
    ):
        super().__init__()
        if not 1 <= min_candidates <= max_candidates:
            raise ValueError(
                "RAE.PSEUDO_LABEL.MMCL needs 1 <= MIN_CANDIDATES <= MAX_CANDIDATES, got "
                f"{min_candidates} and {max_candidates}"
            )
        self.threshold = threshold
        self.min_candidates = min_candidates
        self.max_candidates = max_candidates
        self.delta = delta
        self.hard_negative_ratio = hard_negative_ratio
        self.base_momentum = momentum
        self.momentum_ramp_epochs = momentum_ramp_epochs
        self.warmup_epochs = warmup_epochs
        # one unit feature per target image; sized at the first assign()
        self.register_buffer("memory", torch.zeros(0, 0))
        # number of assign() calls so far: the current epoch is epochs_seen - 1
        self.register_buffer("epochs_seen", torch.zeros((), dtype=torch.long))

    @property
    def epoch(self) -> int:
        return int(self.epochs_seen) - 1

    @property
    def momentum(self) -> float:
        if self.momentum_ramp_epochs <= 0:
            return self.base_momentum
        return self.base_momentum * min(max(self.epoch, 0) / self.momentum_ramp_epochs, 1.0)

    def _assign(self, features, camids, frames) -> PseudoLabels:
        unit = l2_normalize(features)
        if tuple(self.memory.shape) != unit.shape:
            # first epoch (or a different target set): start the memory from the features
            self.memory = torch.from_numpy(unit).to(self.memory.device)
        self.epochs_seen += 1
        num = len(unit)
        # every image is its own class; the memory rows serve as "centres"
        return PseudoLabels(
            labels=np.arange(num, dtype=np.int64),
            centers=self.memory.cpu().numpy().copy(),
            num_clusters=num,
            num_outliers=0,
        )

    @torch.no_grad()
    def positive_labels(self, rows: torch.Tensor) -> torch.Tensor:
        """MPLP multi-labels (B x N bool) of the memory rows ``rows``."""
        memory = self.memory
        batch = len(rows)
        similarity = memory[rows] @ memory.t()
        num_above = (similarity > self.threshold).sum(dim=1)
        num_candidates = num_above.clamp(self.min_candidates, self.max_candidates)
        num_candidates = num_candidates.clamp_max(memory.shape[0])
        width = int(num_candidates.max())
        candidates = similarity.topk(width, dim=1).indices  # most similar first

        # rank of the query i in candidate c's ranking = entries c finds more similar than i
        flat_candidates = candidates.reshape(-1)
        flat_queries = rows.repeat_interleave(width)
        rank = torch.empty_like(flat_candidates)
        for start in range(0, len(flat_candidates), _CANDIDATES_PER_CHUNK):
            stop = start + _CANDIDATES_PER_CHUNK
            candidate_similarity = memory[flat_candidates[start:stop]] @ memory.t()
            to_query = candidate_similarity.gather(1, flat_queries[start:stop, None])
            rank[start:stop] = (candidate_similarity > to_query).sum(dim=1)
        rank = rank.view(batch, width)

        position = torch.arange(width, device=memory.device)[None, :]
        consistent = (rank <= num_candidates[:, None]) & (position < num_candidates[:, None])
        leading_run = consistent.long().cumprod(dim=1).sum(dim=1)
        num_positive = torch.minimum(leading_run, num_above)

        positive = torch.zeros(batch, memory.shape[0], dtype=torch.bool, device=memory.device)
        keep = position < num_positive[:, None]
        batch_rows = torch.arange(batch, device=memory.device)[:, None].expand_as(candidates)
        positive[batch_rows[keep], candidates[keep]] = True
        positive[batch_rows[:, 0], rows] = True  # an image is always its own positive
        return positive

    @torch.no_grad()
    def positive_pair_quality(self, identities, num_rows=_QUALITY_ROWS):
        """Over ``num_rows`` memory rows (the same seeded sample every epoch; MPLP costs a
        candidates x N product per row), the multi-labels this epoch's loss uses."""
        num = self.memory.shape[0]
        rows = np.sort(np.random.default_rng(0).permutation(num)[:num_rows])
        positive = self.training_positives(torch.from_numpy(rows).to(self.memory.device))
        return multi_label_precision_recall(positive.cpu().numpy(), rows, identities)

    def training_positives(self, rows: torch.Tensor) -> torch.Tensor:
        """The multi-labels (B x N bool) this epoch's loss uses: MPLP's, or during warm-up
        each image alone."""
        if self.epoch >= self.warmup_epochs:
            return self.positive_labels(rows)
        return F.one_hot(rows, self.memory.shape[0]).bool()

    def _update(self, rows: torch.Tensor, batch: torch.Tensor) -> None:
        momentum_update_(self.memory, *gather_from_ranks(rows, batch), momentum=self.momentum)

    def loss(self, features: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        if self.memory.numel() == 0:
            raise RuntimeError("MMCLPseudoLabeler.loss() before assign(): the memory is empty")
        rows = indices.to(self.memory.device).long()
        inputs = F.normalize(features, dim=1).to(self.memory.dtype)
        logits = MemoryProduct.apply(inputs, self.memory, partial(self._update, rows))
        return mmcl_loss(logits, self.training_positives(rows), self.delta, self.hard_negative_ratio)


@PSEUDO_LABEL_REGISTRY.register()
def mmcl(cfg) -> MMCLPseudoLabeler:
    node = cfg.RAE.PSEUDO_LABEL.MMCL
    return MMCLPseudoLabeler(
        threshold=node.THRESHOLD,
        min_candidates=node.MIN_CANDIDATES,
        max_candidates=node.MAX_CANDIDATES,
        delta=node.DELTA,
        hard_negative_ratio=node.HARD_NEGATIVE_RATIO,
        momentum=node.MOMENTUM,
        momentum_ramp_epochs=node.MOMENTUM_RAMP_EPOCHS,
        warmup_epochs=node.WARMUP_EPOCHS,
    )
