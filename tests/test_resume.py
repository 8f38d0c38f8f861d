"""Resumable training: streams whose n-th sample is fixed by (seed, n), and a run stopped at
any iteration that resumes with the very losses an uninterrupted run has."""
import random

import numpy as np
import pytest
import torch
from fastreid.engine.train_loop import HookBase

import fastreid_rae  # noqa: F401
from fastreid_rae.data.streams import IdentityStreamSampler, SeededSamples, ShuffledStreamSampler
from fastreid_rae.engine import UDATrainer
from fastreid_rae.evaluation import read_final_metrics

from .test_uda_training import RAE_OFF, _cfg


def _take(sampler, count):
    items = []
    for item in sampler:
        items.append(item)
        if len(items) == count:
            return items


# ---- streams ---------------------------------------------------------------------------

PIDS = [pid for pid in range(10) for _ in range(3 + pid % 4)]


def test_identity_stream_gives_p_by_k_batches_of_distinct_identities():
    sampler = IdentityStreamSampler(PIDS, batch_size=16, num_instances=4, seed=3)
    for start in range(0, 16 * 20, 16):
        batch = [index for index, _ in _take(sampler, 16 * 20)[start:start + 16]]
        pids = [PIDS[i] for i in batch]
        assert len(set(pids)) == 4 and all(pids.count(p) == 4 for p in set(pids))


def test_a_stream_is_fixed_by_its_seed_and_skips_exactly():
    full = _take(IdentityStreamSampler(PIDS, 16, 4, seed=3), 200)
    assert full == _take(IdentityStreamSampler(PIDS, 16, 4, seed=3), 200)
    assert full != _take(IdentityStreamSampler(PIDS, 16, 4, seed=4), 200)
    resumed = IdentityStreamSampler(PIDS, 16, 4, seed=3)
    resumed.start = 48
    assert _take(resumed, 152) == full[48:]


def test_outliers_are_never_drawn():
    labels = np.array([-1, 0, 0, 1, 1, -1, 2, 2, 3, 3, -1, 0])
    for sampler in (IdentityStreamSampler(labels, 8, 2, seed=0), ShuffledStreamSampler(labels, 4, seed=0)):
        drawn = {index for index, _ in _take(sampler, 400)}
        assert drawn == set(np.flatnonzero(labels >= 0))


def test_ranks_take_contiguous_shares_of_each_global_batch():
    full = _take(IdentityStreamSampler(PIDS, 16, 4, seed=5), 64)
    shares = []
    for rank in range(2):
        sampler = IdentityStreamSampler(PIDS, 16, 4, seed=5)
        sampler._rank, sampler._world_size = rank, 2
        shares.append(_take(sampler, 32))
    for batch in range(4):  # rank 0 the first 8 of each global batch of 16, rank 1 the rest
        assert shares[0][8 * batch:8 * batch + 8] == full[16 * batch:16 * batch + 8]
        assert shares[1][8 * batch:8 * batch + 8] == full[16 * batch + 8:16 * batch + 16]


def test_too_few_identities_for_a_batch_is_a_clear_error():
    with pytest.raises(ValueError, match="needs 4 identities .* only 3 identities"):
        IdentityStreamSampler([0, 0, 1, 1, 2, 2], batch_size=16, num_instances=4, seed=0)


class _RandomSample(torch.utils.data.Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, index):
        return {"images": torch.rand(3) + index, "extra": random.random() + np.random.rand()}


def test_seeded_samples_are_a_function_of_their_seed_and_leave_the_caller_rng_alone():
    dataset = SeededSamples(_RandomSample())
    torch.manual_seed(0)
    random.seed(0)
    np.random.seed(0)
    expected = (torch.rand(1), random.random(), np.random.rand())
    torch.manual_seed(0)
    random.seed(0)
    np.random.seed(0)
    first, again, other = dataset[(2, 7)], dataset[(2, 7)], dataset[(2, 8)]
    assert torch.equal(first["images"], again["images"]) and first["extra"] == again["extra"]
    assert not torch.equal(first["images"], other["images"])
    assert first["indices"] == 2
    assert (torch.rand(1), random.random(), np.random.rand()) == expected


# ---- training ----------------------------------------------------------------------------

