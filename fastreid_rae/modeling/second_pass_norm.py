"""BN running statistics of Enc's second pass (Algorithm 2 step 3, F^x2s = Enc(I^x2s)).

Enc normalises two kinds of input: real images, and Dec's reconstructions (or, with PT-hat,
G_t2s's translations), which are blurrier and lower in contrast. One set of running
statistics cannot serve both: mixed, it mis-normalises the real images that pseudo-labelling
and the encoder feature rely on; kept for real images only, it mis-normalises the second pass
at test time, while training normalised that pass by its own batch statistics (train-mode and
test-mode pooled features of reconstructions agreed at cosine 0.84-0.90 only). So the second
pass keeps statistics of its own: updated whenever it runs in training, used whenever it runs
in evaluation. Enc's weights, BN affine parameters included, stay shared (docs/model.md,
"BN statistics of the re-encoding").
"""
from contextlib import contextmanager
from typing import Dict

import torch
from torch import nn

_STATISTICS = ("running_mean", "running_var", "num_batches_tracked")


def _tracking_batch_norms(encoder: nn.Module) -> Dict[str, nn.modules.batchnorm._BatchNorm]:
    """Enc's BN layers by name, "." -> "__" (a module name cannot hold a dot): the second
    set's checkpoint keys follow Enc's, so a checkpoint of another Enc is named by layer."""
    return {name.replace(".", "__"): m for name, m in encoder.named_modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats}


class _Statistics(nn.Module):
    """The running statistics of one BN layer, as buffers (saved with the model)."""

    def __init__(self, norm: nn.modules.batchnorm._BatchNorm):
        super().__init__()
        for name in _STATISTICS:
            self.register_buffer(name, getattr(norm, name).detach().clone())


class SecondPassNorm(nn.Module):
    """Running statistics for every BN layer of ``encoder``, swapped in for the second pass.

    They start as a copy of Enc's own, taken at the first second pass in training (so a
    source model loaded after construction seeds them); until then evaluation uses Enc's."""

    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.layers = nn.ModuleDict({name: _Statistics(norm) for name, norm in _tracking_batch_norms(encoder).items()})
        # an integer, not a bool: buffers are broadcast across ranks (engine/distributed.py)
        self.register_buffer("seeded", torch.tensor(0))

    @contextmanager
    def applied_to(self, encoder: nn.Module):
        """Within the block, ``encoder``'s BN layers read (eval) and update (train) these
        statistics; Enc's own are put back on exit, untouched."""
        norms = _tracking_batch_norms(encoder)
        if norms.keys() != self.layers.keys():
            raise ValueError("the second pass's BN statistics were built for another encoder: "
                             f"{sorted(norms.keys() ^ self.layers.keys())[:3]} differ")
        if encoder.training and not self.seeded:
            self._copy_from(norms)
        if not self.seeded:  # evaluation before any second pass was trained: Enc's statistics
            yield encoder
            return
        saved = {layer: {name: norm._buffers[name] for name in _STATISTICS} for layer, norm in norms.items()}
        try:
            for layer, norm in norms.items():
                for name in _STATISTICS:
                    norm._buffers[name] = self.layers[layer]._buffers[name]
            yield encoder
        finally:
            for layer, buffers in saved.items():
                norms[layer]._buffers.update(buffers)

    @torch.no_grad()
    def _copy_from(self, norms) -> None:
        for layer, norm in norms.items():
            for name in _STATISTICS:
                self.layers[layer]._buffers[name].copy_(norm._buffers[name])
        self.seeded.fill_(1)
