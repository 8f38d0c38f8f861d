"""t-SNE of source and target features for one or two models (e.g. before and after
adaptation) side by side: how far apart the domains sit in each model's feature space."""
from typing import Sequence

import numpy as np
from matplotlib import colormaps
from sklearn.manifold import TSNE

from .canvas import new_figure, save_figure
from .errors import VisualizationError
from .features import extract_features
from .loading import ModelSource, load_model
from .samples import choose_indices, domain_items

PANEL_SIZE = (500, 500)  # (width, height) in pixels, one panel per model
DOMAIN_STYLE = {"source": ("tab:blue", "o"), "target": ("tab:orange", "^")}
COLOR_BY = ("domain", "identity")
EXACT_TSNE_MAX_POINTS = 1000


def tsne_size(num_models: int):
    """(width, height) of the picture in pixels."""
    return PANEL_SIZE[0] * num_models, PANEL_SIZE[1]


def embed(features: np.ndarray, seed: int) -> np.ndarray:
    """2-D t-SNE of the L2-normalised ``features`` (cosine geometry, as the ranking uses)."""
    features = np.asarray(features, dtype=np.float64)
    features = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    # sklearn requires perplexity < number of samples; 30 is its default for larger sets
    perplexity = float(min(30.0, (len(features) - 1) / 3))
    # exact gradients are O(n^2) but, for a picture's few hundred points, faster than
    # Barnes-Hut (400 points on 2 cores: 5 s against 22 s) and not approximate
    method = "exact" if len(features) <= EXACT_TSNE_MAX_POINTS else "barnes_hut"
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed,
                method=method).fit_transform(features)


def draw_tsne(sources: Sequence[ModelSource], output: str, num_images: int = 200, seed: int = 0,
              kind: str = "final", color_by: str = "domain", opts: Sequence[str] = ()) -> str:
    """PNG with one t-SNE panel per model of ``num_images`` seeded images of each domain (the
    same images for every model, chosen from the first model's config); colour = domain, or
    = identity with the domain as marker. Returns ``output``."""
    if not sources:
        raise VisualizationError("tsne needs at least one model")
    if color_by not in COLOR_BY:
        raise VisualizationError(f"color_by must be one of {COLOR_BY}, got {color_by!r}")
    cfgs = [source.config(opts) for source in sources]
    domains, paths, pids = [], [], []
    for domain in DOMAIN_STYLE:
        name, items = domain_items(cfgs[0], domain)
        for i in choose_indices(len(items), num_images, seed):
            domains.append(domain)
            paths.append(items[i][0])
            pids.append(f"{name}:{items[i][1]}")  # ids are per dataset
    domains = np.asarray(domains)

    figure = new_figure(*tsne_size(len(sources)))
    axes = figure.subplots(1, len(sources), squeeze=False)[0]
    identity_colors = _identity_colors(pids)
    for ax, source, cfg in zip(axes, sources, cfgs):
        model = load_model(cfg, source.weights)
        points = embed(extract_features(model, cfg, paths, kind, desc=f"{source.name} features").numpy(), seed)
        for domain, (color, marker) in DOMAIN_STYLE.items():
            mask = domains == domain
            colors = identity_colors[mask] if color_by == "identity" else color
            ax.scatter(points[mask, 0], points[mask, 1], c=colors, marker=marker, s=14, alpha=0.8,
                       linewidths=0, label=f"{domain} ({mask.sum()})")
        ax.set_title(f"{source.name} ({kind} features)", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.legend(loc="best", fontsize=8)
    figure.tight_layout()  # arranges axes inside the fixed figure size; the size stays
    return save_figure(figure, output)


def _identity_colors(pids) -> np.ndarray:
    """An RGBA colour per image, one per identity (tab20, cycled)."""
    palette = colormaps["tab20"].colors
    index = {pid: i for i, pid in enumerate(dict.fromkeys(pids))}
    return np.asarray([palette[index[pid] % len(palette)] for pid in pids])
