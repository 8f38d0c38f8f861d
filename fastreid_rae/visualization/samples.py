"""Images to draw from: a dataset split through the checked builder (DATASETS.ROOT), a
seeded choice of a few of them, and a fixed-order loader with the model's test transforms."""
from typing import List, Sequence, Tuple

import numpy as np
from fastreid.data import build_reid_test_loader
from fastreid.data.common import CommDataset
from fastreid.data.transforms import build_transforms

from ..data.datasets import build_dataset, dataset_arguments
from .errors import VisualizationError

SPLITS = ("train", "query", "gallery")

Item = Tuple[str, object, object]  # fastreid's (image path, person id, camera id)


def dataset_split(cfg, name: str, split: str) -> List[Item]:
    """The ``split`` items of dataset ``name`` under ``cfg.DATASETS.ROOT``."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if not name:
        raise VisualizationError(f"no dataset name to read the {split!r} split of (check DATASETS.NAMES / "
                         "DATASETS.TARGET / DATASETS.TESTS in the model's config)")
    items = list(getattr(build_dataset(name, cfg.DATASETS.ROOT, **dataset_arguments(cfg, name)), split))
    if not items:
        raise VisualizationError(f"dataset {name!r} under {cfg.DATASETS.ROOT or '$FASTREID_DATASETS'} has no "
                         f"{split} images")
    return items


def choose_indices(total: int, count: int, seed: int) -> np.ndarray:
    """``count`` distinct indices of ``range(total)`` (all if fewer), sorted: the same seed
    picks the same images on every run and for every model."""
    count = min(count, total)
    return np.sort(np.random.default_rng(seed).choice(total, size=count, replace=False))


def image_loader(cfg, paths: Sequence[str]):
    """Batches of the images at ``paths``, in that order, with ``cfg``'s test transforms."""
    items = [(path, 0, 0) for path in paths]  # ids are not needed: the caller keeps its items
    dataset = CommDataset(items, build_transforms(cfg, is_train=False), relabel=False)
    loader, _ = build_reid_test_loader(test_set=dataset, test_batch_size=cfg.TEST.IMS_PER_BATCH,
                                       num_query=0, num_workers=cfg.DATALOADER.NUM_WORKERS)
    return loader


def domain_items(cfg, domain: str) -> Tuple[str, List[Item]]:
    """``(dataset name, items)`` of a domain of ``cfg``'s run: "source" is the first of
    DATASETS.NAMES (train split); "target" is DATASETS.TARGET's train split, or, for a
    source-only run without one, the first test set's query split."""
    if domain == "source":
        name = cfg.DATASETS.NAMES[0] if cfg.DATASETS.NAMES else ""
        return name, dataset_split(cfg, name, "train")
    if domain == "target":
        if cfg.DATASETS.TARGET:
            return cfg.DATASETS.TARGET, dataset_split(cfg, cfg.DATASETS.TARGET, "train")
        name = cfg.DATASETS.TESTS[0] if cfg.DATASETS.TESTS else ""
        return name, dataset_split(cfg, name, "query")
    raise ValueError(f"domain must be 'source' or 'target', got {domain!r}")
