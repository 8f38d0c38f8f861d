"""Everything a run can be told is wrong before it builds a model, reads a batch or writes a file.

A UDA run takes hours. Without these checks a typo in DATASETS.TESTS surfaces at the final
evaluation, an unknown backend after the model is built, a corrupt image in the middle of an
epoch, and a second run pointed at the first one's OUTPUT_DIR replaces its config.yaml and
checkpoints before anything fails. ``preflight(cfg, args)`` runs every check on the merged
config and the command line; each raises one ``ConfigError`` (a key or a flag) or
``DatasetLayoutError`` (a path) saying what was expected. docs/errors.md lists the cases.
"""
import glob
import logging
import os
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import torch
from fastreid.data.datasets import DATASET_REGISTRY
from fastreid.data.datasets.bases import ImageDataset
from fastreid.modeling.backbones import BACKBONE_REGISTRY
from fastreid.modeling.heads import REID_HEADS_REGISTRY
from fastreid.modeling.meta_arch import META_ARCH_REGISTRY
from PIL import Image

from ..cli import folder_problem
from ..checkpoint_files import CheckpointLoadError
from ..config import config_value
from ..config_constraints import check_config_values
from ..data.datasets import (DatasetLayoutError, build_dataset, dataset_arguments,
                             unlabelled_target_images)
from ..data.datasets.naming import NAME_PATTERNS
from ..data.streams import STREAMS, identity_stream
from ..evaluation.results import RESULTS_FILE
from ..modeling import check_rae_config
from ..modeling.backbones import ImageNetWeightsError, check_imagenet_weights
from ..modeling.backbones.mobilenet import WIDTHS as MOBILENET_WIDTH_MULTIPLIERS
from ..modeling.fusion import FUSED_FEATURE_NORMALIZATIONS
from ..modeling.registry import DECODER_REGISTRY, DISCRIMINATOR_REGISTRY, GAN_LOSS_REGISTRY
from ..pseudo_labels import PSEUDO_LABEL_REGISTRY, registered_pseudo_labelers
from ..pseudo_labels.neighbors import SEARCH_METHODS
from ..translation.pre_pixel_transfer import source_train_root
from .config_loading import ConfigError, did_you_mean

logger = logging.getLogger(__name__)

# The errors a user fixes by editing the command, the config or the data (the tool prints
# them without a traceback).
INPUT_ERRORS = (ConfigError, DatasetLayoutError, CheckpointLoadError)

# The trainer's source and target streams (data/streams.py), by DATALOADER.SAMPLER_TRAIN
IDENTITY_SAMPLERS = tuple(name for name, stream in STREAMS.items() if stream is identity_stream)
# Choices fastreid 1.4.0 hard-codes in dict literals rather than a registry
# (solver/build.py, modeling/backbones/resnet.py, modeling/heads).
FASTREID_SCHEDULERS = ("MultiStepLR", "CosineAnnealingLR")
RESNET_DEPTHS = ("18x", "34x", "50x", "101x")
SHUFFLENET_WIDTHS = ("0.5x", "1.0x", "1.5x", "2.0x")
MOBILENET_WIDTHS = tuple(MOBILENET_WIDTH_MULTIPLIERS)
BACKBONE_DEPTHS = {  # MODEL.BACKBONE.DEPTH by MODEL.BACKBONE.NAME
    "build_resnet_backbone": RESNET_DEPTHS,
    "build_mobilenetv2_backbone": MOBILENET_WIDTHS,
    "build_mobilenetv2_last_stride_backbone": MOBILENET_WIDTHS,
    "build_shufflenetv2_backbone": SHUFFLENET_WIDTHS,
    "build_shufflenetv2_last_stride_backbone": SHUFFLENET_WIDTHS,
}
NECK_FEATURES = ("before", "after")

# Files that only a run writes into OUTPUT_DIR (fastreid: config.yaml, metrics.json,
# last_checkpoint, model_*.pth; ours: results.json). log.txt and tensorboard events are
# appended to, never replaced, so they do not mark a run.
RUN_FILES = ("config.yaml", "metrics.json", RESULTS_FILE, "last_checkpoint")
CHECKPOINT_GLOB = "model_*.pth"
_MAX_REPORTED = 10  # files named in one message


