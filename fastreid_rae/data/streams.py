"""Resumable training streams.

A stream is an endless sequence of ``(dataset index, sample seed)`` whose n-th element is a
pure function of ``(seed, n)``: the sampler draws from its own generator (fastreid's samplers
re-seed numpy's global one, which anything else in the process also moves), and
:class:`SeededSamples` seeds each sample's augmentation (flip, crop, erasing) from its
element. A run killed at any step therefore resumes with the very batches and the very
augmentations it would have drawn: the trainer only records how many samples each stream
gave (``start``), and a rebuilt stream skips them without reading an image.

With several processes (DDP), every rank walks the same global stream and takes its own
contiguous share of each global batch, so a share keeps whole identities (P x K) and the
global batch is the same at any number of GPUs.
"""
import random
from typing import Dict, Iterator, List, Sequence, Tuple

import numpy as np
import torch
from fastreid.data.build import fast_batch_collator
from fastreid.data.data_utils import DataLoaderX
from fastreid.utils import comm
from torch.utils.data import BatchSampler, Dataset, Sampler

StreamItem = Tuple[int, int]


def derived_seed(*entropy: int) -> int:
    """A 31-bit seed from several integers (run seed, stream, epoch, position ...)."""
    return int(np.random.SeedSequence([int(e) for e in entropy]).generate_state(1)[0] >> 1)


class StreamSampler(Sampler):
    """Base class: an endless stream; subclasses yield one pass of dataset indices at a time.

    Args:
        seed: the stream's seed; the same seed gives the same stream.
        batch_size: the global batch (all ranks together), a multiple of the world size.
    Attributes:
        start: number of global samples to skip (set before ``iter()`` to resume).
    """

    def __init__(self, seed: int, batch_size: int):
        self.seed = int(seed)
        self.batch_size = int(batch_size)
        self.start = 0
        self._rank, self._world_size = comm.get_rank(), comm.get_world_size()
        if self.batch_size % self._world_size:
            raise ValueError(f"SOLVER.IMS_PER_BATCH {self.batch_size} must be divisible by the "
                             f"number of processes {self._world_size}")

    def _passes(self, rng: np.random.RandomState) -> Iterator[List[int]]:
        """The global batches of one pass over the data."""
        raise NotImplementedError

    def _global_stream(self) -> Iterator[int]:
        rng = np.random.RandomState(self.seed)
        while True:
            for batch in self._passes(rng):
                yield from batch

    def __iter__(self) -> Iterator[StreamItem]:
        share = self.batch_size // self._world_size
        for position, index in enumerate(self._global_stream()):
            if position < self.start or (position % self.batch_size) // share != self._rank:
                continue
            yield index, derived_seed(self.seed, position)


class IdentityStreamSampler(StreamSampler):
    """P x K batches: P distinct identities, K images each (fastreid's NaiveIdentitySampler's
    scheme: within a pass every image of an identity is used once, identities with fewer
    than K images are topped up by resampling, and an identity leaves the pass once fewer
    than K of its images are left). Images with a negative pid (outliers) are never drawn."""

    def __init__(self, pids: Sequence[int], batch_size: int, num_instances: int, seed: int):
        super().__init__(seed, batch_size)
        if batch_size % num_instances:
            raise ValueError(f"SOLVER.IMS_PER_BATCH {batch_size} must be a multiple of "
                             f"DATALOADER.NUM_INSTANCE {num_instances}")
        self.num_instances = num_instances
        self.num_pids_per_batch = batch_size // num_instances
        self.pid_index: Dict[int, List[int]] = {}
        for index, pid in enumerate(pids):
            if pid >= 0:
                self.pid_index.setdefault(int(pid), []).append(index)
        self.pids = sorted(self.pid_index)
        if len(self.pids) < self.num_pids_per_batch:
            raise ValueError(
                f"a batch of {batch_size} images needs {self.num_pids_per_batch} identities of "
                f"{num_instances} images (SOLVER.IMS_PER_BATCH / DATALOADER.NUM_INSTANCE), but "
                f"the training set has only {len(self.pids)} identities")

    def _chunks(self, rng, pid) -> List[List[int]]:
        indices = list(self.pid_index[pid])
        if len(indices) < self.num_instances:
            indices = rng.choice(indices, size=self.num_instances, replace=True).tolist()
        rng.shuffle(indices)
        usable = len(indices) - len(indices) % self.num_instances
        return [indices[i:i + self.num_instances] for i in range(0, usable, self.num_instances)]

    def _passes(self, rng):
        chunks = {pid: self._chunks(rng, pid) for pid in self.pids}
        available = list(self.pids)
        while len(available) >= self.num_pids_per_batch:
            batch = []
            for pid in rng.choice(available, self.num_pids_per_batch, replace=False).tolist():
                batch.extend(chunks[pid].pop())
                if not chunks[pid]:
                    available.remove(pid)
            yield batch


