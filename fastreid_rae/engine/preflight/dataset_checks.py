"""Pre-flight checks of the datasets on disk: every dataset a run reads is built as the
trainer builds it and every image is opened (seconds), so a missing folder or a corrupt
image stops the run before it starts rather than mid-epoch."""
import logging
import os
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from fastreid.data.datasets.bases import ImageDataset
from PIL import Image

from ...data.datasets import (DatasetLayoutError, build_dataset, dataset_arguments,
                              unlabelled_target_images)
from ...pseudo_labels import PSEUDO_LABEL_REGISTRY
from ...translation.pre_pixel_transfer import source_train_root
from ..config_loading import ConfigError
from .config_checks import IDENTITY_SAMPLERS
from .output_folder import first_few

logger = logging.getLogger(__name__)


def _source_root(cfg) -> str:
    # pre mode (PT-hat) reads the sources from the translated copy; its keys are checked there
    try:
        return source_train_root(cfg)
    except ValueError as error:
        raise ConfigError(str(error)) from None


def datasets_used(cfg, eval_only: bool) -> Dict[Tuple[str, str], bool]:
    """``{(dataset name, root): read as a training source}`` in the order a run reads them;
    evaluation alone reads DATASETS.TESTS only."""
    used = {} if eval_only else {(name, _source_root(cfg)): True for name in cfg.DATASETS.NAMES}
    for name in ([] if eval_only else [cfg.DATASETS.TARGET]) + list(cfg.DATASETS.TESTS):
        if name:
            used.setdefault((name, cfg.DATASETS.ROOT), False)
    return used


def build_checked_dataset(cfg, name: str, root: str, is_source: bool) -> ImageDataset:
    """``build_dataset`` as the trainer calls it; loaders without a layout check of ours fail
    with bare errors, which become a DatasetLayoutError naming the dataset and root."""
    kwargs = {"combineall": cfg.DATASETS.COMBINEALL} if is_source else dataset_arguments(cfg, name)
    try:
        return build_dataset(name, root, **kwargs)
    except DatasetLayoutError:
        raise
    except (OSError, RuntimeError, AssertionError, ValueError) as error:
        raise DatasetLayoutError(f"{name}: fastreid's loader cannot read it under dataset root "
                                 f"'{root or os.environ.get('FASTREID_DATASETS')}': "
                                 f"{error}") from None


def dataset_image_paths(dataset: ImageDataset) -> List[str]:
    return sorted({item[0] for split in (dataset.train, dataset.query, dataset.gallery)
                   for item in split})


# PIL modes that decode to 8-bit RGB faithfully; 16- and 32-bit ones ("I;16", "I", "F") are
# clipped to white by the conversion, a picture the model would learn nothing from.
EIGHT_BIT_MODES = frozenset(("1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX",
                             "CMYK", "YCbCr", "LAB", "HSV"))


def _image_problem(path: str, min_size: Tuple[int, int] = (0, 0)) -> Optional[str]:
    """What training would fail on when it reads ``path`` as RGB (the loader forces RGB), or
    a crop smaller than ``min_size`` (height, width)."""
    try:
        with Image.open(path) as image:
            if image.mode not in EIGHT_BIT_MODES:
                return f"{path} (mode {image.mode}: not 8-bit samples; expected 8-bit RGB, " \
                       f"greyscale or palette)"
            width, height = image.size
            if height < min_size[0] or width < min_size[1]:
                return f"{path} ({height} x {width} px: expected at least {min_size[0]} x " \
                       f"{min_size[1]}, DATASETS.FOLDER.MIN_SIZE)"
            # A JPEG decoded at 1/8 scale: the whole stream is read, so a truncated file fails
            # here as it would in fastreid's read_image, at a fraction of a full decode's cost.
            image.draft("RGB", (1, 1))
            image.convert("RGB").load()
    # PIL's errors for bad image data; a decompression bomb (pixel count far above
    # Image.MAX_IMAGE_PIXELS) is not an OSError
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        return f"{path} ({error})"
    return None


