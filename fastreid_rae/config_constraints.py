"""What each config value may be: one table beside ``add_rae_config``, checked before a run
builds, writes or deletes anything (``check_config_values``, called by pre-flight).

yacs only checks a value's type. Without this table a negative learning rate, a probability
of 7 or an ``inf`` learning rate reached torch minutes later as a traceback (or a run of NaN
weights), after ``--overwrite`` had already deleted the previous run. Each entry is a
``Rule``: what holds, said the way an error message says it, and one value that breaks it
(the table-driven test in tests/test_errors.py walks every key with it).

Names chosen from a registry (backbones, heads, pseudo-labellers, ...) are checked against
the registry by pre-flight's ``named_choices``; settings that involve two keys (a batch
divisible by the images per identity, ...) by its own checks. fastreid's keys that RAE's
trainer does not honour are in ``IGNORED_FASTREID_KEYS``: a few refused, the others named in
a warning.
"""
import logging
import math
from dataclasses import dataclass
from typing import Any, Callable, Dict

from fastreid.config import get_cfg
from fastreid.layers import any_softmax, pooling
from fastreid.modeling.meta_arch import META_ARCH_REGISTRY

from .config import add_rae_config, config_value
from .data.datasets.unlabelled_folder import camera_pattern_problem
from .engine.config_loading import ConfigError
from .evaluation.chunked import MATMULS
from .modeling.registry import RECONSTRUCTION_LOSS_REGISTRY

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rule:
    holds: Callable[[Any], bool]
    expected: str  # completes "KEY = value; expected ..."
    bad: Any  # a value of the key's type that breaks the rule


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def at_least(low) -> Rule:
    """``low`` or more; an int ``low`` for an int key, a float one for a float key."""
    return Rule(lambda value: _is_number(value) and value >= low, f"at least {low}",
                type(low)(low - 1))


def above(low: float) -> Rule:
    return Rule(lambda value: _is_number(value) and value > low,
                f"a finite number above {low}", float("inf"))


def between(low: float, high: float, high_open: bool = False) -> Rule:
    closing = ")" if high_open else "]"
    return Rule(lambda value: _is_number(value) and low <= value and (
        value < high if high_open else value <= high),
        f"a number in [{low}, {high}{closing}", float("nan"))


def finite() -> Rule:
    return Rule(_is_number, "a finite number", float("nan"))


def one_of(*choices: str) -> Rule:
    return Rule(lambda value: value in choices, f"one of {sorted(choices)}", "no-such-choice")


def each(rule: Rule, length: int = 0) -> Rule:
    """A non-empty list (of ``length`` items, when given) whose every item obeys ``rule``."""
    size = f"{length} " if length else "a non-empty list of "
    return Rule(lambda values: len(values) > 0 and (not length or len(values) == length)
                and all(rule.holds(value) for value in values),
                f"{size}items, each {rule.expected}", [rule.bad] * max(length, 1))


def increasing(rule: Rule) -> Rule:
    return Rule(lambda values: all(rule.holds(value) for value in values)
                and list(values) == sorted(set(values)),
                f"increasing values, each {rule.expected}", [2, 1])


PROBABILITY = between(0.0, 1.0)
POSITIVE_INT = at_least(1)
NON_NEGATIVE_INT = at_least(0)
NON_NEGATIVE = at_least(0.0)
POSITIVE = above(0.0)
FASTREID_NORMS = one_of("BN", "syncBN", "GhostBN", "FrozenBN", "GN")  # layers/batch_norm.get_norm

