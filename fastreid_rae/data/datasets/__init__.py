"""Dataset loaders: CUHK03 pair 1 and CUHK01 registered in fastreid's DATASET_REGISTRY, plus
a checked builder, root resolution and file-name parsing for every supported dataset.

Importing this package registers ``CUHK03Pair1``, ``CUHK01`` and ``UnlabelledFolder`` (your
own cameras' crops, a target only); see docs/datasets.md.
"""
from .build import build_dataset, dataset_arguments
from .cuhk01 import CUHK01
from .cuhk03_pair1 import CUHK03Pair1
from .errors import DatasetLayoutError
from .naming import ImageName, parse_image_name
from .root import ROOT_ENV_VAR, resolve_root
from .unlabelled import TargetImage, unlabelled_target_images
from .unlabelled_folder import UnlabelledFolder, write_unlabelled_copy

__all__ = [
    "CUHK01", "CUHK03Pair1", "DatasetLayoutError", "ImageName", "ROOT_ENV_VAR", "TargetImage",
    "UnlabelledFolder", "build_dataset", "dataset_arguments", "parse_image_name",
    "resolve_root", "unlabelled_target_images", "write_unlabelled_copy",
]
