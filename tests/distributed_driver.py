"""A tiny RAE training run in N gloo CPU processes, for tests/test_distributed.py.

    python -m tests.distributed_driver WORLD OUTPUT_DIR --processes N [--timeout S] [--seed S]
        [--nan-step N]

Each rank writes ``OUTPUT_DIR/rank{R}.json``: the dataset indices of its source batches,
its final pseudo-labels, a fingerprint of its parameters and fastreid's shared random
seed, so the test can compare the ranks with each other and with a 1-process run.

``RAE_TEST_FAIL=raise:R`` makes rank R raise at its first training step; ``hang:R`` makes
it stop there without raising (the others then wait in a collective until the timeout).
``--nan-step N`` makes the N-th (1-based) generator loss NaN on every rank: the step is
skipped together, as a real NaN is (rae_step.RAEStep._finite). Test-only: the production
code has none of these switches.
"""
import argparse
import json
import os
import time

import fastreid_rae  # noqa: F401
import torch
from fastreid.utils import comm

from fastreid_rae.engine import UDATrainer, rae_step
from fastreid_rae.engine.launch import launch
from fastreid_rae.modeling.meta_arch.rae import RAE

from .test_uda_training import _cfg

ITERATIONS_PER_EPOCH = 3
SEED = 5
OVERRIDES = ["RAE.PSEUDO_LABEL.NAME", "kmeans", "SOLVER.CHECKPOINT_PERIOD", 2,
             "TEST.EVAL_PERIOD", 2]


class InjectedFailure(RuntimeError):
    pass


def _arm_failure(rank: int) -> None:
    mode, _, failing_rank = os.environ.get("RAE_TEST_FAIL", "").partition(":")
    if not mode or int(failing_rank) != rank:
        return

    def fail(self):
        if mode == "hang":  # alive but gone: only the collectives' timeout ends the job
            time.sleep(3600)
        raise InjectedFailure(f"injected failure on rank {rank}")

    rae_step.RAEStep.run_step = fail


def _poison_loss(step: int) -> None:
    original, calls = RAE.generator_losses, [0]

    def generator_losses(self, *args, **kwargs):
        losses = original(self, *args, **kwargs)
        calls[0] += 1
        if calls[0] == step:
            name = next(iter(losses))
            losses[name] = losses[name] * float("nan")
        return losses

    RAE.generator_losses = generator_losses


class RecordingIterator:
    """Passes batches through, keeping each one's dataset indices."""

    def __init__(self, iterator, log):
        self.iterator, self.log = iterator, log

    def __next__(self):
        batch = next(self.iterator)
        self.log.append([int(i) for i in batch["indices"]])
        return batch


def _model_fingerprint(model) -> dict:
    # BN statistics included: they are averaged over the ranks before each evaluation
    return {name: [t.double().sum().item(), t.double().abs().sum().item()]
            for name, t in rae_step.unwrap(model).state_dict().items()}


def train(world: str, output_dir: str, seed: int, nan_step: int) -> None:
    torch.set_num_threads(1)  # 2 ranks on a shared 2-core machine
    rank = comm.get_rank()
    _arm_failure(rank)
    if nan_step:
        _poison_loss(nan_step)
    trainer = UDATrainer(_cfg(world, output_dir, *OVERRIDES, "SEED", seed))
    trainer.iters_per_epoch = ITERATIONS_PER_EPOCH
    trainer.max_iter = trainer.max_epoch * ITERATIONS_PER_EPOCH
    trainer.resume_or_load(resume=False)
    batches = []
    step = trainer._trainer
    step._data_loader_iter = RecordingIterator(step._data_loader_iter, batches)
    trainer.train()
    hook = trainer.pseudo_label_hook
    record = {"batches": batches, "labels": hook.labels.tolist(), "labels_epoch": hook.labels_epoch,
              "shared_seed": int(comm.shared_random_seed()),
              "model": _model_fingerprint(trainer.model)}
    with open(os.path.join(output_dir, f"rank{rank}.json"), "w") as f:
        json.dump(record, f)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("world")
    parser.add_argument("output_dir")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--nan-step", type=int, default=0)
    args = parser.parse_args()
    launch(train, args.processes, dist_url="auto", device="cpu", timeout_s=args.timeout,
           args=(args.world, args.output_dir, args.seed, args.nan_step))


if __name__ == "__main__":
    main()