CONSTRAINTS: Dict[str, Rule] = {
    # ---- fastreid's model ------------------------------------------------------------------
    "MODEL.BACKBONE.LAST_STRIDE": Rule(lambda value: value in (1, 2), "1 or 2", 3),
    "MODEL.BACKBONE.FEAT_DIM": POSITIVE_INT,
    "MODEL.BACKBONE.NORM": FASTREID_NORMS,
    "MODEL.HEADS.NORM": FASTREID_NORMS,
    "MODEL.HEADS.NUM_CLASSES": NON_NEGATIVE_INT,
    "MODEL.HEADS.EMBEDDING_DIM": NON_NEGATIVE_INT,
    "MODEL.HEADS.POOL_LAYER": one_of(*pooling.__all__),
    "MODEL.HEADS.CLS_LAYER": one_of(*any_softmax.__all__),
    "MODEL.HEADS.MARGIN": NON_NEGATIVE,
    "MODEL.HEADS.SCALE": POSITIVE_INT,
    "MODEL.LOSSES.NAME": each(one_of("CrossEntropyLoss", "TripletLoss", "CircleLoss", "Cosface")),
    "MODEL.LOSSES.CE.EPSILON": between(0.0, 1.0, high_open=True),
    "MODEL.LOSSES.CE.SCALE": NON_NEGATIVE,
    "MODEL.LOSSES.TRI.MARGIN": NON_NEGATIVE,
    "MODEL.LOSSES.TRI.SCALE": NON_NEGATIVE,
    "MODEL.LOSSES.CIRCLE.SCALE": NON_NEGATIVE,
    "MODEL.LOSSES.COSFACE.SCALE": NON_NEGATIVE,
    "MODEL.PIXEL_MEAN": each(finite(), length=3),
    "MODEL.PIXEL_STD": each(POSITIVE, length=3),
    # ---- input and data --------------------------------------------------------------------
    "INPUT.PADDING.SIZE": NON_NEGATIVE_INT,
    "INPUT.PADDING.MODE": one_of("constant", "edge", "reflect", "symmetric"),
    "INPUT.FLIP.PROB": PROBABILITY,
    "INPUT.CJ.PROB": PROBABILITY,
    "INPUT.CJ.BRIGHTNESS": NON_NEGATIVE,
    "INPUT.CJ.CONTRAST": NON_NEGATIVE,
    "INPUT.CJ.SATURATION": NON_NEGATIVE,
    "INPUT.CJ.HUE": between(0.0, 0.5),
    "INPUT.AUTOAUG.PROB": PROBABILITY,
    "INPUT.AUGMIX.PROB": PROBABILITY,
    "INPUT.REA.PROB": PROBABILITY,
    "INPUT.RPT.PROB": PROBABILITY,
    "DATASETS.FOLDER.CAMERA_PATTERN": Rule(
        lambda value: camera_pattern_problem(value) is None,
        "empty or a regular expression with a named group (?P<camid>...)", "c(\\d+)_"),
    "DATASETS.FOLDER.MIN_SIZE": each(NON_NEGATIVE_INT, length=2),
    "DATALOADER.NUM_INSTANCE": POSITIVE_INT,
    "DATALOADER.NUM_WORKERS": NON_NEGATIVE_INT,
    # ---- solver (epochs, fastreid's schedules; learning rates must be finite: an inf one
    # turned every weight NaN at the first step) ---------------------------------------------
    "SOLVER.MAX_EPOCH": POSITIVE_INT,
    "SOLVER.BASE_LR": POSITIVE,
    "SOLVER.MOMENTUM": PROBABILITY,
    "SOLVER.WEIGHT_DECAY": NON_NEGATIVE,
    "SOLVER.GAMMA": POSITIVE,
    "SOLVER.STEPS": increasing(NON_NEGATIVE_INT),
    "SOLVER.ETA_MIN_LR": NON_NEGATIVE,
    "SOLVER.DELAY_EPOCHS": NON_NEGATIVE_INT,
    "SOLVER.WARMUP_FACTOR": between(0.0, 1.0),
    "SOLVER.WARMUP_ITERS": NON_NEGATIVE_INT,
    "SOLVER.WARMUP_METHOD": one_of("constant", "linear", "exp"),  # solver/lr_scheduler.py
    "SOLVER.FREEZE_ITERS": NON_NEGATIVE_INT,
    "SOLVER.CHECKPOINT_PERIOD": POSITIVE_INT,  # fastreid takes the epoch modulo it
    "SOLVER.IMS_PER_BATCH": POSITIVE_INT,
    "SOLVER.CLIP_GRADIENTS.CLIP_TYPE": one_of("value", "norm"),
    "SOLVER.CLIP_GRADIENTS.CLIP_VALUE": POSITIVE,
    "SOLVER.CLIP_GRADIENTS.NORM_TYPE": POSITIVE,
    # ---- evaluation ------------------------------------------------------------------------
    "TEST.EVAL_PERIOD": NON_NEGATIVE_INT,
    "TEST.IMS_PER_BATCH": POSITIVE_INT,
    "TEST.METRIC": one_of("cosine", "euclidean", "jaccard"),  # utils/compute_dist.py
    "TEST.RERANK.K1": POSITIVE_INT,
    "TEST.RERANK.K2": POSITIVE_INT,
    "TEST.RERANK.LAMBDA": PROBABILITY,
    "TEST.AQE.QE_TIME": POSITIVE_INT,
    "TEST.AQE.QE_K": POSITIVE_INT,
    "TEST.AQE.ALPHA": finite(),
    "TEST.PRECISE_BN.NUM_ITER": POSITIVE_INT,
    "TEST.CHUNKED.QUERY_CHUNK": POSITIVE_INT,
    "TEST.CHUNKED.MATMUL": one_of(*MATMULS),
    # ---- RAE's model -----------------------------------------------------------------------
    "RAE.ENCODER.DROPOUT": between(0.0, 1.0, high_open=True),
    "RAE.FEATURE_TRANSFER.DISCRIMINATOR.CHANNELS": each(POSITIVE_INT),
    "RAE.FEATURE_TRANSFER.DISCRIMINATOR.KERNEL_SIZE": POSITIVE_INT,
    "RAE.FEATURE_TRANSFER.DISCRIMINATOR.NEGATIVE_SLOPE": NON_NEGATIVE,
    "RAE.PIXEL_TRANSFER.INPUT_PIXEL_MAX": POSITIVE,
    "RAE.PIXEL_TRANSFER.RECONSTRUCTION_LOSS": one_of(*RECONSTRUCTION_LOSS_REGISTRY._obj_map),
    "RAE.PIXEL_TRANSFER.DECODER.CHANNELS": each(POSITIVE_INT),
    "RAE.PIXEL_TRANSFER.DECODER.KERNEL_SIZE": POSITIVE_INT,
    "RAE.PIXEL_TRANSFER.DECODER.NORM": FASTREID_NORMS,
    "RAE.PIXEL_TRANSFER.DISCRIMINATOR.CHANNELS": each(POSITIVE_INT),
    "RAE.PIXEL_TRANSFER.DISCRIMINATOR.KERNEL_SIZE": POSITIVE_INT,
    "RAE.PIXEL_TRANSFER.DISCRIMINATOR.NEGATIVE_SLOPE": NON_NEGATIVE,
    "RAE.FUSION.RANK": POSITIVE_INT,
    "RAE.FUSION.OUT_DIM": POSITIVE_INT,
    "RAE.TEST_FEATURE": one_of("final", "encoder", "fusion"),
    "RAE.LOSS.LAMBDA_TRI": NON_NEGATIVE,
    "RAE.LOSS.LAMBDA_FEAT_GAN": NON_NEGATIVE,
    "RAE.LOSS.LAMBDA_PIX_GAN": NON_NEGATIVE,
    # ---- PT-hat's translator ---------------------------------------------------------------
    "RAE.TRANSLATOR.GENERATOR.BASE_CHANNELS": POSITIVE_INT,
    "RAE.TRANSLATOR.GENERATOR.NUM_DOWNSAMPLING": NON_NEGATIVE_INT,
    "RAE.TRANSLATOR.GENERATOR.NUM_BLOCKS": NON_NEGATIVE_INT,
    "RAE.TRANSLATOR.DISCRIMINATOR.BASE_CHANNELS": POSITIVE_INT,
    "RAE.TRANSLATOR.DISCRIMINATOR.NUM_LAYERS": POSITIVE_INT,
    "RAE.TRANSLATOR.LAMBDA_CYC": NON_NEGATIVE,
    "RAE.TRANSLATOR.LAMBDA_IDENTITY": NON_NEGATIVE,
    "RAE.TRANSLATOR.POOL_SIZE": NON_NEGATIVE_INT,
    "RAE.TRANSLATOR.BASE_LR": POSITIVE,
    "RAE.TRANSLATOR.BETAS": each(between(0.0, 1.0, high_open=True), length=2),
    "RAE.TRANSLATOR.IMS_PER_BATCH": POSITIVE_INT,
    "RAE.TRANSLATOR.MAX_ITER": POSITIVE_INT,
    "RAE.TRANSLATOR.DECAY_FRACTION": PROBABILITY,
    "RAE.TRANSLATOR.CHECKPOINT_PERIOD": POSITIVE_INT,
    # ---- pseudo-labels ---------------------------------------------------------------------
    "RAE.PSEUDO_LABEL.NEIGHBORS.NUM_LISTS": NON_NEGATIVE_INT,
    "RAE.PSEUDO_LABEL.NEIGHBORS.NPROBE": POSITIVE_INT,
    "RAE.PSEUDO_LABEL.NEIGHBORS.MIN_RECALL": between(0.0, 1.0),
    "RAE.PSEUDO_LABEL.DBSCAN.EPS": Rule(lambda value: _is_number(value) and 0 < value <= 1,
                                        "a Jaccard distance in (0, 1]", 0.0),
    "RAE.PSEUDO_LABEL.DBSCAN.MIN_SAMPLES": POSITIVE_INT,
    "RAE.PSEUDO_LABEL.DBSCAN.K1": POSITIVE_INT,
    "RAE.PSEUDO_LABEL.DBSCAN.K2": POSITIVE_INT,
    "RAE.PSEUDO_LABEL.KMEANS.NUM_CLUSTERS": POSITIVE_INT,
    "RAE.PSEUDO_LABEL.KMEANS.NUM_ITERS": POSITIVE_INT,
    "RAE.PSEUDO_LABEL.JVTC.FRAME_INTERVAL": POSITIVE_INT,
    "RAE.PSEUDO_LABEL.JVTC.SIGMA": POSITIVE,
    "RAE.PSEUDO_LABEL.JVTC.LAMBDA": NON_NEGATIVE,
    "RAE.PSEUDO_LABEL.JVTC.GAMMA": NON_NEGATIVE,
    "RAE.PSEUDO_LABEL.JVTC.NUM_CANDIDATES": POSITIVE_INT,
    "RAE.PSEUDO_LABEL.MMCL.THRESHOLD": between(-1.0, 1.0),  # a cosine similarity
    "RAE.PSEUDO_LABEL.MMCL.MIN_CANDIDATES": POSITIVE_INT,
    "RAE.PSEUDO_LABEL.MMCL.MAX_CANDIDATES": POSITIVE_INT,
    "RAE.PSEUDO_LABEL.MMCL.DELTA": NON_NEGATIVE,
    "RAE.PSEUDO_LABEL.MMCL.HARD_NEGATIVE_RATIO": Rule(
        lambda value: _is_number(value) and 0 < value <= 1, "a fraction in (0, 1]", 0.0),
    "RAE.PSEUDO_LABEL.MMCL.MOMENTUM": PROBABILITY,
    "RAE.PSEUDO_LABEL.MMCL.MOMENTUM_RAMP_EPOCHS": NON_NEGATIVE_INT,
    "RAE.PSEUDO_LABEL.MMCL.WARMUP_EPOCHS": NON_NEGATIVE_INT,
    "RAE.PSEUDO_LABEL.MEMORY_CONTRAST.TEMPERATURE": POSITIVE,
    "RAE.PSEUDO_LABEL.MEMORY_CONTRAST.MOMENTUM": PROBABILITY,
    # ---- schedule, solver, checkpoints -----------------------------------------------------
    "RAE.SOURCE_PRETRAIN.EPOCHS": NON_NEGATIVE_INT,
    "RAE.SOURCE_PRETRAIN.DECODER_EPOCHS": NON_NEGATIVE_INT,
    "RAE.SOLVER.MAX_NONFINITE_STEPS": POSITIVE_INT,
    "RAE.SOLVER.ENCODER_LR": POSITIVE,
    "RAE.SOLVER.DISCRIMINATOR_LR": POSITIVE,
    "RAE.CHECKPOINT.ITER_PERIOD": NON_NEGATIVE_INT,
    # numpy's generators take seeds below 2**32 only: a larger one failed once training started
    "SEED": Rule(lambda value: value < 2 ** 32, "below 2**32 (negative: a random seed)", 2 ** 32),
}

