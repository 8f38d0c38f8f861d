"""What an ablation or a sweep trains: variants, each a config file plus the overrides that
make it, checked against fastreid's config before anything is launched."""
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from fastreid.config import get_cfg

from ..config import add_rae_config, config_value
from ..engine.config_loading import ConfigError, merge_config

# The Fig. 6 hyper-parameters a sweep varies (Sec. IV-E, "Parameters Analysis").
SWEEP_KEYS = {"lambda_feat_gan": "RAE.LOSS.LAMBDA_FEAT_GAN",
              "lambda_pix_gan": "RAE.LOSS.LAMBDA_PIX_GAN"}

# Keys the runner sets for every run itself; a user override of one would be silently lost.
RUNNER_KEYS = ("SEED", "OUTPUT_DIR")


@dataclass(frozen=True)
class Variant:
    """One row of the table (one point of a sweep): ``name`` is its run folder and label."""
    name: str
    config_file: Path
    overrides: Tuple = ()


def config_variants(config_files: Sequence) -> List[Variant]:
    """One variant per config file, named by its file name (``baseline.yml`` -> baseline)."""
    paths = [Path(p).resolve() for p in config_files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"config file(s) not found: {', '.join(missing)}")
    by_name = {}
    for path in paths:
        by_name.setdefault(path.stem, []).append(str(path))
    clashes = {name: files for name, files in by_name.items() if len(files) > 1}
    if clashes:
        # their runs would share OUTPUT_ROOT/<name>/seed<k>
        raise ValueError(f"config files with the same name cannot share an output root: {clashes}; "
                         "run each setting into its own OUTPUT_ROOT")
    return [Variant(path.stem, path) for path in paths]


SweepCurves = Dict[str, List[Tuple[float, Variant]]]


def sweep_variants(config_file, values: Sequence[float],
                   params: Sequence[str] = tuple(SWEEP_KEYS), overrides: Sequence = ()) -> SweepCurves:
    """``{param: [(value, variant), ...]}``: ``config_file`` with one loss weight changed at a
    time, the others left at the config's values (as Fig. 6 varies one lambda at a time).
    Where a value is the config's own (after ``overrides``), every curve shares one run, named by
    all the configured weights: it is the same training."""
    unknown = sorted(set(params) - set(SWEEP_KEYS))
    if unknown:
        raise ValueError(f"unknown sweep parameter(s) {unknown}; valid: {sorted(SWEEP_KEYS)}")
    path = Path(config_file).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    cfg = load_config(Variant(path.stem, path), overrides)
    configured = {param: float(config_value(cfg, key)) for param, key in SWEEP_KEYS.items()}
    as_configured = Variant("_".join(f"{param}_{value:g}" for param, value in configured.items()), path)
    values = list(dict.fromkeys(float(value) for value in values))  # 1 and 1.0: one point
    return {param: [(value, as_configured if value == configured[param]
                     else Variant(f"{param}_{value:g}", path, (SWEEP_KEYS[param], value)))
                    for value in values]
            for param in params}


def check_overrides(overrides: Sequence):
    """KEY VALUE pairs (an odd list would pair the runner's own keys wrongly), none of them a
    key the runner sets per run."""
    if len(overrides) % 2:
        raise ConfigError(f"overrides must be KEY VALUE pairs, got an odd number: "
                          f"{list(overrides)}")
    taken = sorted(set(overrides[::2]) & set(RUNNER_KEYS))
    if taken:
        raise ConfigError(f"{taken} are set by the runner for each run (seed<k> folders under "
                         "OUTPUT_ROOT); do not override them")


def load_config(variant: Variant, overrides: Sequence = ()):
    """The run's merged config, as tools/train_net.py merges it; a bad file, key or value
    raises a ConfigError naming the variant and its config file, before any run starts."""
    cfg = get_cfg()
    add_rae_config(cfg)
    try:
        merge_config(cfg, str(variant.config_file),
                     [str(item) for item in (*overrides, *variant.overrides)])
    except ConfigError as error:
        raise ConfigError(f"{variant.name} ({variant.config_file}): {error}") from None
    return cfg


def adapts_source_model(variant: Variant) -> bool:
    """Whether the variant's config adapts a source-trained model (its
    RAE.SOURCE_PRETRAIN.FROM_SOURCE_MODEL), i.e. needs another run's MODEL.WEIGHTS."""
    return bool(load_config(variant).RAE.SOURCE_PRETRAIN.FROM_SOURCE_MODEL)
