"""The UDA trainer: fastreid's ``DefaultTrainer`` with two domains (Algorithm 1)."""
import inspect
import logging
import os

import torch
from fastreid.engine import DefaultTrainer, hooks
from fastreid.solver import build_lr_scheduler
from fastreid.utils import comm
from fastreid.utils.env import seed_all_rng
from fastreid.utils.events import EventStorage
from torch.nn.parallel import DistributedDataParallel

from ..data import build as data_build
from ..data.target import build_target_images
from ..evaluation import write_results
from ..evaluation.chunked import build_reid_evaluator
from ..modeling.meta_arch.rae import RAE
from .checkpoint import IterationCheckpointer, TrainingState, set_rng_states
from .divergence import DivergedError, check_model_finite, saving_finite_models_only
from .distributed import average_buffers, parameters_outside_ddp, unwrap
from .pseudo_label_hook import PseudoLabelHook
from .rae_step import RAEStep
from .training_stage import TrainingStageHook

logger = logging.getLogger(__name__)


def _sgd_or_named(cfg, param_groups):
    """The paper's SGD (Sec. IV-B) or any other ``torch.optim`` class named by SOLVER.OPT,
    fused where torch has a fused kernel for it (RAE.SOLVER.FUSED)."""
    optimizer_class = getattr(torch.optim, cfg.SOLVER.OPT)
    kwargs = {"lr": cfg.SOLVER.BASE_LR, "weight_decay": cfg.SOLVER.WEIGHT_DECAY}
    if cfg.SOLVER.OPT == "SGD":
        kwargs["momentum"] = cfg.SOLVER.MOMENTUM
    if cfg.RAE.SOLVER.FUSED and "fused" in inspect.signature(optimizer_class).parameters:
        kwargs["fused"] = True
    return optimizer_class(param_groups, **kwargs)