def check_images_readable(name: str, paths: Iterable[str], min_size: Tuple[int, int] = (0, 0)) -> None:
    problems = [problem for problem in (_image_problem(path, min_size) for path in paths) if problem]
    if problems:
        shown = "\n".join(f"  - {problem}" for problem in first_few(problems))
        raise DatasetLayoutError(
            f"{name}: {len(problems)} image file(s) cannot be read as images:\n{shown}\n"
            f"Expected every listed file to be a complete 8-bit JPEG or PNG; replace or remove them")


def check_source_fills_a_batch(cfg, sources: Sequence[ImageDataset]) -> None:
    # the trainer's source stream (data/streams.py) refuses too small a set, but only once
    # the run has started and written its config.yaml
    items = [item for dataset in sources for item in dataset.train]
    batch, instances = cfg.SOLVER.IMS_PER_BATCH, cfg.DATALOADER.NUM_INSTANCE
    if cfg.DATALOADER.SAMPLER_TRAIN in IDENTITY_SAMPLERS:
        have, needed = len({pid for _, pid, _ in items}), batch // instances
        unit = (f"training identities; a batch of {batch} images (SOLVER.IMS_PER_BATCH) x "
                f"{instances} per identity (DATALOADER.NUM_INSTANCE) needs {needed}")
    else:
        have, needed = len(items), batch
        unit = f"training images; a batch (SOLVER.IMS_PER_BATCH) needs {needed}"
    if have < needed:
        raise ConfigError(f"DATASETS.NAMES {tuple(cfg.DATASETS.NAMES)} has {have} {unit}; "
                          f"lower SOLVER.IMS_PER_BATCH")


def check_target_side_information(cfg, target: ImageDataset) -> None:
    """The backend's needs (RAE.PSEUDO_LABEL.NAME: enough images, cameras, frames) against what
    the target's images carry; else the backend fails at the first pseudo-labelling, after the
    source pre-training epochs."""
    backend = cfg.RAE.PSEUDO_LABEL.NAME
    labeler = PSEUDO_LABEL_REGISTRY.get(backend)(cfg)
    requires = labeler.requires
    images = unlabelled_target_images(target)
    problem = labeler.target_size_problem(len(images))
    if problem:
        raise ConfigError(f"DATASETS.TARGET {cfg.DATASETS.TARGET!r}: {problem}")
    cameras = sorted({image.camid for image in images})
    if "camids" in requires and len(cameras) < 2:
        raise DatasetLayoutError(
            f"DATASETS.TARGET {cfg.DATASETS.TARGET!r}: all {len(images)} images are from camera "
            f"{cameras[0]} (e.g. {images[0].path}), but RAE.PSEUDO_LABEL.NAME {backend!r} "
            f"models the time between cameras; expected at least two cameras, or a backend "
            f"without cameras (e.g. 'dbscan')")
    no_frame = next((image.path for image in images if image.frame is None), None)
    if "frames" in requires and no_frame is not None:
        raise DatasetLayoutError(
            f"{no_frame}: no frame number, but RAE.PSEUDO_LABEL.NAME {backend!r} needs every "
            f"target image's frame; expected a (?P<frame>...) group in DATASETS.FOLDER."
            f"CAMERA_PATTERN or a frame column in DATASETS.FOLDER.CAMERA_CSV, or a backend "
            f"without time (e.g. 'dbscan')")


def check_datasets_on_disk(cfg, eval_only: bool) -> None:
    sources = []
    for (name, root), is_source in datasets_used(cfg, eval_only).items():
        dataset = build_checked_dataset(cfg, name, root, is_source)
        paths = dataset_image_paths(dataset)
        logger.info(f"preflight: checking the {len(paths)} images of {name}")
        check_images_readable(name, paths, getattr(dataset, "min_image_size", (0, 0)))
        if is_source:
            sources.append(dataset)
        elif name == cfg.DATASETS.TARGET and not eval_only:
            check_target_side_information(cfg, dataset)
    if not eval_only:
        check_source_fills_a_batch(cfg, sources)