ITERATIONS_PER_EPOCH = 3


class _LossRecorder(HookBase):
    def __init__(self):
        self.losses = {}

    def after_step(self):
        latest = self.trainer.storage.latest()
        self.losses[self.trainer.iter] = {k: v for k, (v, _) in latest.items() if k.startswith("loss")}


class _Crash(HookBase):
    def __init__(self, at_iter):
        self.at_iter = at_iter

    def before_step(self):
        if self.trainer.iter == self.at_iter:
            raise KeyboardInterrupt(f"simulated kill before iteration {self.at_iter}")


def _run(cfg, resume=False, crash_at=None):
    trainer = UDATrainer(cfg)
    trainer.iters_per_epoch = ITERATIONS_PER_EPOCH
    trainer.max_iter = trainer.max_epoch * ITERATIONS_PER_EPOCH
    recorder = _LossRecorder()
    trainer.register_hooks([recorder] + ([_Crash(crash_at)] if crash_at is not None else []))
    trainer.resume_or_load(resume=resume)
    try:
        trainer.train()
    except KeyboardInterrupt:
        pass
    return trainer, recorder.losses


RESUME_CASES = {
    # full RAE: epoch 0 trains Enc, epoch 1 Dec, then adaptation on k-means clusters
    "rae-kmeans": ["RAE.PSEUDO_LABEL.NAME", "kmeans", "RAE.SOURCE_PRETRAIN.EPOCHS", 2,
                   "RAE.SOURCE_PRETRAIN.DECODER_EPOCHS", 1],
    # a memory backend: its memory is part of the state
    "mmcl": ["RAE.PSEUDO_LABEL.NAME", "mmcl", *RAE_OFF],
}


@pytest.mark.parametrize("case", sorted(RESUME_CASES))
def test_resume_mid_epoch_continues_with_identical_losses(tiny_world, tmp_path, case):
    overrides = ["SEED", 7, "SOLVER.MAX_EPOCH", 3, "SOLVER.CHECKPOINT_PERIOD", 1,
                 "RAE.CHECKPOINT.ITER_PERIOD", 2, "TEST.EVAL_PERIOD", 3, *RESUME_CASES[case]]
    _, uninterrupted = _run(_cfg(tiny_world, tmp_path / "once", *overrides))

    # killed before iteration 8 (mid epoch 2): the last checkpoint is model_resume at 8
    interrupted_dir = tmp_path / "twice"
    _, before = _run(_cfg(tiny_world, interrupted_dir, *overrides), crash_at=8)
    assert max(before) == 7 and (interrupted_dir / "last_checkpoint").read_text() == "model_resume.pth"
    trainer, after = _run(_cfg(tiny_world, interrupted_dir, *overrides), resume=True)
    assert trainer.start_iter == 8 and sorted(after) == [8]

    assert sorted(uninterrupted) == list(range(9))
    assert after[8] == uninterrupted[8]
    adapted = {"mmcl": "loss_memory_target", "rae-kmeans": "loss_feat_gan"}[case]
    assert adapted in uninterrupted[8]
    assert read_final_metrics(interrupted_dir) == read_final_metrics(tmp_path / "once")


def test_resume_at_an_epoch_boundary_clusters_again_identically(tiny_world, tmp_path):
    overrides = ["SEED", 3, "SOLVER.MAX_EPOCH", 3, "SOLVER.CHECKPOINT_PERIOD", 1,
                 "RAE.CHECKPOINT.ITER_PERIOD", 0, "TEST.EVAL_PERIOD", 3,
                 "RAE.PSEUDO_LABEL.NAME", "kmeans", *RAE_OFF]
    _, uninterrupted = _run(_cfg(tiny_world, tmp_path / "once", *overrides))
    _, _ = _run(_cfg(tiny_world, tmp_path / "twice", *overrides), crash_at=7)  # epoch 2's 2nd step
    trainer, after = _run(_cfg(tiny_world, tmp_path / "twice", *overrides), resume=True)
    assert trainer.start_iter == 6  # from model_0001.pth: epoch 2 again from its start
    for iteration in range(6, 9):
        assert after[iteration] == uninterrupted[iteration], f"iteration {iteration}"
