"""Training curves of one run from its metrics.json (fastreid's JSONWriter: one JSON object
per line, each with an "iteration"): losses and discriminator accuracy per iteration,
pseudo-label quality and cluster count per epoch. Quality is drawn against the hidden target identities where the
run knew them, and always by the label-free figures a run on your own cameras has."""
import json
import os
from typing import Dict, List, Tuple

import yaml
from matplotlib import colormaps
from matplotlib.ticker import MaxNLocator

from .canvas import new_figure, save_figure
from .errors import VisualizationError
from .loading import RUN_CONFIG, default_config

METRICS_FILE = "metrics.json"
PANEL_SIZE = (500, 400)  # (width, height) in pixels
PANELS = 4  # losses | pseudo-label quality | pseudo-label clusters | discriminators
QUALITY_KEYS = ("pseudo_ari", "pseudo_precision", "pseudo_recall",
                "pseudo_positive_precision", "pseudo_positive_recall")  # the last two: mmcl
# shares in 0..1 that need no identities (pseudo_labels/quality.py, label_free_quality)
LABEL_FREE_KEYS = ("pseudo_outlier_share", "pseudo_multi_camera_share", "pseudo_ari_to_previous")
CLUSTERS_KEY = "pseudo_clusters"
# balanced accuracy of Dis_f / Dis_p per step (RAE.discriminator_accuracy): a GAN loss at
# chance reads the same whether the discriminator is blind or beaten; these tell which
DISCRIMINATOR_KEYS = ("feat_dis_accuracy", "pix_dis_accuracy")

Series = Dict[str, List[Tuple[int, float]]]


def curves_size():
    """(width, height) of the picture in pixels."""
    return PANEL_SIZE[0] * PANELS, PANEL_SIZE[1]


def read_metrics(path: str) -> Series:
    """``{key: [(iteration, value), ...]}`` sorted by iteration, from a metrics.json. A
    resumed run appends to the file and writes some iterations twice: the later line wins."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"metrics file not found: {path} (fastreid writes it into OUTPUT_DIR)")
    by_key: Dict[str, Dict[int, float]] = {}
    with open(path) as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                iteration = int(record.pop("iteration"))
            except (ValueError, KeyError, TypeError, AttributeError) as error:
                raise VisualizationError(f"{path}, line {number}: expected a JSON object with an "
                                         f"'iteration' ({type(error).__name__}: {error})") from None
            for key, value in record.items():
                if isinstance(value, (int, float)):
                    by_key.setdefault(key, {})[iteration] = float(value)
    return {key: sorted(values.items()) for key, values in by_key.items()}


def loss_keys(series: Series) -> List[str]:
    """Every loss of the run: fastreid's total_loss first, then the loss_* terms by name."""
    return [key for key in ("total_loss",) if key in series] + sorted(k for k in series if k.startswith("loss_"))


def pseudo_label_epochs(series: Series, first_epoch: int) -> List[int]:
    """The epoch of each pseudo-label record. The hook records once per epoch, at the epoch's
    first iteration, from RAE.SOURCE_PRETRAIN.EPOCHS on; metrics.json has no epoch, so the
    n-th record (in iteration order) is epoch ``first_epoch + n``."""
    return [first_epoch + n for n in range(len(series.get(CLUSTERS_KEY, [])))]


def quality_points(series: Series, epochs: List[int]) -> Dict[str, List[Tuple[int, float]]]:
    """``{key: [(epoch, value), ...]}`` of each quality figure the run logged, hidden-id ones
    (QUALITY_KEYS) first. Every pseudo-label record shares its iteration with that epoch's
    cluster count; the change from the last labels starts one epoch later."""
    epoch_at = {iteration: epoch for (iteration, _), epoch in zip(series.get(CLUSTERS_KEY, []), epochs)}
    points = {key: [(epoch_at[iteration], value) for iteration, value in series.get(key, [])
                    if iteration in epoch_at] for key in QUALITY_KEYS + LABEL_FREE_KEYS}
    return {key: values for key, values in points.items() if values}


def _first_pseudo_label_epoch(run_dir: str) -> int:
    """RAE.SOURCE_PRETRAIN.EPOCHS of the run. Read from its config.yaml as plain YAML, not
    merged: the curves of a run whose config a later version no longer accepts still draw."""
    config = os.path.join(run_dir, RUN_CONFIG)
    if not os.path.isfile(config):
        return 0
    with open(config) as stream:
        dumped = yaml.safe_load(stream) or {}
    epochs = dumped.get("RAE", {}).get("SOURCE_PRETRAIN", {}).get("EPOCHS")
    return int(epochs) if epochs is not None else default_config().RAE.SOURCE_PRETRAIN.EPOCHS


def _say_empty(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)


def draw_curves(run_dir: str, output: str) -> str:
    """PNG of the training curves of the run in ``run_dir``; returns ``output``."""
    series = read_metrics(os.path.join(run_dir, METRICS_FILE))
    epochs = pseudo_label_epochs(series, _first_pseudo_label_epoch(run_dir))
    figure = new_figure(*curves_size())
    losses, quality, clusters, discriminators = figure.subplots(1, PANELS)

    losses.set_prop_cycle(color=colormaps["tab20"].colors)  # a dozen and more loss terms
    for key in loss_keys(series):
        iterations, values = zip(*series[key])
        losses.plot(iterations, values, label=key, linewidth=2 if key == "total_loss" else 1,
                    marker="." if len(values) < 20 else None)
    losses.set(title="losses", xlabel="iteration")
    if losses.lines:
        losses.legend(fontsize=5, ncol=2, loc="best")

    for key, points in quality_points(series, epochs).items():
        quality.plot(*zip(*points), "s--" if key in LABEL_FREE_KEYS else "o-", label=key[len("pseudo_"):])
    quality.set(title="pseudo-labels: vs hidden ids (solid), label-free (dashed)", xlabel="epoch",
                ylim=(-0.05, 1.05))
    if CLUSTERS_KEY in series:
        quality.legend(fontsize=8)
        clusters.plot(epochs, [v for _, v in series[CLUSTERS_KEY]], marker="o")
    clusters.set(title="pseudo-identities (clusters)", xlabel="epoch")
    clusters.set_ylim(bottom=0)
    clusters.yaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in (quality, clusters):
        if not ax.lines:  # a source-only run never pseudo-labels
            _say_empty(ax, f"no pseudo-labels in {METRICS_FILE}")
        elif len(epochs) < 10:
            ax.set_xticks(epochs)

    for key in DISCRIMINATOR_KEYS:
        if key in series:
            discriminators.plot(*zip(*series[key]), label=key[:-len("_accuracy")], linewidth=1)
    discriminators.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    discriminators.set(title="discriminators: accuracy (0.5 = chance)", xlabel="iteration", ylim=(-0.05, 1.05))
    if any(key in series for key in DISCRIMINATOR_KEYS):
        discriminators.legend(fontsize=8)
    else:
        _say_empty(discriminators, f"no discriminator in {METRICS_FILE}")
    figure.tight_layout()
    return save_figure(figure, output)