class ShuffledStreamSampler(StreamSampler):
    """Every image once per pass, in a new random order each pass (fastreid's TrainingSampler).
    Images with a negative pid (outliers) are never drawn."""

    def __init__(self, pids: Sequence[int], batch_size: int, seed: int):
        super().__init__(seed, batch_size)
        self.indices = np.flatnonzero(np.asarray(pids) >= 0)
        if len(self.indices) < batch_size:
            raise ValueError(f"a batch of {batch_size} images (SOLVER.IMS_PER_BATCH) needs at "
                             f"least as many training images, got {len(self.indices)}")

    def _passes(self, rng):
        order = self.indices[rng.permutation(len(self.indices))].tolist()
        usable = len(order) - len(order) % self.batch_size
        for start in range(0, usable, self.batch_size):
            yield order[start:start + self.batch_size]


class SeededSamples(Dataset):
    """Reads ``dataset[index]`` for a stream item ``(index, seed)`` with the random number
    generators seeded from ``seed``, and adds the dataset index as ``"indices"`` (the memory
    backends address their memory with it). The caller's generator states are restored, so
    in a loader without workers the model's dropout does not depend on the data."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getattr__(self, name):  # num_classes, pids, img_items ... of the wrapped dataset
        if name == "dataset":
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __getitem__(self, item: StreamItem) -> dict:
        index, seed = item
        python_state, numpy_state = random.getstate(), np.random.get_state()
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                random.seed(seed)
                np.random.seed(seed)
                sample = self.dataset[index]
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)
        return {**sample, "indices": index}


def identity_stream(cfg, pids: Sequence[int], seed: int) -> IdentityStreamSampler:
    return IdentityStreamSampler(pids, cfg.SOLVER.IMS_PER_BATCH, cfg.DATALOADER.NUM_INSTANCE, seed)


def shuffled_stream(cfg, pids: Sequence[int], seed: int) -> ShuffledStreamSampler:
    return ShuffledStreamSampler(pids, cfg.SOLVER.IMS_PER_BATCH, seed)


# DATALOADER.SAMPLER_TRAIN -> stream; fastreid's names, so its configs keep their meaning
STREAMS = {"NaiveIdentitySampler": identity_stream, "TrainingSampler": shuffled_stream}


def build_stream(cfg, pids: Sequence[int], seed: int, name: str = "") -> StreamSampler:
    name = name or cfg.DATALOADER.SAMPLER_TRAIN
    if name not in STREAMS:
        raise ValueError(f"DATALOADER.SAMPLER_TRAIN {name!r} has no resumable stream; expected "
                         f"one of {sorted(STREAMS)}")
    return STREAMS[name](cfg, pids, seed)


def build_stream_loader(cfg, dataset, sampler: StreamSampler):
    """fastreid's train loader (``build_reid_train_loader``: its loader class, batching and
    collation) over a stream. The loader has a generator of its own: starting it must not
    draw from torch's global one, or a resumed run's dropout would differ."""
    batch_sampler = BatchSampler(sampler, cfg.SOLVER.IMS_PER_BATCH // comm.get_world_size(), True)
    return DataLoaderX(comm.get_local_rank(), dataset=SeededSamples(dataset),
                       num_workers=cfg.DATALOADER.NUM_WORKERS, batch_sampler=batch_sampler,
                       collate_fn=fast_batch_collator, pin_memory=True,
                       generator=torch.Generator().manual_seed(sampler.seed))
