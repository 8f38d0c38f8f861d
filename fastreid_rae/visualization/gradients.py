"""Which losses drive Enc: the norm of each weighted generator loss term's gradient on Enc's
parameters, for checkpoints of RAE runs, on the same seeded training batches.

A term that dominates the gradient decides where Enc goes, whatever its value says: the
reconstruction loss can be ten times the identity losses and still barely move Enc, or the
other way round. The batches are drawn as training draws them (P x K identity batches,
training transforms, the trainer's identity stream): source identities from the labels,
target identities from the pseudo-labels stored in the checkpoint (Algorithm 1 step 1),
outliers left out.
"""
from typing import Dict, Iterator, Sequence, Tuple

import numpy as np
import torch
from fastreid.data.common import CommDataset
from fastreid.data.transforms import build_transforms
from matplotlib import colormaps

from ..data.streams import SeededSamples, derived_seed, identity_stream
from .canvas import new_figure, save_figure
from .errors import VisualizationError
from .loading import ModelSource, load_checkpoint
from .samples import domain_items

PICTURE_SIZE = (900, 500)  # (width, height) in pixels
Norms = Dict[str, float]  # loss term -> mean |grad of Enc's parameters|


def stored_pseudo_labels(extras: dict, weights: str) -> np.ndarray:
    """The target pseudo-labels among a training checkpoint's entries (-1: outlier)."""
    if "pseudo_labels" not in extras:
        raise VisualizationError(f"{weights} holds no pseudo-labels: take a checkpoint written during "
                                 "adaptation (after the first pseudo-labelling)")
    return np.asarray(extras["pseudo_labels"]["labels"])


def identity_batches(cfg, dataset: CommDataset, labels: np.ndarray, seed: int) -> Iterator[dict]:
    """P x K batches of ``dataset`` drawn by the trainer's identity stream over ``labels``
    (negative ones never drawn), each image's augmentation seeded by its stream item."""
    stream = iter(identity_stream(cfg, labels, seed))
    seeded = SeededSamples(dataset)
    while True:
        samples = [seeded[next(stream)] for _ in range(cfg.SOLVER.IMS_PER_BATCH)]
        yield {"images": torch.stack([sample["images"] for sample in samples]),
               "targets": torch.as_tensor([int(labels[sample["indices"]]) for sample in samples])}


def encoder_gradient_norms(model, source: dict, target: dict) -> Norms:
    """``{loss term: |d term / d Enc|}`` of one generator pass (the weighted terms whose sum
    Enc's optimizer follows), in training mode."""
    model.train()
    parameters = [p for p in model.backbone.parameters() if p.requires_grad]
    losses = model.generator_losses(source, target)
    norms = {}
    for name, loss in losses.items():
        grads = torch.autograd.grad(loss, parameters, retain_graph=True, allow_unused=True)
        # a term kept off Enc (RAE.*.UPDATE_ENCODER False) has no gradient at all: norm 0
        norms[name] = float(sum((g.double() ** 2).sum() for g in grads if g is not None)) ** 0.5
    return norms


def checkpoint_norms(source: ModelSource, num_batches: int, seed: int, opts: Sequence[str]) -> Norms:
    """The mean over ``num_batches`` seeded source + target batches of each term's norm."""
    cfg = source.config(opts)
    if cfg.MODEL.META_ARCHITECTURE != "RAE" or not cfg.DATASETS.TARGET:
        raise VisualizationError(f"gradients needs an RAE run with a target set; {source.config_file} has "
                                 f"MODEL.META_ARCHITECTURE {cfg.MODEL.META_ARCHITECTURE!r}, "
                                 f"DATASETS.TARGET {cfg.DATASETS.TARGET!r}")
    model, extras = load_checkpoint(cfg, source.weights)
    transforms = build_transforms(cfg, is_train=True)
    (_, source_items), (_, target_items) = domain_items(cfg, "source"), domain_items(cfg, "target")
    source_set = CommDataset(source_items, transforms, relabel=True)  # the trainer's source labels
    source_labels = np.asarray([source_set.pid_dict[item[1]] for item in source_items])
    target_set = CommDataset(target_items, transforms, relabel=False)
    target_labels = stored_pseudo_labels(extras, source.weights)
    if len(target_labels) != len(target_set):
        raise VisualizationError(f"{source.weights} holds {len(target_labels)} pseudo-labels, but {cfg.DATASETS.TARGET} "
                                 f"under {cfg.DATASETS.ROOT!r} has {len(target_set)} training images")
    source_batches = identity_batches(cfg, source_set, source_labels, derived_seed(seed, 0))
    target_batches = identity_batches(cfg, target_set, target_labels, derived_seed(seed, 1))
    sums: Norms = {}
    for k in range(num_batches):
        source_batch, target_batch = next(source_batches), next(target_batches)
        with torch.random.fork_rng():
            torch.manual_seed(seed + k)  # the classifier path's dropout (Sec. IV-B): the same masks for every checkpoint
            norms = encoder_gradient_norms(model, source_batch, target_batch)
        for name, value in norms.items():
            sums[name] = sums.get(name, 0.0) + value / num_batches
    return sums


def render_gradient_table(names: Sequence[str], terms: Sequence[str], norms: Sequence[Norms]) -> str:
    """Markdown: one row per loss term, one column per checkpoint."""
    lines = ["| loss term | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    lines += [f"| {term} | " + " | ".join(f"{n[term]:.3f}" if term in n else "-" for n in norms) + " |"
              for term in terms]
    return "\n".join(lines)


def draw_gradients(sources: Sequence[ModelSource], output: str, num_batches: int = 3, seed: int = 0,
                   opts: Sequence[str] = ()) -> Tuple[str, str]:
    """PNG of horizontal bars, one group per loss term and one bar per checkpoint, of each
    term's gradient norm on Enc; returns ``(output, the same as a Markdown table)``."""
    norms = [checkpoint_norms(source, num_batches, seed, opts) for source in sources]
    terms = sorted({term for n in norms for term in n})
    figure = new_figure(*PICTURE_SIZE)
    axes = figure.subplots()
    height = 0.8 / len(sources)
    colors = colormaps["tab10"].colors
    for k, (source, n) in enumerate(zip(sources, norms)):
        positions = np.arange(len(terms)) + k * height
        axes.barh(positions, [n.get(term, 0.0) for term in terms], height=height, label=source.name, color=colors[k % 10])
    axes.set_yticks(np.arange(len(terms)) + 0.4 - height / 2, terms, fontsize=7)
    axes.invert_yaxis()
    axes.set(title=f"|gradient on Enc| per weighted loss term (mean of {num_batches} batches)", xlabel="L2 norm")
    axes.legend(fontsize=8)
    figure.tight_layout()
    return save_figure(figure, output), render_gradient_table([s.name for s in sources], terms, norms)