def _registered(registry) -> List[str]:
    return sorted(registry._obj_map)  # fastreid's Registry has no public listing


def _first_few(items: Sequence[str]) -> List[str]:
    more = len(items) - _MAX_REPORTED
    return list(items[:_MAX_REPORTED]) + ([f"(and {more} more)"] if more > 0 else [])


def _check_choice(key: str, value, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ConfigError(f"{key} = {value!r} is not one of {sorted(choices)}"
                          f"{did_you_mean(str(value), choices)}")


# ---- named parts and options (instant, the config alone) ----------------------------------

def _optimizers() -> List[str]:
    return [name for name in dir(torch.optim) if isinstance(getattr(torch.optim, name), type)
            and issubclass(getattr(torch.optim, name), torch.optim.Optimizer)
            and name != "Optimizer"]


def _rae_parts(cfg) -> Dict[str, List[str]]:
    """RAE's named parts that the config switches on, with their registered choices."""
    rae = cfg.RAE
    parts = {}
    if rae.FEATURE_TRANSFER.ENABLED:
        parts["RAE.FEATURE_TRANSFER.DISCRIMINATOR.NAME"] = _registered(DISCRIMINATOR_REGISTRY)
    if rae.PIXEL_TRANSFER.ENABLED:
        parts["RAE.PIXEL_TRANSFER.DECODER.NAME"] = _registered(DECODER_REGISTRY)
        parts["RAE.PIXEL_TRANSFER.DISCRIMINATOR.NAME"] = _registered(DISCRIMINATOR_REGISTRY)
    if rae.FEATURE_TRANSFER.ENABLED or rae.PIXEL_TRANSFER.ENABLED:
        parts["RAE.GAN.LOSS"] = _registered(GAN_LOSS_REGISTRY)
    if rae.FUSION.ENABLED:
        parts["RAE.FUSION.NAME"] = _registered(REID_HEADS_REGISTRY)
        parts["RAE.FUSION.NORMALIZATION"] = sorted(FUSED_FEATURE_NORMALIZATIONS)
    return parts


def named_choices(cfg) -> Dict[str, Sequence[str]]:
    """Every config key that names a part or an option, with what it may name."""
    choices = {
        "MODEL.META_ARCHITECTURE": _registered(META_ARCH_REGISTRY),
        "MODEL.BACKBONE.NAME": _registered(BACKBONE_REGISTRY),
        "MODEL.HEADS.NAME": _registered(REID_HEADS_REGISTRY),
        "MODEL.HEADS.NECK_FEAT": NECK_FEATURES,
        "DATALOADER.SAMPLER_TRAIN": sorted(STREAMS),
        "SOLVER.OPT": _optimizers(),
        "SOLVER.SCHED": FASTREID_SCHEDULERS,
    }
    if cfg.MODEL.BACKBONE.NAME in BACKBONE_DEPTHS:
        choices["MODEL.BACKBONE.DEPTH"] = BACKBONE_DEPTHS[cfg.MODEL.BACKBONE.NAME]
    if cfg.MODEL.META_ARCHITECTURE == "RAE":
        choices.update(_rae_parts(cfg))
    if cfg.DATASETS.TARGET:
        choices["RAE.PSEUDO_LABEL.NAME"] = registered_pseudo_labelers()
        choices["RAE.PSEUDO_LABEL.NEIGHBORS.METHOD"] = SEARCH_METHODS
    return choices


def check_named_choices(cfg) -> None:
    for key, choices in named_choices(cfg).items():
        _check_choice(key, config_value(cfg, key), choices)


def check_registered_parts(cfg, registries: Dict[str, object]) -> None:
    """Each config key names a part of its registry (``{key: registry}``)."""
    for key, registry in registries.items():
        _check_choice(key, config_value(cfg, key), _registered(registry))


def check_rae_switches(cfg) -> None:
    """The model's own check of switch combinations, run before the model is built."""
    if cfg.MODEL.META_ARCHITECTURE == "RAE":
        try:
            check_rae_config(cfg)
        except (ValueError, NotImplementedError) as error:
            raise ConfigError(str(error)) from None


def check_dataset_names(cfg) -> None:
    datasets = cfg.DATASETS
    if not datasets.NAMES:
        raise ConfigError("DATASETS.NAMES is empty; expected the labelled source dataset(s), "
                          "e.g. ('DukeMTMC',)")
    named = [("DATASETS.NAMES", name) for name in datasets.NAMES]
    named += [("DATASETS.TESTS", name) for name in datasets.TESTS]
    named += [("DATASETS.TARGET", datasets.TARGET)] if datasets.TARGET else []
    check_registered_datasets(named)
    if datasets.TARGET and not (datasets.TARGET in NAME_PATTERNS or hasattr(
            DATASET_REGISTRY.get(datasets.TARGET), "target_images")):
        raise ConfigError(f"DATASETS.TARGET {datasets.TARGET!r}: the backends read each target "
                          f"image's camera and frame from its file name, known only for "
                          f"{sorted(NAME_PATTERNS)}, or from DATASETS.FOLDER for "
                          f"'UnlabelledFolder' (your own crops)")
    # a set without identities can neither teach nor be ranked: only a target
    for key, name in named:
        if key != "DATASETS.TARGET" and getattr(DATASET_REGISTRY.get(name), "unlabelled", False):
            raise ConfigError(f"{key}: {name!r} has no identities and no query / gallery; it "
                              f"can only be DATASETS.TARGET (evaluate on a labelled set)")
    if datasets.TARGET in datasets.NAMES:
        raise ConfigError(f"DATASETS.TARGET {datasets.TARGET!r} is also a source in DATASETS.NAMES "
                          f"{tuple(datasets.NAMES)}: adaptation needs a different, unlabelled "
                          f"target (for supervised training leave DATASETS.TARGET empty)")


def check_registered_datasets(named: Sequence[Tuple[str, str]]) -> None:
    """Each ``(config key, dataset name)`` names a dataset of fastreid's DATASET_REGISTRY."""
    registered = _registered(DATASET_REGISTRY)
    for key, name in named:
        if name not in registered:
            raise ConfigError(f"{key}: dataset {name!r} is not in fastreid's DATASET_REGISTRY"
                              f"{did_you_mean(name, registered)}; registered: {registered}")


def check_dataset_arguments(cfg) -> None:
    """The keys a dataset reads from the config (DATASETS.FOLDER), before its files are read."""
    if cfg.DATASETS.TARGET:
        try:
            dataset_arguments(cfg, cfg.DATASETS.TARGET)
        except ValueError as error:
            raise ConfigError(str(error)) from None


def check_input_sizes(cfg) -> None:
    # fastreid resizes to (height, width); a single number would keep the aspect ratio instead
    for key in ("INPUT.SIZE_TRAIN", "INPUT.SIZE_TEST"):
        size = config_value(cfg, key)
        if len(size) != 2 or not all(type(side) is int and side > 0 for side in size):
            raise ConfigError(f"{key} = {list(size)}; expected [height, width], two positive "
                              f"integers, e.g. [256, 128]")


def check_batch(cfg, world_size: int) -> None:
    # SOLVER.IMS_PER_BATCH is the global batch: P x K identities x images, split over processes
    batch, instances = cfg.SOLVER.IMS_PER_BATCH, cfg.DATALOADER.NUM_INSTANCE
    if batch <= 0 or batch % world_size:
        raise ConfigError(f"SOLVER.IMS_PER_BATCH = {batch}; expected a positive multiple of the "
                          f"{world_size} process(es) it is split over")
    if cfg.DATALOADER.SAMPLER_TRAIN in IDENTITY_SAMPLERS and (instances <= 0 or batch % instances):
        raise ConfigError(
            f"SOLVER.IMS_PER_BATCH = {batch}; with {cfg.DATALOADER.SAMPLER_TRAIN} it must be "
            f"P identities x DATALOADER.NUM_INSTANCE = {instances} images")


def check_schedule(cfg) -> None:
    epochs, source_only = cfg.SOLVER.MAX_EPOCH, cfg.RAE.SOURCE_PRETRAIN.EPOCHS
    # the pseudo-label hook trains on the source alone for the first SOURCE_PRETRAIN epochs
    if cfg.DATASETS.TARGET and source_only >= epochs:
        raise ConfigError(
            f"RAE.SOURCE_PRETRAIN.EPOCHS = {source_only} is not below SOLVER.MAX_EPOCH = "
            f"{epochs}: the run would end before adapting to DATASETS.TARGET "
            f"{cfg.DATASETS.TARGET!r}; lower RAE.SOURCE_PRETRAIN.EPOCHS, or leave "
            f"DATASETS.TARGET empty to train on the source only")


def check_pretrained_weights(cfg, eval_only: bool) -> None:
    """ImageNet weights: cached (or downloaded now) before anything is built or written.
    Evaluation loads a trained model over them, so it needs none."""
    if eval_only:
        return
    try:
        check_imagenet_weights(cfg)
    except ImageNetWeightsError as error:
        raise ConfigError(str(error)) from None


def check_source_model(cfg, eval_only: bool) -> None:
    if cfg.RAE.SOURCE_PRETRAIN.FROM_SOURCE_MODEL and not eval_only and not cfg.MODEL.WEIGHTS:
        raise ConfigError(
            "RAE.SOURCE_PRETRAIN.FROM_SOURCE_MODEL is True: this config adapts a source-trained "
            "model, but MODEL.WEIGHTS is empty; give one (e.g. MODEL.WEIGHTS "
            "<direct-transfer run>/model_final.pth; tools/ablation.py run --init-from "
            "direct_transfer does this per seed)")


def check_command_line(args) -> None:
    """fastreid's launcher takes any integer: --num-gpus 0 started no process and exited 0."""
    for flag, value, low in (("--num-gpus", args.num_gpus, 1), ("--num-machines", args.num_machines, 1),
                             ("--machine-rank", args.machine_rank, 0)):
        if value < low:
            raise ConfigError(f"{flag} {value}; expected at least {low}")
    if args.machine_rank >= args.num_machines:
        raise ConfigError(f"--machine-rank {args.machine_rank}; expected below --num-machines "
                          f"{args.num_machines}")


def check_device(cfg, num_gpus: int) -> None:
    try:
        device = torch.device(cfg.MODEL.DEVICE)
    except RuntimeError:
        raise ConfigError(f"MODEL.DEVICE = {cfg.MODEL.DEVICE!r} is not a torch device; expected "
                          f"'cuda', 'cuda:N' or 'cpu'") from None
    if device.type != "cuda":
        return
    available = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if available == 0:
        raise ConfigError(f"MODEL.DEVICE = {cfg.MODEL.DEVICE!r} but no CUDA device is visible; "
                          f"append 'MODEL.DEVICE cpu' to train on the CPU")
    if num_gpus > available:
        raise ConfigError(f"--num-gpus {num_gpus} but only {available} CUDA device(s) visible")


def check_weights(cfg, eval_only: bool) -> None:
    weights = cfg.MODEL.WEIGHTS
    if eval_only and not weights:
        raise ConfigError("--eval-only needs MODEL.WEIGHTS, the checkpoint to evaluate "
                          "(e.g. MODEL.WEIGHTS logs/duke2market/model_final.pth)")
    # fastreid's Checkpointer only logs a missing MODEL.WEIGHTS and trains from scratch
    if weights and not os.path.isfile(weights):
        raise ConfigError(f"MODEL.WEIGHTS = '{weights}' not found; expected a checkpoint file")
    pretrain_path = cfg.MODEL.BACKBONE.PRETRAIN_PATH
    if cfg.MODEL.BACKBONE.PRETRAIN and pretrain_path and not os.path.isfile(pretrain_path):
        raise ConfigError(f"MODEL.BACKBONE.PRETRAIN_PATH = '{pretrain_path}' not found; expected "
                          f"ImageNet weights, or MODEL.BACKBONE.PRETRAIN False")


# ---- OUTPUT_DIR: never replace another run ------------------------------------------------

def previous_run_files(output_dir: str) -> List[str]:
    """Names of the files in ``output_dir`` that say a run already wrote there."""
    if not os.path.isdir(output_dir):
        return []
    names = [name for name in RUN_FILES if os.path.exists(os.path.join(output_dir, name))]
    return names + sorted(os.path.basename(path)
                          for path in glob.glob(os.path.join(output_dir, CHECKPOINT_GLOB)))


def check_output_path(output_dir: str) -> None:
    """A folder that exists or can be created, and written to."""
    if not output_dir:  # fastreid would then keep no checkpoint: hours of training lost
        raise ConfigError("OUTPUT_DIR is empty; expected the folder the run writes to")
    problem = folder_problem(output_dir)
    if problem:
        raise ConfigError(f"OUTPUT_DIR '{output_dir}' {problem}")


def check_output_dir(output_dir: str, resume: bool, overwrite: bool) -> None:
    if resume and overwrite:
        raise ConfigError("--resume continues the run in OUTPUT_DIR and --overwrite replaces it; "
                          "pass one of them")
    check_output_path(output_dir)
    found = previous_run_files(output_dir)
    if found and not (resume or overwrite):
        raise ConfigError(f"OUTPUT_DIR '{output_dir}' already holds a run "
                          f"({', '.join(_first_few(found))}); pass "
                          f"--resume to continue it, --overwrite to replace it, or set "
                          f"OUTPUT_DIR to a new folder")


def clear_previous_run(output_dir: str) -> List[str]:
    """Delete the previous run's files (``--overwrite``), so a later ``--resume`` cannot pick
    up its checkpoints; log.txt and tensorboard events are kept and appended to."""
    removed = previous_run_files(output_dir)
    for name in removed:
        os.remove(os.path.join(output_dir, name))
    if removed:
        logger.warning(f"--overwrite: removed {', '.join(removed)} from {output_dir}")
    return removed


# ---- the datasets on disk ------------------------------------------------------------------

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
        shown = "\n".join(f"  - {problem}" for problem in _first_few(problems))
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
    """The backend's needs (RAE.PSEUDO_LABEL.NAME: cameras, frames) against what the target's
    images carry; else the backend fails at the first pseudo-labelling, after the source
    pre-training epochs."""
    backend = cfg.RAE.PSEUDO_LABEL.NAME
    requires = PSEUDO_LABEL_REGISTRY.get(backend)(cfg).requires
    images = unlabelled_target_images(target)
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


# ---- entry point -----------------------------------------------------------------------

def preflight(cfg, args) -> None:
    """Check ``cfg`` and the command line ``args`` before a run builds or writes anything.

    Config-only checks come first (instant), then OUTPUT_DIR, then the datasets on disk
    (seconds: every image is opened). With ``--overwrite`` the previous run's files are
    removed last, once every check has passed.
    """
    eval_only, resume, overwrite = (getattr(args, flag, False)
                                    for flag in ("eval_only", "resume", "overwrite"))
    check_command_line(args)
    world_size = args.num_gpus * args.num_machines
    check_config_values(cfg)
    check_named_choices(cfg)
    check_rae_switches(cfg)
    check_dataset_names(cfg)
    check_dataset_arguments(cfg)
    check_input_sizes(cfg)
    check_device(cfg, args.num_gpus)
    check_weights(cfg, eval_only)
    check_pretrained_weights(cfg, eval_only)
    check_source_model(cfg, eval_only)
    if not eval_only:  # what only training reads; evaluating into a run's own folder is expected
        check_batch(cfg, world_size)
        check_schedule(cfg)
        check_output_dir(cfg.OUTPUT_DIR, resume, overwrite)
    else:  # tools/train_net.py evaluates into a folder of its own (engine/run_folder.py)
        check_output_path(cfg.OUTPUT_DIR)
    check_datasets_on_disk(cfg, eval_only)
    if overwrite and not eval_only:
        clear_previous_run(cfg.OUTPUT_DIR)
