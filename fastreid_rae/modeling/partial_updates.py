"""Passes through a module that leave part of it as it was: RAE's losses route each gradient
to the parts Algorithm 1 trains with it (docs/model.md, "Which gradients reach Enc")."""
from contextlib import contextmanager

import torch
from torch import nn


@contextmanager
def frozen(*modules: nn.Module):
    """Let gradients pass through ``modules`` to their inputs without accumulating in their
    weights: a generator's losses must not train a discriminator (it has its own optimizer),
    and skipping those gradients saves the work."""
    flags = [(p, p.requires_grad) for m in modules for p in m.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


def call_with_updates(module: nn.Module, inputs: torch.Tensor, update_weights: bool = True,
                      update_bn_stats: bool = True) -> torch.Tensor:
    """``module(inputs)``. With ``update_weights`` False the pass runs on detached weights:
    gradients still flow through it to its input but never into its parameters. With
    ``update_bn_stats`` False a training pass normalises with its batch's statistics but leaves
    the running statistics as they were (they are updated on copies)."""
    if update_weights and update_bn_stats:
        return module(inputs)
    state = dict(module.named_parameters())
    if not update_weights:
        state = {name: p.detach() for name, p in state.items()}
    if not update_bn_stats:
        state.update({name: b.clone() for name, b in module.named_buffers()})
    return torch.func.functional_call(module, state, (inputs,))