# Pairs of keys where the first may not exceed the second.
ORDERED_PAIRS = (
    ("RAE.PSEUDO_LABEL.DBSCAN.K2", "RAE.PSEUDO_LABEL.DBSCAN.K1"),
    ("RAE.PSEUDO_LABEL.MMCL.MIN_CANDIDATES", "RAE.PSEUDO_LABEL.MMCL.MAX_CANDIDATES"),
)


def _always(cfg) -> bool:
    return True


def _optimizer_of_its_own(cfg) -> bool:
    """UDATrainer.build_optimizer gives a model with ``param_groups`` (RAE) an optimizer of its
    own (``_sgd_or_named`` in fastreid_rae/engine/trainer.py: one learning rate per group, one
    weight decay, momentum for SGD); fastreid's build_optimizer, the reader of the keys below,
    is then never called. Other models (fastreid's Baseline) still get fastreid's."""
    architecture = META_ARCH_REGISTRY._obj_map.get(cfg.MODEL.META_ARCHITECTURE)
    return architecture is not None and hasattr(architecture, "param_groups")


def _not_sgd(cfg) -> bool:
    return cfg.SOLVER.OPT != "SGD"


@dataclass(frozen=True)
class Ignored:
    reason: str
    refused: bool = False  # True: a non-default value would promise behaviour the run cannot give
    when: Callable[[Any], bool] = _always  # the configs in which the trainer ignores the key


