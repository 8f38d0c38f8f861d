"""Memory backends (mmcl, memory_contrast): losses, memory updates, checkpoint round trips."""
import numpy as np
import pytest
import torch
from torch import nn

from fastreid_rae.pseudo_labels import (
    DBSCANPseudoLabeler,
    MemoryContrastPseudoLabeler,
    MMCLPseudoLabeler,
)
from fastreid_rae.pseudo_labels.memory import MemoryProduct, momentum_update_
from fastreid_rae.pseudo_labels.mmcl import mmcl_loss


def toy_target_set(num_ids=6, per_id=12, in_dim=16, noise=0.3, seed=0):
    """Inputs of a few identities; a linear 'encoder' maps them to features."""
    generator = torch.Generator().manual_seed(seed)
    centres = torch.randn(num_ids, in_dim, generator=generator) * 2.0
    identity = torch.arange(num_ids).repeat_interleave(per_id)
    inputs = centres[identity] + noise * torch.randn(len(identity), in_dim, generator=generator)
    torch.manual_seed(seed)
    encoder = nn.Linear(in_dim, 8)
    return inputs, identity, encoder


def train_a_few_steps(labeler, inputs, encoder, steps=15, lr=0.1):
    """Full-batch SGD on the backend's loss; returns the loss of every step."""
    optimizer = torch.optim.SGD(encoder.parameters(), lr=lr)
    indices = torch.arange(len(inputs))
    losses = []
    for _ in range(steps):
        loss = labeler.loss(encoder(inputs), indices)
        assert loss.requires_grad and torch.isfinite(loss)
        optimizer.zero_grad()
        loss.backward()
        grads = [p.grad for p in encoder.parameters()]
        assert all(torch.isfinite(g).all() for g in grads) and any(g.abs().sum() > 0 for g in grads)
        optimizer.step()
        losses.append(loss.item())
    return losses


# ---- the shared memory machinery ----------------------------------------------------------
def test_memory_product_gradient_uses_the_memory_before_its_update():
    memory = torch.nn.functional.normalize(torch.randn(5, 3), dim=1)
    before = memory.clone()
    inputs = torch.randn(2, 3, requires_grad=True)
    rows = torch.tensor([1, 3])
    def update(batch):
        momentum_update_(memory, rows, batch, 0.25)

    logits = MemoryProduct.apply(inputs, memory, update)
    torch.testing.assert_close(logits, inputs.detach() @ before.t())
    grad_logits = torch.randn(2, 5)
    logits.backward(grad_logits)
    torch.testing.assert_close(inputs.grad, grad_logits @ before)
    # M[r] <- normalise(0.25 M[r] + 0.75 f), by hand
    expected = 0.25 * before[1] + 0.75 * inputs.detach()[0]
    torch.testing.assert_close(memory[1], expected / expected.norm())
    torch.testing.assert_close(memory[0], before[0])  # rows not in the batch stay


def test_momentum_update_applies_repeated_rows_in_order():
    memory = torch.tensor([[1.0, 0.0]])
    momentum_update_(memory, torch.tensor([0, 0]), torch.tensor([[0.0, 1.0], [0.0, 1.0]]), 0.5)
    first = torch.tensor([0.5, 0.5]) / torch.tensor([0.5, 0.5]).norm()
    second = 0.5 * first + 0.5 * torch.tensor([0.0, 1.0])
    torch.testing.assert_close(memory[0], second / second.norm())


# ---- mmcl ---------------------------------------------------------------------------------
def test_mmcl_loss_by_hand():
    # one image, 4 memory slots; positives {0}, negatives {1, 2, 3}; r = 0.5 -> 1 hardest (0.4)
    logits = torch.tensor([[0.8, 0.4, -0.2, 0.1]])
    positive = torch.tensor([[True, False, False, False]])
    loss = mmcl_loss(logits, positive, delta=5.0, hard_negative_ratio=0.5)
    assert loss.item() == pytest.approx(5.0 * 0.2**2 + 1.4**2)


