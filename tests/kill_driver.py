"""A tiny CPU training run that SIGKILLs itself at a chosen instant, for tests/test_crash_safety.py.

    python -m tests.kill_driver WORLD OUTPUT_DIR [--kill-at EVENT:N] [--resume]

EVENT:N kills the process at the N-th (1-based) event of this process: ``assign`` (inside
the backend's clustering), ``step`` (mid-iteration, after the forward pass, before the
update), ``save`` (halfway through writing a checkpoint's bytes). The process dies as a
crash or the OOM killer would kill it: no exception, no clean-up.
"""
import argparse
import io
import os
import signal

import fastreid_rae  # noqa: F401
import torch

from fastreid_rae.engine import UDATrainer, rae_step
from fastreid_rae.pseudo_labels.kmeans import KMeansPseudoLabeler

from .test_uda_training import _cfg

ITERATIONS_PER_EPOCH = 3
OVERRIDES = ["SEED", 11, "SOLVER.MAX_EPOCH", 4, "SOLVER.CHECKPOINT_PERIOD", 1,
             "RAE.CHECKPOINT.ITER_PERIOD", 2, "TEST.EVAL_PERIOD", 4,
             "RAE.PSEUDO_LABEL.NAME", "kmeans", "RAE.SOURCE_PRETRAIN.EPOCHS", 1]


def _kill():
    os.kill(os.getpid(), signal.SIGKILL)


def _on_nth_call(owner, name, n, before_return=None):
    """Kill at the n-th call of ``owner.name``; ``before_return(result, *args)`` runs the
    call's work partly first."""
    original = getattr(owner, name)
    calls = [0]

    def wrapper(*args, **kwargs):
        calls[0] += 1
        if calls[0] == n:
            if before_return is not None:
                before_return(original, *args, **kwargs)
            _kill()
        return original(*args, **kwargs)

    setattr(owner, name, wrapper)


def _run_forward_then(original, step):
    # mid-iteration: the forward pass ran, the parameters are not updated yet
    step.model(next(step._data_loader_iter))


def _write_half(original, data, f, *args, **kwargs):
    buffer = io.BytesIO()
    original(data, buffer)
    f.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    f.flush()


def arm(kill_at: str) -> None:
    event, n = kill_at.split(":")
    n = int(n)
    if event == "assign":
        _on_nth_call(KMeansPseudoLabeler, "_assign", n)
    elif event == "step":
        _on_nth_call(rae_step.RAEStep, "run_step", n, _run_forward_then)
    elif event == "save":
        _on_nth_call(torch, "save", n, _write_half)
    else:
        raise SystemExit(f"unknown kill event {event!r}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("world")
    parser.add_argument("output_dir")
    parser.add_argument("--kill-at", default="")
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args()
    if args.kill_at:
        arm(args.kill_at)
    trainer = UDATrainer(_cfg(args.world, args.output_dir, *OVERRIDES))
    trainer.iters_per_epoch = ITERATIONS_PER_EPOCH
    trainer.max_iter = trainer.max_epoch * ITERATIONS_PER_EPOCH
    trainer.resume_or_load(resume=args.resume)
    trainer.train()


if __name__ == "__main__":
    main()
