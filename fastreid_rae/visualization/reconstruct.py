"""Reconstructions as in the paper's Fig. 5: source images and Dec(Enc(I_s)); target images
and Dec(Enc(I_t)), the target rendered in the source style Dec was trained on."""
from typing import List, Sequence

import numpy as np
import torch

from .canvas import GridLayout, ImageGrid
from .errors import VisualizationError
from .loading import ModelSource, load_model
from .samples import choose_indices, domain_items, image_loader

DOMAINS = ("source", "target")
COLUMN_TITLES = {"source": ("source", "Dec(Enc(I_s))"), "target": ("target", "Dec(Enc(I_t))")}


def reconstruct_layout(num_images: int) -> GridLayout:
    """One row per image pair; a group (input, reconstruction) per domain."""
    return GridLayout(rows=num_images, groups=(2,) * len(DOMAINS))


def check_decoder(cfg, config_file: str) -> None:
    """A reconstruction needs RAE's decoder Dec; say which key builds it."""
    if cfg.MODEL.META_ARCHITECTURE != "RAE":
        raise VisualizationError(f"reconstruct needs an RAE model; {config_file} has "
                                 f"MODEL.META_ARCHITECTURE {cfg.MODEL.META_ARCHITECTURE!r}")
    if not cfg.RAE.PIXEL_TRANSFER.ENABLED:
        raise VisualizationError(f"reconstruct needs the decoder Dec, but the model of {config_file} has "
                                 "RAE.PIXEL_TRANSFER.ENABLED False (only a model trained with it True has Dec)")
    if cfg.RAE.PIXEL_TRANSFER.MODE != "post":
        # PT-hat translates images before Enc and builds no Dec (docs/model.md)
        raise VisualizationError(f"reconstruct needs the decoder Dec, but the model of {config_file} has "
                                 f"RAE.PIXEL_TRANSFER.MODE {cfg.RAE.PIXEL_TRANSFER.MODE!r}, which builds "
                                 "none; only 'post' has Dec(Enc(I))")


def to_uint8(images: torch.Tensor, low: float, high: float) -> List[np.ndarray]:
    """N x 3 x H x W images with values in [low, high] -> H x W x 3 uint8 arrays."""
    scaled = (images.float().cpu() - low) * (255.0 / (high - low))
    return list(scaled.clamp(0, 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy())


@torch.no_grad()
def reconstruct(model, cfg, paths: Sequence[str]):
    """``(inputs, reconstructions)`` as uint8 pictures: the model's test-time inputs and
    Dec(Enc(I)) (Dec's output size, input / 2)."""
    inputs, reconstructions = [], []
    for batch in image_loader(cfg, paths):
        images = batch["images"].to(model.device)
        reconstructed = model.decode(model.encode(model.pixel_space.normalize(images)))  # Eq. (1), (10)
        inputs += to_uint8(images, 0.0, model.pixel_space.pixel_max)
        reconstructions += to_uint8(reconstructed, -1.0, 1.0)  # Dec's tanh range
    return inputs, reconstructions


def draw_reconstructions(source: ModelSource, output: str, num_images: int = 6, seed: int = 0,
                         opts: Sequence[str] = ()) -> str:
    """PNG of ``num_images`` seeded source and target images and their reconstructions by
    the model of ``source``; returns ``output``."""
    cfg = source.config(opts)
    check_decoder(cfg, source.config_file)  # before the (slow) model and data
    model = load_model(cfg, source.weights)
    pictures = {}
    for domain in DOMAINS:
        _, items = domain_items(cfg, domain)
        paths = [items[i][0] for i in choose_indices(len(items), num_images, seed)]
        pictures[domain] = reconstruct(model, cfg, paths)

    rows = max(len(inputs) for inputs, _ in pictures.values())
    grid = ImageGrid(reconstruct_layout(rows))
    for group, domain in enumerate(DOMAINS):
        for column, title in enumerate(COLUMN_TITLES[domain]):
            grid.title(group, title, column=column, fontsize=7)
        for row, pair in enumerate(zip(*pictures[domain])):
            for column, picture in enumerate(pair):
                grid.put(row, group, column, picture)
    return grid.save(output)