_NOT_THIS_TRAINER = "fastreid's distillation trainer reads it; tools/train_net.py trains with UDATrainer"
_OWN_GROUPS = ("RAE's optimizer (UDATrainer.build_optimizer) gives Enc RAE.SOLVER.ENCODER_LR and "
               "every other part SOLVER.BASE_LR (Enc's heads x SOLVER.HEADS_LR_FACTOR), biases included")
_OWN_DECAY = "RAE's optimizer (UDATrainer.build_optimizer) decays every parameter by SOLVER.WEIGHT_DECAY"
_NO_CLIPPING = "RAE's optimizer (UDATrainer.build_optimizer) never clips gradients"
# fastreid keys UDATrainer does not honour (in the configs ``when`` picks). Only a value other
# than fastreid's default is reported, so a config that leaves a key alone hears nothing; the
# shipped configs set none of them (tests/test_errors.py), rather than repeat values that do
# nothing (docs/configs.md, "fastreid keys RAE ignores").
IGNORED_FASTREID_KEYS: Dict[str, Ignored] = {
    "KD.MODEL_CONFIG": Ignored(_NOT_THIS_TRAINER, refused=True),
    "KD.MODEL_WEIGHTS": Ignored(_NOT_THIS_TRAINER, refused=True),
    "KD.EMA.ENABLED": Ignored(_NOT_THIS_TRAINER, refused=True),
    "SOLVER.AMP.ENABLED": Ignored("RAEStep (fastreid_rae/engine/rae_step.py) replaces fastreid's "
                                  "AMP trainer and trains in float32", refused=True),
    "MODEL.QUEUE_SIZE": Ignored("only fastreid's MoCo meta-architecture reads it"),
    "DATALOADER.SET_WEIGHT": Ignored("the source stream (fastreid_rae/data/streams.py) samples "
                                     "every source set alike"),
    # fastreid's build_optimizer passes it to SGD alone, and so does RAE's
    "SOLVER.MOMENTUM": Ignored("only SOLVER.OPT SGD takes a momentum", when=_not_sgd),
    "SOLVER.NESTEROV": Ignored("RAE's optimizer (UDATrainer.build_optimizer) uses plain momentum",
                               when=_optimizer_of_its_own),
    "SOLVER.BIAS_LR_FACTOR": Ignored(_OWN_GROUPS, when=_optimizer_of_its_own),
    "SOLVER.WEIGHT_DECAY_NORM": Ignored(_OWN_DECAY, when=_optimizer_of_its_own),
    "SOLVER.WEIGHT_DECAY_BIAS": Ignored(_OWN_DECAY, when=_optimizer_of_its_own),
    "SOLVER.CLIP_GRADIENTS.ENABLED": Ignored(_NO_CLIPPING, when=_optimizer_of_its_own),
    "SOLVER.CLIP_GRADIENTS.CLIP_TYPE": Ignored(_NO_CLIPPING, when=_optimizer_of_its_own),
    "SOLVER.CLIP_GRADIENTS.CLIP_VALUE": Ignored(_NO_CLIPPING, when=_optimizer_of_its_own),
    "SOLVER.CLIP_GRADIENTS.NORM_TYPE": Ignored(_NO_CLIPPING, when=_optimizer_of_its_own),
    # fastreid freezes them in its optimizer's step; its LayerFreeze hook, which UDATrainer
    # keeps, only puts them in eval mode
    "MODEL.FREEZE_LAYERS": Ignored("RAE's optimizer (UDATrainer.build_optimizer) freezes no layer: "
                                   "for SOLVER.FREEZE_ITERS their BN statistics stay fixed, but "
                                   "their weights train", when=_optimizer_of_its_own),
}


