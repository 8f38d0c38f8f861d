"""Reading checkpoint files safely, and saying what does not fit: the checks the project's
loaders share (fastreid's Checkpointer through compat.py's shim, the translator, pre-flight)."""
import os

import torch


class CheckpointLoadError(RuntimeError):
    """A checkpoint could not be loaded safely, or does not fit the model it loads into."""


def load_checkpoint_file(path):
    """``torch.load`` restricted to tensors and plain containers.

    Replaces ``fastreid/utils/checkpoint.py:216 torch.load(f, map_location="cpu")``, which
    relied on torch < 2.6 unpickling anything: a crafted checkpoint could run code. Loading
    with ``weights_only=True`` refuses such files, and we say which file and why.
    """
    try:
        return torch.load(path, map_location=torch.device("cpu"), weights_only=True)
    except Exception as error:  # torch raises UnpicklingError, RuntimeError or EOFError
        raise CheckpointLoadError(
            f"cannot load checkpoint '{path}' ({_load_failure(path, error)}); expected a file written by "
            f"tools/train_net.py or tools/train_translator.py, holding only tensors, numbers, "
            f"strings and plain containers (an arbitrary pickle is refused)") from None


def _load_failure(path, error) -> str:
    """One line of torch's several-paragraph message: the refused pickle instruction, or its
    first sentence."""
    if os.path.getsize(path) == 0:
        return "empty file"
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    refused = [line for line in lines if line.startswith(("Unsupported", "WeightsUnpickler error"))]
    reason = (refused or lines or [type(error).__name__])[0]
    return reason if len(reason) <= 120 else reason[:reason.find(". ") + 1 or 120]


_KEYS_NAMED = 3  # keys named per kind of mismatch in one message


def _first_keys(keys) -> str:
    keys = list(keys)
    more = f" (and {len(keys) - _KEYS_NAMED} more)" if len(keys) > _KEYS_NAMED else ""
    return ", ".join(keys[:_KEYS_NAMED]) + more


def model_fit_problems(model, incompatible) -> dict:
    """``{kind: "first keys"}`` of what a state dict failed to fill or match in the model."""
    from fastreid.utils.checkpoint import _filter_reused_missing_keys

    shapes = [f"{key} {tuple(saved)} in the file, {tuple(wanted)} in the model"
              for key, saved, wanted in incompatible.incorrect_shapes]
    mis_shaped = {key for key, _, _ in incompatible.incorrect_shapes}  # fastreid leaves them out
    really_missing = set(_filter_reused_missing_keys(model, incompatible.missing_keys)) - mis_shaped
    missing = [key for key in incompatible.missing_keys if key in really_missing]  # model order
    return {kind: _first_keys(keys) for kind, keys in (
        ("mis-shaped", shapes), ("missing", missing),
        ("unexpected", incompatible.unexpected_keys)) if keys}
