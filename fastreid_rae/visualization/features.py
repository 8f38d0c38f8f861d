"""Evaluation features of a list of images, with a progress bar (the long part of a
ranklist or t-SNE on a real test set)."""
from typing import Sequence

import torch
from tqdm import tqdm

from .errors import VisualizationError
from .samples import image_loader


@torch.no_grad()
def extract_features(model, cfg, paths: Sequence[str], kind: str = "final", desc: str = "features") -> torch.Tensor:
    """N x D features of the images at ``paths`` (in order), on the CPU.

    RAE models give ``extract_features(kind=...)`` ("final" is Algorithm 2's feature); any
    other fastreid model (e.g. a Baseline) gives its eval-mode output, which is its "final"
    feature and has no other kind.
    """
    model.eval()
    rae = hasattr(model, "extract_features")
    if not rae and kind != "final":
        raise VisualizationError(f"feature kind {kind!r} needs an RAE model (MODEL.META_ARCHITECTURE RAE); "
                         f"{type(model).__name__} has only its 'final' feature")
    features = []
    for batch in tqdm(image_loader(cfg, paths), desc=desc, leave=False):
        output = model.extract_features(batch, kind=kind) if rae else model(batch)
        features.append(output.float().cpu())
    return torch.cat(features)