def ignored_settings(cfg) -> Dict[str, str]:
    """``{key: message}`` for each key of ``IGNORED_FASTREID_KEYS`` that ``cfg`` sets to
    another value than fastreid's default, in a config whose trainer ignores it."""
    defaults = add_rae_config(get_cfg())
    settings = {}
    for key, ignored in IGNORED_FASTREID_KEYS.items():
        value = config_value(cfg, key)
        if value != config_value(defaults, key) and ignored.when(cfg):
            settings[key] = f"{key} = {value!r} is not used: {ignored.reason}"
    return settings


def check_config_values(cfg) -> None:
    """Every key of ``CONSTRAINTS`` obeys its rule, ``ORDERED_PAIRS`` are ordered, and
    ``IGNORED_FASTREID_KEYS`` keep fastreid's default (refused) or are logged (warned), one
    line per key."""
    for key, rule in CONSTRAINTS.items():
        value = config_value(cfg, key)
        if not rule.holds(value):
            raise ConfigError(f"{key} = {value!r}; expected {rule.expected}")
    for low_key, high_key in ORDERED_PAIRS:
        low, high = config_value(cfg, low_key), config_value(cfg, high_key)
        if low > high:
            raise ConfigError(f"{low_key} = {low} is above {high_key} = {high}; expected at most it")
    settings = ignored_settings(cfg)
    for key, message in settings.items():
        if IGNORED_FASTREID_KEYS[key].refused:
            raise ConfigError(f"{message}; remove it from the config")
    for message in settings.values():
        logger.warning(message)
