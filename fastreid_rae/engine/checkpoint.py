"""What a checkpoint needs beyond fastreid's (model, optimizers, schedulers) for ``--resume``
to continue a run exactly, at any iteration: the random number generators and the run seed
(``TrainingState``), written every RAE.CHECKPOINT.ITER_PERIOD iterations
(``IterationCheckpointer``). The epoch's pseudo-labels and the backend's memory are
checkpointed by their own objects (docs/reliability.md)."""
import random

import numpy as np
import torch
from fastreid.engine.train_loop import HookBase

RESUME_CHECKPOINT = "model_resume"


def rng_states() -> dict:
    """torch (CPU and CUDA), numpy and python generator states, as tensors and plain
    numbers only (checkpoints load with ``weights_only=True``)."""
    _, numpy_keys, numpy_pos, numpy_has_gauss, numpy_gauss = np.random.get_state()
    python_version, python_state, python_gauss = random.getstate()
    states = {
        "torch": torch.get_rng_state(),
        "numpy_keys": torch.from_numpy(numpy_keys.astype(np.int64)),
        "numpy_pos": int(numpy_pos), "numpy_has_gauss": int(numpy_has_gauss),
        "numpy_gauss": float(numpy_gauss),
        "python_version": int(python_version), "python_state": torch.tensor(python_state),
        "python_gauss": python_gauss,
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict) -> None:
    torch.set_rng_state(states["torch"])
    np.random.set_state(("MT19937", states["numpy_keys"].numpy().astype(np.uint32),
                         states["numpy_pos"], states["numpy_has_gauss"], states["numpy_gauss"]))
    random.setstate((states["python_version"], tuple(states["python_state"].tolist()),
                     states["python_gauss"]))
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


class TrainingState:
    """A checkpointable: the run seed (the training streams derive from it) and the
    generator states at the instant of saving. Loading only keeps them (``loaded``): the
    trainer applies the generator states last, once nothing else will draw from them."""

    def __init__(self, run_seed: int):
        self.run_seed = run_seed
        self.loaded = None

    def state_dict(self) -> dict:
        return {"run_seed": self.run_seed, "rng": rng_states()}

    def load_state_dict(self, state: dict) -> None:
        self.loaded = state
        self.run_seed = int(state["run_seed"])


class IterationCheckpointer(HookBase):
    """Saves ``model_resume.pth`` every ``period`` iterations (one file, replaced atomically),
    recording the next iteration so that ``--resume`` continues mid-epoch. Registered last,
    after every hook that changes state in ``after_step`` (the LR schedulers)."""

    def __init__(self, checkpointer, period: int):
        self.checkpointer = checkpointer
        self.period = period

    def after_step(self):
        next_iter = self.trainer.iter + 1
        if self.period > 0 and next_iter % self.period == 0 and next_iter < self.trainer.max_iter:
            self.checkpointer.save(RESUME_CHECKPOINT, next_iter=next_iter)


# fastreid's EmbeddingHead (and RAE's): one row per source identity
SOURCE_CLASSIFIER_KEY = "heads.weight"


def sized_to_checkpoint(cfg, weights: str):
    """``cfg`` with MODEL.HEADS.NUM_CLASSES read from ``weights`` when the config leaves it 0.

    The trainer sizes the source classifier from the training set (fastreid's
    ``auto_scale_hyperparams``); evaluating a checkpoint reads no training set, so the
    classifier would not fit the weights that every key of the checkpoint must now fit."""
    if cfg.MODEL.HEADS.NUM_CLASSES:
        return cfg
    from ..checkpoint_files import load_checkpoint_file

    state = load_checkpoint_file(weights)
    classifier = state.get("model", {}).get(SOURCE_CLASSIFIER_KEY) if isinstance(state, dict) else None
    if classifier is None or classifier.dim() != 2:
        return cfg
    cfg = cfg.clone()
    cfg.defrost()
    cfg.MODEL.HEADS.NUM_CLASSES = int(classifier.shape[0])
    cfg.freeze()
    return cfg
