"""Momentum feature memory shared by the memory backends (``mmcl``, ``memory_contrast``).

Both papers score a batch against a memory of unit vectors, ``logits = f @ M^T``, and after
the gradient is taken move the touched rows toward the batch features:
``M[r] <- normalise(m * M[r] + (1 - m) * f)`` (MMCL's memory update; cluster-contrast's
"momentum update" of centroids). Doing the update in ``backward`` (as both reference
implementations do) keeps the gradient computed with the memory the logits were computed
with, without copying an N x d memory every step.

Under DDP each rank holds a full copy of the memory and sees its share of the global batch;
the update is applied to the whole global batch on every rank (``gather_from_ranks``), in
rank order, so the copies stay identical and equal to a one-process run's memory.
"""
from typing import Callable, Tuple

import torch
import torch.distributed as dist


class MemoryProduct(torch.autograd.Function):
    """``inputs @ memory^T``; in backward, after the input gradient, calls ``update(inputs)``."""

    @staticmethod
    def forward(ctx, inputs: torch.Tensor, memory: torch.Tensor, update: Callable):
        # the memory is kept as an attribute, not a saved tensor: it changes in place on purpose
        ctx.memory = memory
        ctx.update = update
        ctx.save_for_backward(inputs)
        return inputs.mm(memory.t())

    @staticmethod
    def backward(ctx, grad_logits: torch.Tensor):
        (inputs,) = ctx.saved_tensors
        grad_inputs = grad_logits.mm(ctx.memory) if ctx.needs_input_grad[0] else None
        with torch.no_grad():
            ctx.update(inputs.detach())
        return grad_inputs, None, None


def gather_from_ranks(*tensors: torch.Tensor) -> Tuple[torch.Tensor, ...]:
    """Each tensor's rows from every rank, concatenated in rank order: the global batch, as
    one process would hold it. Ranks may hold different row counts (the same count for all
    tensors of one rank). In a single process, the tensors themselves."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return tensors
    world_size = dist.get_world_size()
    count = torch.tensor([len(tensors[0])], device=tensors[0].device)
    counts = [torch.zeros_like(count) for _ in range(world_size)]
    dist.all_gather(counts, count)
    counts = [int(c.item()) for c in counts]
    gathered = []
    for tensor in tensors:
        padded = tensor.new_zeros((max(counts), *tensor.shape[1:]))  # all_gather needs equal shapes
        padded[:len(tensor)] = tensor
        parts = [torch.empty_like(padded) for _ in range(world_size)]
        dist.all_gather(parts, padded)
        gathered.append(torch.cat([part[:c] for part, c in zip(parts, counts)]))
    return tuple(gathered)


@torch.no_grad()
def momentum_update_(memory: torch.Tensor, rows: torch.Tensor, features: torch.Tensor, momentum: float):
    """``M[r] <- normalise(m M[r] + (1 - m) f)`` for each (r, f) in order (a row seen twice in a
    batch is updated twice, as in the reference loops)."""
    features = features.to(memory.dtype)
    for row, feature in zip(rows.tolist(), features):
        moved = momentum * memory[row] + (1.0 - momentum) * feature
        memory[row] = moved / moved.norm().clamp_min(1e-12)
