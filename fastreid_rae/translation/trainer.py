"""Trains the PT-hat translator: the iteration loop, CycleGAN's learning-rate schedule, and
checkpoints that resume (tools/train_translator.py only wires this up)."""
import datetime
import logging
import time
from pathlib import Path
from typing import Dict, Optional

import torch
from tqdm import tqdm

from ..checkpoint_files import CheckpointLoadError
from .checkpoint import CHECKPOINT_NAME, config_differences, load_checkpoint, save_checkpoint
from .data import build_unpaired_streams
from .step import CycleGANStep
from .translator import build_translator

logger = logging.getLogger(__name__)


def linear_decay(max_iter: int, decay_start: int):
    """CycleGAN's schedule: lr constant, then linearly to ~0 from ``decay_start`` to
    ``max_iter`` (its 100 + 100 epochs), as a LambdaLR factor of the iteration."""
    def factor(iteration: int) -> float:
        return 1.0 - max(0, iteration - decay_start) / float(max_iter - decay_start + 1)
    return factor


def _loss_summary(losses: Dict[str, float]) -> Dict[str, str]:
    """Per-kind sums for the progress bar (eight losses do not fit on a line)."""
    kinds = {"gan": "loss_gan_", "cycle": "loss_cycle_", "identity": "loss_identity_", "dis": "loss_dis_"}
    return {kind: f"{sum(v for k, v in losses.items() if k.startswith(prefix)):.3f}"
            for kind, prefix in kinds.items() if any(k.startswith(prefix) for k in losses)}


class TranslatorTrainer:
    """``TranslatorTrainer(cfg, output_dir).train()`` runs RAE.TRANSLATOR.MAX_ITER iterations
    and leaves ``output_dir/translator.pth``; ``resume()`` continues from it."""

    def __init__(self, cfg, output_dir):
        keys = cfg.RAE.TRANSLATOR
        self.cfg = cfg
        self.device = torch.device(cfg.MODEL.DEVICE)
        self.checkpoint_path = Path(output_dir) / CHECKPOINT_NAME
        self.translator = build_translator(cfg).to(self.device)
        # before the first batch: a size the generator cannot map back failed at iteration 1
        self.translator.generator_s2t.check_size(*cfg.INPUT.SIZE_TRAIN)
        self.step = CycleGANStep.from_config(cfg, self.translator)
        self.max_iter = keys.MAX_ITER
        self.checkpoint_period = keys.CHECKPOINT_PERIOD
        decay_start = int(keys.MAX_ITER * (1.0 - keys.DECAY_FRACTION))
        self.schedulers = {name: torch.optim.lr_scheduler.LambdaLR(optimizer, linear_decay(keys.MAX_ITER, decay_start))
                           for name, optimizer in self.step.optimizers().items()}
        self.iteration = 0
        self._streams = None

    def batches(self):
        """The next (source, target) batch, on the device; the streams open on first use, past
        the batches of the iterations already run (one per iteration and domain)."""
        if self._streams is None:
            drawn = self.iteration * self.cfg.RAE.TRANSLATOR.IMS_PER_BATCH
            self._streams = build_unpaired_streams(self.cfg, start=drawn)
        source, target = (next(stream) for stream in self._streams)
        return source.to(self.device), target.to(self.device)

    def train(self, progress: bool = True) -> Optional[Dict[str, float]]:
        """Iterations ``self.iteration`` .. MAX_ITER; checkpoints every CHECKPOINT_PERIOD and
        at the end. Returns the last iteration's losses (None if nothing was left to run)."""
        self.translator.train()
        losses = None
        started, first_iteration = time.perf_counter(), self.iteration
        bar = tqdm(total=self.max_iter, initial=self.iteration, desc="translator", disable=not progress,
                   dynamic_ncols=True)
        with bar:
            while self.iteration < self.max_iter:
                losses = self.step.run_step(*self.batches())
                for scheduler in self.schedulers.values():
                    scheduler.step()
                self.iteration += 1
                bar.update(1)
                bar.set_postfix(_loss_summary(losses), refresh=False)
                periodic = self.checkpoint_period and self.iteration % self.checkpoint_period == 0
                if periodic or self.iteration == self.max_iter:
                    self.save()
                    # log.txt's only sign of progress under --no-progress (a batch job)
                    self._log(losses, started, first_iteration)
        if losses is None:  # nothing was left to run
            self.save()
        return losses

    def _log(self, losses: Dict[str, float], started: float, first_iteration: int):
        per_iteration = (time.perf_counter() - started) / max(self.iteration - first_iteration, 1)
        eta = datetime.timedelta(seconds=round(per_iteration * (self.max_iter - self.iteration)))
        logger.info("translator iteration %d/%d (eta %s): %s", self.iteration, self.max_iter, eta,
                    ", ".join(f"{name} {value:.4f}" for name, value in losses.items()))

    def state_dict(self) -> dict:
        return {
            "model": self.translator.state_dict(),
            **{name: optimizer.state_dict() for name, optimizer in self.step.optimizers().items()},
            "schedulers": {name: scheduler.state_dict() for name, scheduler in self.schedulers.items()},
            "pools": {name: pool.state_dict() for name, pool in self.step.pools().items()},
            "iteration": self.iteration,
            "translator_config": self.cfg.RAE.TRANSLATOR.dump(),
            "input_size": list(self.cfg.INPUT.SIZE_TRAIN),
        }

    def save(self) -> Path:
        save_checkpoint(self.checkpoint_path, self.state_dict())
        return self.checkpoint_path

    def resume(self, path=None) -> int:
        """Loads weights, optimizers, schedules, image pools and iteration; returns the
        iteration. The data streams continue where they were: the run goes on exactly."""
        path = path or self.checkpoint_path
        payload = load_checkpoint(str(path), "the translator checkpoint to resume from")
        try:
            self._load_state(payload, path)
        except (KeyError, RuntimeError, ValueError, TypeError) as error:
            # torch's own message lists every tensor over many lines; the keys say why
            why = config_differences(payload, self.cfg.RAE.TRANSLATOR) or str(error).strip().splitlines()[0]
            raise CheckpointLoadError(f"translator checkpoint '{path}' does not fit the translator built "
                                      f"from the config ({why}); expected one written by "
                                      f"tools/train_translator.py with this config") from None
        self._streams = None
        logger.info("resumed the translator from %s at iteration %d", path, self.iteration)
        return self.iteration

    def _load_state(self, payload: dict, path) -> None:
        self.translator.load_state_dict(payload["model"])
        for name, optimizer in self.step.optimizers().items():
            optimizer.load_state_dict(payload[name])
        for name, scheduler in self.schedulers.items():
            scheduler.load_state_dict(payload["schedulers"][name])
        if "pools" in payload:
            for name, pool in self.step.pools().items():
                pool.load_state_dict(payload["pools"][name])
        else:
            logger.warning("%s holds no image pools (written by an older version): the discriminators "
                           "restart from an empty history", path)
        self.iteration = int(payload["iteration"])
