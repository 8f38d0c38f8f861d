"""Models to draw: a config + weights, or a run directory, loaded the way tools/train_net.py
loads them (get_cfg + add_rae_config + merge), with fastreid's Checkpointer."""
import os
from dataclasses import dataclass
from typing import Optional, Sequence

from fastreid.config import get_cfg
from fastreid.modeling import build_model
from fastreid.utils.checkpoint import Checkpointer

from ..config import add_rae_config
from ..engine.checkpoint import sized_to_checkpoint
from ..engine.config_loading import merge_config
from .errors import VisualizationError

RUN_CONFIG = "config.yaml"  # written by fastreid's DefaultTrainer into OUTPUT_DIR
RUN_WEIGHTS = "model_final.pth"


@dataclass(frozen=True)
class ModelSource:
    """Where one model comes from; ``name`` labels it in the pictures."""
    config_file: str
    weights: str
    name: str
    # config_file was written by a run (its config.yaml, or an index's copy), not by a user
    finished_run: bool = False

    @classmethod
    def resolve(cls, run_dir: Optional[str] = None, config_file: Optional[str] = None,
                weights: Optional[str] = None, name: Optional[str] = None,
                finished_run: bool = False) -> "ModelSource":
        """Either ``run_dir`` (holding config.yaml and model_final.pth; ``weights`` may name
        another checkpoint) or ``config_file`` + ``weights``; ``finished_run`` says that
        config_file, too, was written by a run. ``name`` defaults to the run directory's
        name, else to the weights' folder and file. Missing files raise FileNotFoundError
        naming them."""
        if run_dir is not None:
            if config_file is not None:
                raise VisualizationError(f"give a run directory ({run_dir}) or a config file ({config_file}), not both")
            config_file = os.path.join(run_dir, RUN_CONFIG)
            weights = weights or os.path.join(run_dir, RUN_WEIGHTS)
            name = name or os.path.basename(os.path.normpath(run_dir))
            finished_run = True
        if config_file is None or weights is None:
            raise VisualizationError("a model needs a run directory, or a config file and its weights")
        for path, what in ((config_file, "config file"), (weights, "weights")):
            if not os.path.isfile(path):
                raise FileNotFoundError(f"{what} not found: {path}")
        return cls(config_file, weights, name or _weights_label(weights), finished_run)

    def config(self, opts: Sequence[str] = ()):
        """The frozen config of this model (load_config)."""
        return load_config(self.config_file, opts, self.finished_run)


def _weights_label(weights: str) -> str:
    """"run/model_final" for run/model_final.pth: which run, which checkpoint."""
    folder = os.path.basename(os.path.dirname(os.path.abspath(weights)))
    return f"{folder}/{os.path.splitext(os.path.basename(weights))[0]}"


def default_config():
    """fastreid's defaults with every RAE key (``get_cfg`` + ``add_rae_config``)."""
    cfg = get_cfg()
    add_rae_config(cfg)
    return cfg


def load_config(config_file: str, opts: Sequence[str] = (), finished_run: bool = False):
    """The frozen config of ``config_file`` with ``opts`` (KEY VALUE ...) merged on top, as
    tools/train_net.py builds it (a bad file or key raises ConfigError naming it; a
    ``finished_run``'s retired keys are dropped with a warning, engine/config_loading.py)."""
    cfg = default_config()
    merge_config(cfg, config_file, opts, finished_run)
    # the weights come from the checkpoint; never fetch ImageNet ones just to overwrite them
    cfg.MODEL.BACKBONE.PRETRAIN = False
    cfg.freeze()
    return cfg


def load_checkpoint(cfg, weights: str):
    """``(model, extras)``: the model of ``cfg`` with ``weights`` loaded, in eval mode on
    MODEL.DEVICE, and the checkpoint's other entries (pseudo-labels, optimizers, ...), from
    one read of the file."""
    model = build_model(sized_to_checkpoint(cfg, weights))
    extras = Checkpointer(model).load(weights)
    return model.eval(), extras


def load_model(cfg, weights: str):
    """The model of ``cfg`` with ``weights`` loaded, in eval mode on MODEL.DEVICE."""
    return load_checkpoint(cfg, weights)[0]