def grouped_memory(groups=3, per_group=12, dim=16, spread=0.15, seed=0):
    generator = torch.Generator().manual_seed(seed)
    centres = torch.nn.functional.normalize(torch.randn(groups, dim, generator=generator), dim=1)
    group = torch.arange(groups).repeat_interleave(per_group)
    memory = centres[group] + spread * torch.randn(len(group), dim, generator=generator) / dim**0.5
    return torch.nn.functional.normalize(memory, dim=1), group


def test_mplp_predicts_the_cycle_consistent_neighbours():
    memory, group = grouped_memory()
    labeler = MMCLPseudoLabeler(threshold=0.6, min_candidates=10)
    labeler.memory = memory
    rows = torch.tensor([0, 13, 30])
    positive = labeler.positive_labels(rows)
    for row, labels in zip(rows, positive):
        torch.testing.assert_close(labels, group == group[row])
    # a threshold no pair reaches leaves each image its own only positive
    labeler.threshold = 0.9999
    positive = labeler.positive_labels(rows)
    assert positive.sum().item() == 3 and positive[torch.arange(3), rows].all()


def test_mmcl_scores_the_multi_labels_its_loss_trains_on():
    memory, group = grouped_memory()
    identities = group.numpy()
    labeler = MMCLPseudoLabeler(threshold=0.6, min_candidates=10, warmup_epochs=1)
    labeler.assign(memory)  # epoch 0, warm-up: every image its own only positive
    assert labeler.positive_pair_quality(identities) == {"precision": 1.0, "recall": 0.0}
    labeler.assign(memory)  # epoch 1: MPLP's positives, which here are the groups
    assert labeler.positive_pair_quality(identities) == {"precision": 1.0, "recall": 1.0}
    strangers = np.random.default_rng(0).permutation(identities)
    assert labeler.positive_pair_quality(strangers)["precision"] < 0.5


def test_mplp_drops_a_candidate_that_does_not_rank_the_image_back():
    """q's candidates above t = 0.6: q, its four look-alikes Q (cos 0.96) and c (cos 0.65).
    c sits in a crowd H of 20 (cos 0.9 to c, 0.585 to q): from c's side q ranks 21st, far
    outside K = 6, so cycle consistency removes c although it passes the threshold."""
    basis = torch.eye(32)
    q = basis[0]
    look_alikes = [torch.nn.functional.normalize(q + 0.3 * basis[1 + j], dim=0) for j in range(4)]
    c = 0.65 * basis[0] + (1 - 0.65**2) ** 0.5 * basis[5]
    crowd = [0.9 * c + 0.19**0.5 * basis[6 + k] for k in range(20)]
    memory = torch.stack([q, *look_alikes, c, *crowd])
    labeler = MMCLPseudoLabeler(threshold=0.6, min_candidates=3)
    labeler.memory = memory
    similarity = memory[0] @ memory.t()
    assert similarity[5] > 0.6 and (similarity[6:] < 0.6).all()
    positive = labeler.positive_labels(torch.tensor([0]))[0]
    assert positive.nonzero().reshape(-1).tolist() == [0, 1, 2, 3, 4]


def test_mmcl_loss_is_differentiable_decreases_and_updates_the_memory():
    inputs, _, encoder = toy_target_set()
    labeler = MMCLPseudoLabeler(warmup_epochs=0, momentum=0.5, momentum_ramp_epochs=0)
    with torch.no_grad():
        result = labeler.assign(encoder(inputs))
    np.testing.assert_array_equal(result.labels, np.arange(len(inputs)))
    memory_before = labeler.memory.clone()
    losses = train_a_few_steps(labeler, inputs, encoder)
    assert losses[-1] < 0.7 * losses[0]
    assert not torch.allclose(labeler.memory, memory_before)
    torch.testing.assert_close(labeler.memory.norm(dim=1), torch.ones(len(inputs)))