class UDATrainer(DefaultTrainer):
    """Labelled sources ``DATASETS.NAMES``, unlabelled target ``DATASETS.TARGET`` (empty:
    source only, i.e. direct transfer), evaluation on ``DATASETS.TESTS``.

    On top of ``DefaultTrainer``: checked data building on resumable streams, the alternating
    generator / discriminator step (``RAEStep``), the discriminators' optimizer and schedule,
    the per-epoch pseudo-labelling hook, and checkpoints that resume at any iteration.
    """

    def __init__(self, cfg):
        if cfg.SEED >= 0:  # before anything draws: the model's initialisation, the streams
            seed_all_rng(cfg.SEED)
        if comm.is_main_process() and cfg.OUTPUT_DIR:
            # DefaultTrainer writes config.yaml there before anything creates it
            os.makedirs(cfg.OUTPUT_DIR, exist_ok=True)
        super().__init__(cfg)
        model = self._trainer.model
        discriminator_optimizer = self.build_discriminator_optimizer(cfg, unwrap(model))
        self._trainer = RAEStep(model, self._trainer.data_loader, self._trainer.optimizer,
                                discriminator_optimizer, cfg.RAE.SOLVER.MAX_NONFINITE_STEPS)
        saving_finite_models_only(self.checkpointer, model)
        self._trainer.checkpointer = self.checkpointer
        self.training_state = TrainingState(self._trainer.data_loader.batch_sampler.sampler.seed)
        checkpointables = self.checkpointer.checkpointables
        checkpointables["training_state"] = self.training_state
        self.start_iter = 0
        # before the pseudo-labelling hook, which reads the stage; only RAE has stages (a
        # plain fastreid model never gets a stage argument)
        extra_hooks = [TrainingStageHook(cfg)] if isinstance(unwrap(model), RAE) else []
        self.pseudo_label_hook = None
        if cfg.DATASETS.TARGET:
            self.pseudo_label_hook = PseudoLabelHook(cfg, build_target_images(cfg), self.training_state.run_seed)
            checkpointables["pseudo_labels"] = self.pseudo_label_hook
            checkpointables["pseudo_labeler"] = self.pseudo_label_hook.labeler
            extra_hooks.append(self.pseudo_label_hook)
        if discriminator_optimizer is not None:
            schedulers = build_lr_scheduler(cfg, discriminator_optimizer, self.iters_per_epoch)
            checkpointables["discriminator_optimizer"] = discriminator_optimizer
            for name, scheduler in schedulers.items():
                checkpointables[f"discriminator_{name}"] = scheduler
            extra_hooks.append(hooks.LRScheduler(discriminator_optimizer, schedulers))
        if comm.is_main_process():
            extra_hooks.append(IterationCheckpointer(self.checkpointer, cfg.RAE.CHECKPOINT.ITER_PERIOD))
        self.register_hooks(extra_hooks)
        # checkpoints last in each phase, so they hold the state every other hook has set
        # (e.g. the discriminators' schedule stepped at the epoch's end)
        self._hooks.sort(key=lambda hook: isinstance(hook, (hooks.PeriodicCheckpointer, IterationCheckpointer)))

    def resume_or_load(self, resume=True):
        """fastreid's, plus: continue at the checkpoint's iteration (mid-epoch too), on the
        same streams, with the generators as they were."""
        resuming = resume and self.checkpointer.has_checkpoint()
        # a run's own checkpoint always fits it whole; MODEL.WEIGHTS may be partial on purpose
        self.checkpointer.partial_load = self.cfg.RAE.CHECKPOINT.PARTIAL_LOAD and not resuming
        checkpoint = self.checkpointer.resume_or_load(self.cfg.MODEL.WEIGHTS, resume=resume)
        if not resuming:
            return
        next_iter = checkpoint.get("next_iter", (checkpoint.get("epoch", -1) + 1) * self.iters_per_epoch)
        self.start_iter, self.start_epoch = next_iter, next_iter // self.iters_per_epoch
        seed = self.training_state.run_seed
        self._trainer.data_loader.batch_sampler.sampler.seed = seed
        if self.pseudo_label_hook is not None:
            self.pseudo_label_hook.run_seed = seed
        self._trainer.seek_source(next_iter)
        if self.training_state.loaded is not None:  # last: seeking started a loader
            set_rng_states(self.training_state.loaded["rng"])

    def train(self):
        """``DefaultTrainer.train``, able to start mid-epoch at ``self.start_iter``."""
        logger.info(f"Starting training from iteration {self.start_iter} (epoch {self.start_epoch})")
        self.iter = self.start_iter
        failed = False
        with EventStorage(self.start_iter) as self.storage:
            try:
                self.before_train()
                for self.epoch in range(self.start_epoch, self.max_epoch):
                    self.before_epoch()
                    while self.iter < (self.epoch + 1) * self.iters_per_epoch:
                        self.before_step()
                        self.run_step()
                        self.after_step()
                        self.iter += 1
                    self.after_epoch()
            except Exception:
                failed = True
                logger.exception("Exception during training:")
                raise
            finally:
                try:
                    self.after_train()  # fastreid's EvalHook evaluates here, even after a failure
                except DivergedError:
                    if not failed:  # else the error training stopped with is the one to report
                        raise
        if comm.is_main_process():
            return getattr(self, "_last_eval_results", None)

    @classmethod
    def build_model(cls, cfg):
        """fastreid's; with several processes, DDP is told to leave out the parameters that
        RAEStep synchronises itself (``parameters_outside_ddp``)."""
        model = super().build_model(cfg)
        outside = {id(p) for group in parameters_outside_ddp(model).values() for p in group}
        if comm.get_world_size() > 1 and outside:
            names = [name for name, p in model.named_parameters() if id(p) in outside]
            DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(model, names)
        return model

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
        """Enc at RAE.SOLVER.ENCODER_LR, the rest at SOLVER.BASE_LR (Sec. IV-B), Enc's heads
        at SOLVER.BASE_LR x SOLVER.HEADS_LR_FACTOR, as fastreid scales its heads. No flat
        parameter buffer: the target classifier is re-sized every epoch."""
        if not hasattr(model, "param_groups"):
            return super().build_optimizer(cfg, model)
        groups, base_lr = model.param_groups(), cfg.SOLVER.BASE_LR
        if cfg.SOLVER.HEADS_LR_FACTOR == 1:  # one group per rate: older checkpoints' layout
            rest = [{"params": groups["heads"] + groups["others"], "lr": base_lr}]
        else:
            rest = [{"params": groups["heads"], "lr": base_lr * cfg.SOLVER.HEADS_LR_FACTOR},
                    {"params": groups["others"], "lr": base_lr}]
        encoder = {"params": groups["encoder"], "lr": cfg.RAE.SOLVER.ENCODER_LR}
        return _sgd_or_named(cfg, [encoder, *rest]), None

    @classmethod
    def build_discriminator_optimizer(cls, cfg, model):
        """Dis_f and Dis_p, updated in their own step; None when FT and PT are off."""
        if not hasattr(model, "param_groups") or not model.param_groups()["discriminators"]:
            return None
        return _sgd_or_named(cfg, [{"params": model.param_groups()["discriminators"],
                                    "lr": cfg.RAE.SOLVER.DISCRIMINATOR_LR}])

    @classmethod
    def test(cls, cfg, model):
        average_buffers(model)  # each rank evaluates its share of the test set: one model
        check_model_finite(model, "before the evaluation (no results.json is written)")
        results = super().test(cfg, model)
        # fastreid returns the inner dict when there is one test set
        per_dataset = results if len(cfg.DATASETS.TESTS) > 1 else {cfg.DATASETS.TESTS[0]: results}
        if comm.is_main_process() and cfg.OUTPUT_DIR:
            write_results(cfg.OUTPUT_DIR, per_dataset)
        return results
