"""A picture of what the translator does: one PNG, one column per image, five rows -
source, G_s2t(source), G_t2s(G_s2t(source)), target, G_t2s(target)."""
from pathlib import Path

import torch
from torchvision.utils import save_image

from ..atomic import atomic_path

ROWS = ("source", "G_s2t(source)", "G_t2s(G_s2t(source))", "target", "G_t2s(target)")
PADDING = 2


@torch.no_grad()
def translation_rows(translator, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(5 N) x 3 x H x W in [-1, 1], rows in ``ROWS`` order; needs as many target images as
    source images (N)."""
    if len(source) != len(target):
        raise ValueError(f"the grid needs as many target as source images, got {len(target)} and {len(source)}")
    translated = translator.generator_s2t(source)
    return torch.cat([source, translated, translator.generator_t2s(translated), target,
                      translator.generator_t2s(target)])


def grid_size(num_columns: int, image_size) -> tuple:
    """(height, width) in pixels of the PNG ``save_translation_grid`` writes."""
    height, width = image_size
    return (len(ROWS) * (height + PADDING) + PADDING, num_columns * (width + PADDING) + PADDING)


def save_translation_grid(path, translator, source: torch.Tensor, target: torch.Tensor) -> Path:
    """Write the grid as a PNG (atomically, like the checkpoint) and return its path."""
    was_training = translator.training
    translator.eval()
    rows = translation_rows(translator, source, target)
    translator.train(was_training)
    with atomic_path(path) as temporary:
        save_image((rows + 1) / 2, temporary, nrow=len(source), padding=PADDING, pad_value=1.0)
    return Path(path)