def test_mmcl_warms_up_with_single_labels_and_ramps_its_momentum():
    inputs, _, encoder = toy_target_set()
    labeler = MMCLPseudoLabeler(warmup_epochs=2, momentum=0.5, momentum_ramp_epochs=4)
    features = encoder(inputs).detach()
    labeler.assign(features)
    assert labeler.epoch == 0 and labeler.momentum == 0.0
    # warm-up: only the image itself is positive, so the loss is the single-label one
    expected = mmcl_loss(
        torch.nn.functional.normalize(features[:4], dim=1) @ labeler.memory.t(),
        torch.nn.functional.one_hot(torch.arange(4), len(inputs)).bool(), 5.0, 0.01,
    )
    torch.testing.assert_close(labeler.loss(features[:4], torch.arange(4)), expected)
    for _ in range(3):
        labeler.assign(features)
    assert labeler.epoch == 3 and labeler.momentum == pytest.approx(0.375)


def test_mmcl_memory_round_trips_through_state_dict():
    inputs, _, encoder = toy_target_set()
    labeler = MMCLPseudoLabeler(warmup_epochs=0)
    labeler.assign(encoder(inputs).detach())
    train_a_few_steps(labeler, inputs, encoder, steps=3)
    restored = MMCLPseudoLabeler(warmup_epochs=0)  # empty memory, as when resuming
    restored.load_state_dict(labeler.state_dict())
    torch.testing.assert_close(restored.memory, labeler.memory)
    assert restored.epoch == labeler.epoch
    features, indices = encoder(inputs[:5]).detach(), torch.arange(5)
    torch.testing.assert_close(restored.loss(features, indices), labeler.loss(features, indices))


def test_mmcl_loss_before_assign_is_a_clear_error():
    with pytest.raises(RuntimeError, match="before assign"):
        MMCLPseudoLabeler().loss(torch.randn(2, 4), torch.tensor([0, 1]))


# ---- memory_contrast --------------------------------------------------------------------
def contrast_labeler(**kwargs):
    return MemoryContrastPseudoLabeler(
        DBSCANPseudoLabeler(eps=0.6, min_samples=3, k1=10, k2=3, progress=False), **kwargs
    )


def test_memory_contrast_clusters_with_dbscan_and_starts_from_centroids():
    inputs, identity, encoder = toy_target_set()
    labeler = contrast_labeler()
    features = encoder(inputs).detach()
    result = labeler.assign(features)
    expected = DBSCANPseudoLabeler(eps=0.6, min_samples=3, k1=10, k2=3, progress=False).assign(features)
    np.testing.assert_array_equal(result.labels, expected.labels)
    assert result.num_clusters >= 2
    unit = torch.nn.functional.normalize(features, dim=1)
    first = torch.from_numpy(result.labels) == 0
    centroid = unit[first].mean(dim=0)
    torch.testing.assert_close(labeler.memory[0], centroid / centroid.norm())


def test_memory_contrast_loss_is_infonce_and_decreases():
    inputs, _, encoder = toy_target_set(noise=2.0)  # overlapping identities: a real loss to lower
    labeler = contrast_labeler(temperature=0.05, momentum=0.1)
    with torch.no_grad():
        labeler.assign(encoder(inputs))
    features = encoder(inputs[:3]).detach()
    targets = labeler.labels[:3]
    memory = labeler.memory.clone()
    expected = torch.nn.functional.cross_entropy(
        torch.nn.functional.normalize(features, dim=1) @ memory.t() / 0.05, targets
    )
    torch.testing.assert_close(labeler.loss(features, torch.arange(3)), expected)
    losses = train_a_few_steps(labeler, inputs, encoder, steps=15, lr=0.05)
    assert losses[-1] < 0.5 * losses[0]


