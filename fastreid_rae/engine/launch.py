"""Multi-process training: fastreid's launcher on GPUs, gloo processes on CPU.

fastreid's ``launch`` (``fastreid/engine/launch.py``) asserts CUDA and uses NCCL, so there is
no way to run (or test) the distributed path without GPUs, and its process group keeps
torch's default timeout (30 min with gloo): a collective waiting on a rank that will never
come blocks that long. On CPU this launcher spawns the processes itself, with the gloo
backend and a finite timeout, and a failed rank ends the whole job with an error naming it.
"""
import os
import pickle
import shutil
import tempfile
from datetime import timedelta

import torch.distributed as dist
import torch.multiprocessing as mp
from fastreid.engine.launch import _find_free_port, launch as fastreid_launch
from fastreid.utils import comm
from torch.multiprocessing.spawn import (ProcessException, ProcessExitedException,
                                         ProcessRaisedException)

# The other ranks wait in a collective while rank 0 alone clusters the target or ranks the
# test set: the timeout must be longer than those (torch's gloo default, 30 min).
DEFAULT_TIMEOUT_S = 1800


class RankFailedError(RuntimeError):
    """A process of a multi-process job failed; the others were stopped."""


def launch(main_func, num_processes, num_machines=1, machine_rank=0, dist_url=None, args=(),
           device="cuda", timeout_s=DEFAULT_TIMEOUT_S):
    """``main_func(*args)`` in ``num_processes`` processes per machine.

    ``device`` "cuda": fastreid's launcher, unchanged (NCCL, one GPU per process). "cpu":
    gloo processes on this machine; a collective that waits longer than ``timeout_s`` raises
    on its rank. When a rank raises, the others are terminated and its exception is raised
    here, with a note naming the rank (a ``RankFailedError`` when it cannot be pickled, or
    when the rank died without one)."""
    if not str(device).startswith("cpu"):
        return fastreid_launch(main_func, num_processes, num_machines=num_machines,
                               machine_rank=machine_rank, dist_url=dist_url, args=args)
    if num_machines != 1:
        raise ValueError(f"CPU training runs its {num_processes} processes on one machine; got "
                         f"--num-machines {num_machines} (use GPUs and NCCL across machines)")
    if num_processes == 1:
        return main_func(*args)
    if not dist_url or dist_url == "auto":
        dist_url = f"tcp://127.0.0.1:{_find_free_port()}"
    error_dir = tempfile.mkdtemp(prefix="rae_launch_")
    try:
        mp.spawn(_cpu_worker, nprocs=num_processes, daemon=False,
                 args=(main_func, num_processes, dist_url, timeout_s, error_dir, args))
    except ProcessException as failure:  # mp.spawn has already stopped the other ranks
        raise _rank_error(failure, num_processes, error_dir, timeout_s) from None
    finally:
        shutil.rmtree(error_dir, ignore_errors=True)


def _cpu_worker(rank, main_func, world_size, dist_url, timeout_s, error_dir, args):
    dist.init_process_group("gloo", init_method=dist_url, world_size=world_size, rank=rank,
                            timeout=timedelta(seconds=timeout_s))
    comm.synchronize()  # as fastreid's worker: all ranks are up before any work
    # fastreid's comm.get_local_rank / get_local_size read this group (one machine: all ranks)
    comm._LOCAL_PROCESS_GROUP = dist.new_group(list(range(world_size)))
    try:
        main_func(*args)
    except BaseException as error:
        _keep_error(error, os.path.join(error_dir, f"rank{rank}.pickle"))
        raise
    dist.destroy_process_group()


def _keep_error(error, path):
    """The exception itself for the parent (mp.spawn only passes its traceback text), so a
    ConfigError on rank 0 still reaches the command line as a ConfigError."""
    try:
        data = pickle.dumps(error)
        pickle.loads(data)  # some exceptions pickle but cannot be rebuilt
    except Exception:
        return
    with open(path, "wb") as f:
        f.write(data)


def _rank_error(failure, world_size, error_dir, timeout_s):
    rank = failure.error_index
    where = f"rank {rank} of {world_size} failed; the other ranks were stopped"
    if "timed out" in str(failure.msg).lower():  # gloo names neither the collective nor the peer
        where += (f". A collective waited longer than the {timeout_s:g} s timeout: another rank "
                  "stopped communicating (stuck, or much slower than this one)")
    path = os.path.join(error_dir, f"rank{rank}.pickle")
    if isinstance(failure, ProcessRaisedException) and os.path.exists(path):
        with open(path, "rb") as f:
            error = pickle.load(f)
        error.add_note(f"{where}. Its traceback:\n{failure.msg}")
        return error
    if isinstance(failure, ProcessExitedException):
        return RankFailedError(f"{where}: it exited with code {failure.exit_code}"
                               + (f" (signal {failure.signal_name})" if failure.signal_name else ""))
    return RankFailedError(f"{where}:\n{failure.msg}")
