"""Pictures of trained models and runs (``tools/visualize.py``; docs/visualization.md): rank
lists, reconstructions (Fig. 5), t-SNE of both domains, training curves, the loss terms'
gradients on Enc. Each writes a PNG."""
from .curves import draw_curves, read_metrics
from .gradients import draw_gradients
from .errors import VisualizationError
from .loading import ModelSource, load_config, load_model
from .ranklist import draw_ranklist, rank_models, render_ranklist
from .reconstruct import draw_reconstructions
from .tsne import draw_tsne

__all__ = [
    "ModelSource", "VisualizationError", "draw_curves", "draw_gradients", "draw_ranklist", "draw_reconstructions", "draw_tsne", "load_config",
    "load_model", "rank_models", "read_metrics", "render_ranklist",
]
