"""Translator checkpoints: written atomically, read with errors naming the file and key.

One file holds the translator's weights, both optimizers and schedules and the iteration (so
training resumes), plus the RAE.TRANSLATOR config it was built with (so a reader can say why
the weights do not fit its own config).
"""
import os

import torch

from .files import atomic_path

CHECKPOINT_NAME = "translator.pth"


def save_checkpoint(path, payload: dict) -> None:
    """torch.save through a temporary file and os.replace: an interrupted write never leaves a
    truncated checkpoint where a complete one was (the trainer overwrites it periodically)."""
    with atomic_path(path) as temporary:
        torch.save(payload, temporary)


def load_checkpoint(path, config_key: str) -> dict:
    """The payload of a translator checkpoint; ``config_key`` names where the path came from."""
    if not path:
        raise ValueError(f"{config_key} is empty; point it at a translator checkpoint "
                         f"({CHECKPOINT_NAME}, written by tools/train_translator.py)")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{config_key} = {str(path)!r}: no such file (a translator checkpoint "
                                f"{CHECKPOINT_NAME} is written by tools/train_translator.py)")
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or "model" not in payload:
        raise ValueError(f"{config_key} = {str(path)!r} is not a translator checkpoint (no 'model' entry)")
    return payload


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
