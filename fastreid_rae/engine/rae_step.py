"""One iteration of Algorithm 1 (steps 2-4): a generator step on Enc, Dec and the fusion head,
then a discriminator step on Dis_f and Dis_p, with separate optimizers."""
import logging
import math
import time

import torch
import torch.distributed as dist
from fastreid.engine.train_loop import SimpleTrainer
from fastreid.utils import comm
from fastreid.utils.events import get_event_storage

from .divergence import check_model_finite
from .distributed import average_gradients, broadcast_parameters, parameters_outside_ddp, unwrap

logger = logging.getLogger(__name__)


class NonFiniteLossError(FloatingPointError):
    """Too many steps in a row had a NaN or infinite loss."""


class RAEStep(SimpleTrainer):
    """``stage`` ("encoder", "decoder", "adapt") is set by TrainingStageHook and the target
    stream by the pseudo-labelling hook at each epoch start."""

    def __init__(self, model, source_loader, optimizer, discriminator_optimizer=None,
                 max_nonfinite_steps: int = 5):
        super().__init__(model, source_loader, optimizer, param_wrapper=None)
        self.discriminator_optimizer = discriminator_optimizer
        self.max_nonfinite_steps = max_nonfinite_steps
        self.nonfinite_steps = 0  # in a row
        self.last_finite_loss = None
        self.checkpointer = None  # named by a divergence error: the trainer sets it
        self.stage = "adapt"
        self._target_iter = None
        self._target_loss = None
        self._outside_ddp = {"generator": [], "discriminators": []}
        if comm.get_world_size() > 1:
            self._outside_ddp = parameters_outside_ddp(unwrap(model))
            for parameters in self._outside_ddp.values():  # e.g. SEED < 0: each rank drew its own
                broadcast_parameters(parameters)

    def set_target_loader(self, loader, target_loss=None):
        """None: source-only steps (direct transfer, pre-training, an epoch without usable
        clusters). ``target_loss``: a memory backend's loss (see RAE.generator_losses)."""
        self._target_iter = iter(loader) if loader is not None else None
        self._target_loss = target_loss

    def seek_source(self, batches: int) -> None:
        """Continue the source stream after its first ``batches`` batches (resume)."""
        sampler = self.data_loader.batch_sampler.sampler
        sampler.start = batches * sampler.batch_size
        self._data_loader_iter = iter(self.data_loader)

    def _model_kwargs(self) -> dict:
        # only RAE takes these; a plain fastreid model (direct transfer) never gets them
        kwargs = {} if self.stage == "adapt" else {"stage": self.stage}
        if self._target_iter is not None and self._target_loss is not None:
            kwargs["target_loss"] = self._target_loss
        return kwargs

    def run_step(self):
        assert self.model.training, "[RAEStep] model was changed to eval mode!"
        start = time.perf_counter()
        source = next(self._data_loader_iter)
        target = next(self._target_iter) if self._target_iter is not None else None
        data_time = time.perf_counter() - start

        # Eq. (9), (17), (21), already weighted; a plain fastreid model takes one batch
        batches = (source,) if target is None else (source, target)
        losses = self.model(*batches, **self._model_kwargs())
        self.optimizer.zero_grad()
        total = sum(losses.values())
        if not self._finite(total, losses):
            return
        total.backward()
        average_gradients(self._outside_ddp["generator"])
        self._write_metrics(losses, data_time)
        self.optimizer.step()

        if self.discriminator_optimizer is not None:
            discriminator_losses = unwrap(self.model).discriminator_losses()  # Eq. (8), (13)
            if discriminator_losses:
                self.discriminator_optimizer.zero_grad()
                sum(discriminator_losses.values()).backward()
                average_gradients(self._outside_ddp["discriminators"])
                self.discriminator_optimizer.step()
                get_event_storage().put_scalars(**{k: v.item() for k, v in discriminator_losses.items()},
                                                **unwrap(self.model).discriminator_accuracy)

    def _write_metrics(self, loss_dict, data_time: float):
        super()._write_metrics(loss_dict, data_time)
        # fastreid logs a lone loss (Dec's reconstruction in a GAN-free Dec-first stage) as
        # total_loss only; the curves and logs look it up by its own name
        if len(loss_dict) == 1 and comm.is_main_process():
            storage = get_event_storage()
            storage.put_scalar(next(iter(loss_dict)), storage.latest()["total_loss"][0])

    def _finite(self, total, losses) -> bool:
        """Skip a step with a NaN / inf loss (warning); stop after too many in a row."""
        finite = torch.isfinite(total.detach()).float()
        if comm.get_world_size() > 1:  # every rank skips together, or DDP's all-reduce hangs
            dist.all_reduce(finite, op=dist.ReduceOp.MIN)
        if finite.item() == 1.0:
            self.nonfinite_steps = 0
            self.last_finite_loss = total.item()
            return True
        self.nonfinite_steps += 1
        bad = sorted(name for name, value in losses.items() if not math.isfinite(value.item()))
        # weights already NaN: no later step can recover, and skipping would only postpone
        # the failure to the clustering or the evaluation
        check_model_finite(self.model, f"at iteration {self.iter} (loss {bad} not finite; the "
                           f"last finite total loss was {self.last_finite_loss})", self.checkpointer)
        logger.warning(f"iteration {self.iter}: non-finite loss in {bad}; step skipped "
                       f"({self.nonfinite_steps} in a row)")
        if self.nonfinite_steps >= self.max_nonfinite_steps:
            raise NonFiniteLossError(
                f"{self.nonfinite_steps} steps in a row had a non-finite loss (last: {bad}); "
                "stopping (RAE.SOLVER.MAX_NONFINITE_STEPS). The checkpoints already written are "
                "kept; lower the learning rates (SOLVER.BASE_LR, RAE.SOLVER.*) or the GAN weights "
                "(RAE.LOSS.*) and resume or restart")
        return False
