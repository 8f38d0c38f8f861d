"""The UDA trainer: fastreid's ``DefaultTrainer`` with two domains (Algorithm 1)."""
import os

import torch
from fastreid.engine import DefaultTrainer, hooks
from fastreid.solver import build_lr_scheduler
from fastreid.utils import comm

from ..data import build as data_build
from ..data.target import build_target_images
from ..evaluation import write_results
from ..evaluation.chunked import build_reid_evaluator
from .pseudo_label_hook import PseudoLabelHook
from .rae_step import RAEStep, unwrap


def _sgd_or_named(cfg, param_groups):
    """The paper's SGD (Sec. IV-B) or any other ``torch.optim`` class named by SOLVER.OPT."""
    if cfg.SOLVER.OPT == "SGD":
        return torch.optim.SGD(param_groups, lr=cfg.SOLVER.BASE_LR, momentum=cfg.SOLVER.MOMENTUM,
                               weight_decay=cfg.SOLVER.WEIGHT_DECAY)
    return getattr(torch.optim, cfg.SOLVER.OPT)(param_groups, lr=cfg.SOLVER.BASE_LR,
                                                weight_decay=cfg.SOLVER.WEIGHT_DECAY)


class UDATrainer(DefaultTrainer):
    """Labelled sources ``DATASETS.NAMES``, unlabelled target ``DATASETS.TARGET`` (empty:
    source only, i.e. direct transfer), evaluation on ``DATASETS.TESTS``.

    On top of ``DefaultTrainer``: checked data building, the alternating generator /
    discriminator step (``RAEStep``), the discriminators' optimizer and schedule in the
    checkpoint, and the per-epoch pseudo-labelling hook.
    """

    def __init__(self, cfg):
        if comm.is_main_process() and cfg.OUTPUT_DIR:
            # DefaultTrainer writes config.yaml there before anything creates it
            os.makedirs(cfg.OUTPUT_DIR, exist_ok=True)
        super().__init__(cfg)
        model = self._trainer.model
        discriminator_optimizer = self.build_discriminator_optimizer(cfg, unwrap(model))
        self._trainer = RAEStep(model, self._trainer.data_loader, self._trainer.optimizer,
                                discriminator_optimizer)
        extra_hooks = []
        if cfg.DATASETS.TARGET:
            extra_hooks.append(PseudoLabelHook(cfg, build_target_images(cfg)))
        if discriminator_optimizer is not None:
            schedulers = build_lr_scheduler(cfg, discriminator_optimizer, self.iters_per_epoch)
            self.checkpointer.checkpointables["discriminator_optimizer"] = discriminator_optimizer
            for name, scheduler in schedulers.items():
                self.checkpointer.checkpointables[f"discriminator_{name}"] = scheduler
            extra_hooks.append(hooks.LRScheduler(discriminator_optimizer, schedulers))
        self.register_hooks(extra_hooks)

    @classmethod
    def build_train_loader(cls, cfg):
        return data_build.build_source_train_loader(cfg)

    @classmethod
    def build_test_loader(cls, cfg, dataset_name):
        return data_build.build_test_loader(cfg, dataset_name)

    @classmethod
    def build_evaluator(cls, cfg, dataset_name, output_dir=None):
        """fastreid's ReidEvaluator, or the memory-bounded one with TEST.CHUNKED.ENABLED."""
        data_loader, num_query = cls.build_test_loader(cfg, dataset_name)
        return data_loader, build_reid_evaluator(cfg, num_query, output_dir)

    @classmethod
    def build_optimizer(cls, cfg, model):
        """Enc at RAE.SOLVER.ENCODER_LR, the rest at SOLVER.BASE_LR (Sec. IV-B). No flat
        parameter buffer: the target classifier is re-sized every epoch."""
        if not hasattr(model, "param_groups"):
            return super().build_optimizer(cfg, model)
        groups = model.param_groups()
        return _sgd_or_named(cfg, [{"params": groups["encoder"], "lr": cfg.RAE.SOLVER.ENCODER_LR},
                                   {"params": groups["others"], "lr": cfg.SOLVER.BASE_LR}]), None

    @classmethod
    def build_discriminator_optimizer(cls, cfg, model):
        """Dis_f and Dis_p, updated in their own step; None when FT and PT are off."""
        if not hasattr(model, "param_groups") or not model.param_groups()["discriminators"]:
            return None
        return _sgd_or_named(cfg, [{"params": model.param_groups()["discriminators"],
                                    "lr": cfg.RAE.SOLVER.DISCRIMINATOR_LR}])

    @classmethod
    def test(cls, cfg, model):
        results = super().test(cfg, model)
        # fastreid returns the inner dict when there is one test set
        per_dataset = results if len(cfg.DATASETS.TESTS) > 1 else {cfg.DATASETS.TESTS[0]: results}
        if comm.is_main_process() and cfg.OUTPUT_DIR:
            write_results(cfg.OUTPUT_DIR, per_dataset)
        return results
