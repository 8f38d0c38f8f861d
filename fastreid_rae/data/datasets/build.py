"""Build a registered dataset by name after checking its root and layout."""
from typing import Optional

from fastreid.data.datasets import DATASET_REGISTRY
from fastreid.data.datasets.bases import ImageDataset

from .fastreid_layouts import FASTREID_LAYOUTS
from .layout import scan_dataset
from .root import resolve_root


def build_dataset(name: str, root: Optional[str] = None, **kwargs) -> ImageDataset:
    """``DATASET_REGISTRY.get(name)(root=..., **kwargs)`` with a checked root.

    ``root`` goes through ``resolve_root`` (config value, else $FASTREID_DATASETS). For
    fastreid's Market1501, DukeMTMC and MSMT17 the layout is checked first, turning their bare
    RuntimeError / AssertionError into a DatasetLayoutError; our own loaders check themselves.
    """
    dataset_class = DATASET_REGISTRY.get(name)  # KeyError naming the registry if unknown
    root = resolve_root(root)
    if name in FASTREID_LAYOUTS:
        scan_dataset(root, FASTREID_LAYOUTS[name])
    return dataset_class(root=root, **kwargs)


def dataset_arguments(cfg, name: str) -> dict:
    """Keyword arguments a dataset reads from the config (detectron2's ``from_config``): none
    for a dataset on a fixed layout, the DATASETS.FOLDER keys for ``UnlabelledFolder``.
    A ValueError names the key that is missing or contradicts another."""
    from_config = getattr(DATASET_REGISTRY.get(name), "from_config", None)
    return from_config(cfg) if from_config else {}