def test_memory_contrast_momentum_update_by_hand():
    inputs, _, encoder = toy_target_set()
    for hard in (False, True):
        labeler = contrast_labeler(momentum=0.1, hard_update=hard)
        labeler.assign(encoder(inputs).detach())
        members = (labeler.labels == 0).nonzero().reshape(-1)[:2]
        features = torch.nn.functional.normalize(encoder(inputs[members]).detach(), dim=1)
        before = labeler.memory[0].clone()
        loss = labeler.loss(features.clone().requires_grad_(), members)
        loss.backward()
        if hard:  # only the batch sample least similar to the centroid moves it
            hardest = features[(features @ before).argmin()]
            expected = 0.1 * before + 0.9 * hardest
        else:  # both samples, in order
            expected = 0.1 * before + 0.9 * features[0]
            expected = 0.1 * (expected / expected.norm()) + 0.9 * features[1]
        torch.testing.assert_close(labeler.memory[0], expected / expected.norm())


def test_memory_contrast_state_round_trips_and_skips_outliers():
    inputs, _, encoder = toy_target_set()
    labeler = contrast_labeler()
    labeler.assign(encoder(inputs).detach())
    train_a_few_steps(labeler, inputs, encoder, steps=2)
    restored = contrast_labeler()
    restored.load_state_dict(labeler.state_dict())
    torch.testing.assert_close(restored.memory, labeler.memory)
    torch.testing.assert_close(restored.labels, labeler.labels)
    # an outlier index contributes nothing (it has no centroid)
    restored.labels[0] = -1
    features = encoder(inputs[:2]).detach()
    alone = restored.loss(features[1:], torch.tensor([1]))
    torch.testing.assert_close(restored.loss(features, torch.tensor([0, 1])), alone)


# ---- under DDP: every rank's memory copy takes the whole global batch -----------------------
GLOBAL_BATCHES = [[0, 13, 26, 39, 52, 65, 1, 14], [27, 40, 53, 66, 2, 15, 28, 41]]
OUTLIER = 13  # in rank 0's share: the ranks update with different row counts


def memory_after_steps(backend, rank=0, world_size=1):
    """The backend's memory after two steps on GLOBAL_BATCHES, of which this rank takes its
    contiguous share (as the trainer's streams give it)."""
    inputs, _, encoder = toy_target_set()
    labeler = (MMCLPseudoLabeler(warmup_epochs=0, momentum=0.5, momentum_ramp_epochs=0) if backend == "mmcl"
               else contrast_labeler(momentum=0.2))
    with torch.no_grad():
        features = encoder(inputs)
    labeler.assign(features)
    if backend == "memory_contrast":
        labeler.labels[OUTLIER] = -1
    # the steps see other views of the images than the memory was built from, so they move it
    moved = features + 0.5 * torch.randn(features.shape, generator=torch.Generator().manual_seed(1))
    for batch in GLOBAL_BATCHES:
        share = len(batch) // world_size
        indices = torch.tensor(batch[rank * share:(rank + 1) * share])
        labeler.loss(moved[indices].clone().requires_grad_(), indices).backward()
    return labeler.memory


MEMORY_BACKENDS = ("mmcl", "memory_contrast")


def _memory_worker(rank, port, out_dir):
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        for backend in MEMORY_BACKENDS:
            torch.save(memory_after_steps(backend, rank, 2), f"{out_dir}/{backend}_rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_two_ranks_keep_identical_memories_equal_to_one_process(tmp_path):
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_memory_worker, args=(port, str(tmp_path)), nprocs=2, join=True)  # one spawn: ~10 s of imports
    for backend in MEMORY_BACKENDS:
        rank0, rank1 = (torch.load(tmp_path / f"{backend}_rank{r}.pt") for r in range(2))
        one_process = memory_after_steps(backend)
        assert torch.equal(rank0, rank1), backend
        torch.testing.assert_close(rank0, one_process)
        assert not torch.allclose(one_process, memory_after_steps(backend, rank=0, world_size=2))  # a share alone differs
