"""Translator checkpoints: written atomically, read with errors naming the file and key.

One file holds the translator's weights, both optimizers and schedules and the iteration (so
training resumes), plus the RAE.TRANSLATOR config it was built with (so a reader can say why
the weights do not fit its own config).
"""
import os

import torch
import yaml

from ..checkpoint_files import CheckpointLoadError, load_checkpoint_file
from ..errors import ConfigError
from ..atomic import atomic_path

CHECKPOINT_NAME = "translator.pth"


def save_checkpoint(path, payload: dict) -> None:
    """torch.save through a temporary file and os.replace: an interrupted write never leaves a
    truncated checkpoint where a complete one was (the trainer overwrites it periodically)."""
    with atomic_path(path) as temporary:
        torch.save(payload, temporary)


def load_checkpoint(path, config_key: str) -> dict:
    """The payload of a translator checkpoint; ``config_key`` names where the path came from."""
    if not path:
        raise ConfigError(f"{config_key} is empty; point it at a translator checkpoint "
                          f"({CHECKPOINT_NAME}, written by tools/train_translator.py)")
    if not os.path.isfile(path):
        raise ConfigError(f"{config_key} = {str(path)!r}: no such file (a translator checkpoint "
                          f"{CHECKPOINT_NAME} is written by tools/train_translator.py)")
    payload = load_checkpoint_file(path)  # a corrupt or foreign file: one line naming it
    if not isinstance(payload, dict) or "model" not in payload:
        raise CheckpointLoadError(f"{config_key} = {str(path)!r} is not a translator checkpoint (no "
                                  f"'model' entry; {CHECKPOINT_NAME} is written by tools/train_translator.py)")
    return payload


def _flat(node, prefix: str = "") -> dict:
    flat = {}
    for key, value in node.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = list(value) if isinstance(value, (list, tuple)) else value
    return flat


def config_differences(payload: dict, translator_keys) -> str:
    """'RAE.TRANSLATOR.K = A in the file, B in the config; ...' for the keys the checkpoint was
    trained with that the config now sets otherwise ('' when none, or none recorded)."""
    try:
        recorded = yaml.safe_load(payload.get("translator_config") or "{}")
    except yaml.YAMLError:
        return ""
    if not isinstance(recorded, dict):
        return ""
    saved = _flat(recorded, "RAE.TRANSLATOR.")
    current = _flat(translator_keys, "RAE.TRANSLATOR.")
    return "; ".join(f"{key} = {value!r} in the file, {current[key]!r} in the config"
                     for key, value in saved.items() if key in current and current[key] != value)


def load_module_weights(module: torch.nn.Module, payload: dict, prefix: str, path, config_key: str) -> None:
    """Load ``payload["model"]`` entries under ``prefix`` into ``module`` strictly; a mismatch
    names the file and the config the checkpoint was trained with."""
    state = {key[len(prefix):]: value for key, value in payload["model"].items() if key.startswith(prefix)}
    try:
        module.load_state_dict(state)
    except RuntimeError as error:
        raise ValueError(
            f"{config_key} = {str(path)!r}: its {prefix.rstrip('.')} does not fit the generator built "
            f"from RAE.TRANSLATOR.GENERATOR; the checkpoint was trained with:\n"
            f"{payload.get('translator_config', '(not recorded)')}\n{error}"
        ) from None
