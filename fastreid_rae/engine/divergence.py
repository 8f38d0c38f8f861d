"""A diverged run stops, names where, and leaves no trace of its non-finite model.

Without these checks weights that went NaN (a learning rate far too high) were clustered
(the error then blamed RAE.PSEUDO_LABEL.NEIGHBORS.NPROBE), checkpointed over the last good
state, and evaluated in ``after_train`` into a results.json with mAP 109.6.
"""
import itertools
from typing import Optional

import torch

from .distributed import unwrap


class DivergedError(FloatingPointError):
    """The model's weights are no longer finite."""


def first_nonfinite_tensor(model) -> Optional[str]:
    """The name of the model's first parameter or buffer holding a NaN or inf, or None."""
    named = itertools.chain(unwrap(model).named_parameters(), unwrap(model).named_buffers())
    for name, tensor in named:
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            return name
    return None


def last_good_checkpoint(checkpointer) -> str:
    """Where to go back to; only finite models are saved (``saving_finite_models_only``)."""
    if checkpointer is None:
        return ""
    if checkpointer.has_checkpoint():
        return (f"; the last good checkpoint is '{checkpointer.get_checkpoint_file()}' (--resume "
                f"continues from it)")
    return "; no checkpoint was written before it"


def check_model_finite(model, when: str, checkpointer=None) -> None:
    """Raise DivergedError naming the first non-finite tensor, ``when`` it was found and the
    last good checkpoint."""
    name = first_nonfinite_tensor(model)
    if name is not None:
        raise DivergedError(
            f"training diverged: the model's {name} is not finite {when}"
            f"{last_good_checkpoint(checkpointer)}; lower the learning rates (SOLVER.BASE_LR, "
            f"RAE.SOLVER.*) or the GAN weights (RAE.LOSS.*)")


def saving_finite_models_only(checkpointer, model) -> None:
    """Make ``checkpointer.save`` refuse a non-finite model, so that ``last_checkpoint``
    always names a good state. fastreid's PeriodicCheckpointer and our IterationCheckpointer
    both call ``checkpointer.save``; wrapping the instance covers both."""
    save = checkpointer.save

    def save_if_finite(name, **kwargs):
        check_model_finite(model, f"when checkpoint '{name}' was to be saved", checkpointer)
        save(name, **kwargs)

    checkpointer.save = save_if_finite
