"""Pre-flight checks of the merged config and the command line: every named part and option
is a registered or accepted one, the keys agree with each other, the weights a run loads
exist and fit (instant, except the weight files' headers)."""
import os
from typing import Dict, List, Sequence, Tuple

import torch
from fastreid.data.datasets import DATASET_REGISTRY
from fastreid.modeling.backbones import BACKBONE_REGISTRY
from fastreid.modeling.heads import REID_HEADS_REGISTRY
from fastreid.modeling.meta_arch import META_ARCH_REGISTRY

from ...config import config_value
from ...data.datasets import dataset_arguments
from ...data.datasets.naming import NAME_PATTERNS
from ...data.streams import STREAMS, identity_stream
from ...modeling import check_rae_config
from ...modeling.backbones import ImageNetWeightsError, check_imagenet_weights
from ...modeling.backbones.mobilenet import WIDTHS as MOBILENET_WIDTH_MULTIPLIERS
from ...modeling.heads.fusion import FUSED_FEATURE_NORMALIZATIONS
from ...modeling.registry import DECODER_REGISTRY, DISCRIMINATOR_REGISTRY, GAN_LOSS_REGISTRY
from ...pseudo_labels import registered_pseudo_labelers
from ...pseudo_labels.neighbors import SEARCH_METHODS
from ..config_loading import ConfigError, did_you_mean

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


def _registered(registry) -> List[str]:
    return sorted(registry._obj_map)  # fastreid's Registry has no public listing


def _check_choice(key: str, value, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ConfigError(f"{key} = {value!r} is not one of {sorted(choices)}"
                          f"{did_you_mean(str(value), choices)}")


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
            "<direct-transfer run>/model_final.pth; tools/ablation.py run <setting> --rows ... "
            "does this per seed)")


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
