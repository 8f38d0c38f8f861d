"""fastreid 1.4.0 on torch 2 / numpy 2 / Python 3.11: one test (or more) per shim in compat.py."""
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import fastreid_rae  # noqa: F401
from fastreid_rae.checkpoint_files import CheckpointLoadError

from .conftest import REPO_ROOT


def _run_python(code):
    return subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=120)


def test_fastreid_modules_import_only_with_the_shims():
    modules = "import fastreid.data, fastreid.engine, fastreid.evaluation"
    bare = _run_python(modules)
    assert bare.returncode != 0 and ("torch._six" in bare.stderr or "Mapping" in bare.stderr)
    shimmed = _run_python("import fastreid_rae; " + modules + "; import fastreid.evaluation.rank")
    assert shimmed.returncode == 0, shimmed.stderr
    assert "Cython" not in shimmed.stderr  # the python ranker is used quietly


def test_faiss_long_pointer_cast_is_available():
    import faiss
    from fastreid.utils.faiss_utils import swig_ptr_from_LongTensor

    values = torch.arange(4, dtype=torch.int64)
    assert swig_ptr_from_LongTensor(values) is not None
    assert faiss.cast_integer_to_long_ptr is not None


@pytest.mark.parametrize("mode, channels, dtype", [
    ("RGB", 3, torch.float32), ("L", 1, torch.float32), ("I", 1, torch.int32),
    ("F", 1, torch.float32), ("1", 1, torch.float32),
])
def test_to_tensor_converts_every_pil_mode_under_numpy2(mode, channels, dtype):
    from fastreid.data.transforms import ToTensor

    rgb = np.random.default_rng(0).integers(0, 256, (6, 4, 3), dtype=np.uint8)
    image = Image.fromarray(rgb).convert(mode)
    tensor = ToTensor()(image)
    assert tensor.shape == (channels, 6, 4) and tensor.dtype == dtype
    expected = np.asarray(image).astype(np.float64)
    if mode == "1":
        expected = expected * 255
    if expected.ndim == 2:
        expected = expected[:, :, None]
    np.testing.assert_array_equal(tensor.double().numpy(), expected.transpose(2, 0, 1))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the path taken without CUDA")
def test_fastreid_loader_iterates_without_cuda():
    from fastreid.data import build_reid_test_loader

    data = [{"images": torch.full((3, 2, 2), float(i)), "targets": i, "camids": 0}
            for i in range(5)]
    loader, num_query = build_reid_test_loader(test_set=data, test_batch_size=2, num_query=1,
                                               num_workers=0)
    batches = list(loader)
    assert num_query == 1 and [len(b["targets"]) for b in batches] == [2, 2, 1]
    assert torch.equal(torch.cat([b["targets"] for b in batches]), torch.arange(5))


def test_jaccard_reranking_distance_runs_on_cpu():
    from fastreid.utils.compute_dist import build_dist

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 16))
    feats = torch.tensor(np.repeat(centres, 5, axis=0) + 0.05 * rng.normal(size=(20, 16)),
                         dtype=torch.float32)
    dist = build_dist(feats, feats, metric="jaccard", k1=4, k2=2)
    assert dist.shape == (20, 20)
    assert np.all(np.isfinite(dist)) and np.allclose(np.diag(dist), 0, atol=1e-6)
    same = np.repeat(np.arange(4), 5)
    same = same[:, None] == same[None, :]
    assert dist[same].mean() < dist[~same].mean()


# ---- evaluation: fastreid's ReidEvaluator against an independent reference ----------------

def reference_rank_metrics(dist, q_pids, g_pids, q_camids, g_camids, ranks=(1, 5, 10)):
    """Market-1501 protocol written from its definition: gallery images of the query's id
    seen by the query's camera are ignored; AP averages precision at each true match; mINP
    is (#matches / rank of the hardest match)."""
    aps, inps, cmc_hits = [], [], []
    for q in range(len(q_pids)):
        order = np.argsort(dist[q], kind="stable")
        keep = ~((g_pids[order] == q_pids[q]) & (g_camids[order] == q_camids[q]))
        hits = np.flatnonzero(g_pids[order][keep] == q_pids[q]) + 1  # 1-based ranks
        if hits.size == 0:
            continue
        aps.append(np.mean(np.arange(1, hits.size + 1) / hits))
        inps.append(hits.size / hits[-1])
        cmc_hits.append([hits[0] <= r for r in ranks])
    cmc = np.mean(cmc_hits, axis=0)
    return {"mAP": 100 * np.mean(aps), "mINP": 100 * np.mean(inps),
            **{f"Rank-{r}": 100 * c for r, c in zip(ranks, cmc)}}


def _evaluate_with_fastreid(query, gallery, q_pids, g_pids, q_camids, g_camids, metric="cosine"):
    from fastreid.config import get_cfg
    from fastreid.evaluation import ReidEvaluator

    cfg = get_cfg()
    cfg.TEST.METRIC = metric
    evaluator = ReidEvaluator(cfg, num_query=len(query))
    evaluator.process({"targets": torch.as_tensor(np.concatenate([q_pids, g_pids])),
                       "camids": torch.as_tensor(np.concatenate([q_camids, g_camids]))},
                      torch.cat([query, gallery]))
    return evaluator.evaluate()


def test_reference_metrics_on_a_hand_computed_ranking():
    # gallery sorted by distance: [id1 same cam (ignored), id2, id1, id3, id1]
    dist = np.array([[0.1, 0.2, 0.3, 0.4, 0.5]])
    metrics = reference_rank_metrics(dist, np.array([1]), np.array([1, 2, 1, 3, 1]),
                                     np.array([1]), np.array([1, 2, 2, 2, 3]))
    assert metrics["mAP"] == pytest.approx(100 * (1 / 2 + 2 / 4) / 2)
    assert metrics["mINP"] == pytest.approx(100 * 2 / 4)
    assert metrics["Rank-1"] == 0 and metrics["Rank-5"] == 100


def test_fastreid_evaluator_on_the_hand_computed_ranking():
    # 2-d features whose cosine distances to the query reproduce the ranking above, then
    # six far non-matches (fastreid reads CMC up to rank 10)
    angles = np.linspace(0.0, 1.1, 12)
    feats = torch.tensor(np.stack([np.cos(angles), np.sin(angles)], 1), dtype=torch.float32)
    results = _evaluate_with_fastreid(feats[:1], feats[1:], np.array([1]),
                                      np.array([1, 2, 1, 3, 1, 4, 5, 6, 7, 8, 9]), np.array([1]),
                                      np.array([1, 2, 2, 2, 3, 2, 2, 2, 2, 2, 2]))
    assert results["mAP"] == pytest.approx(50.0)
    assert results["mINP"] == pytest.approx(50.0)
    assert results["Rank-1"] == pytest.approx(0.0) and results["Rank-5"] == pytest.approx(100.0)


@pytest.mark.parametrize("seed, gallery_size", [(0, 240), (1, 240), (2, 30)])
def test_fastreid_evaluator_matches_reference_on_random_features(seed, gallery_size):
    # 30: fewer gallery images than fastreid's max_rank (50), which upstream's python ranker
    # cannot handle
    rng = np.random.default_rng(seed)
    num_ids, dim = 30, 32
    centres = rng.normal(size=(num_ids, dim))

    def sample(n):
        pids = rng.integers(0, num_ids, n)
        camids = rng.integers(0, 4, n)
        feats = centres[pids] + 1.2 * rng.normal(size=(n, dim))
        return torch.tensor(feats, dtype=torch.float32), pids, camids

    query, q_pids, q_camids = sample(60)
    gallery, g_pids, g_camids = sample(gallery_size)
    results = _evaluate_with_fastreid(query, gallery, q_pids, g_pids, q_camids, g_camids)

    qn = torch.nn.functional.normalize(query, dim=1)
    gn = torch.nn.functional.normalize(gallery, dim=1)
    reference = reference_rank_metrics((1 - qn @ gn.T).numpy(), q_pids, g_pids, q_camids,
                                       g_camids)
    for key, value in reference.items():
        assert results[key] == pytest.approx(value, abs=1e-3), key
    assert 5 < reference["mAP"] < 95  # a non-trivial retrieval problem


def test_contiguous_params_optimizer_updates_parameters_every_step():
    from fastreid.config import get_cfg
    from fastreid.solver import build_optimizer

    cfg = get_cfg()
    cfg.merge_from_list(["SOLVER.OPT", "SGD", "SOLVER.BASE_LR", 0.1, "SOLVER.MOMENTUM", 0.0,
                         "SOLVER.WEIGHT_DECAY", 0.0, "SOLVER.WEIGHT_DECAY_BIAS", 0.0])
    model = torch.nn.Linear(2, 1, bias=False)
    optimizer, param_wrapper = build_optimizer(cfg, model)
    for _ in range(2):  # as fastreid's SimpleTrainer.run_step: zero_grad, backward, step
        before = model.weight.detach().clone()
        optimizer.zero_grad()
        model(torch.ones(1, 2)).sum().backward()  # d/dw = [1, 1]
        optimizer.step()
        param_wrapper.assert_buffer_is_valid()
        torch.testing.assert_close(model.weight, before - 0.1)


def test_evaluator_does_not_try_to_compile_cython(monkeypatch):
    from fastreid.config import get_cfg
    from fastreid.evaluation import ReidEvaluator

    def refuse(*args, **kwargs):
        raise AssertionError("tried to run make for the Cython ranker")

    monkeypatch.setattr(subprocess, "run", refuse)
    ReidEvaluator(get_cfg(), num_query=1)


# ---- checkpoints ------------------------------------------------------------------------

def test_checkpoint_round_trip_loads_with_weights_only(tmp_path):
    from fastreid.utils.checkpoint import Checkpointer

    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    Checkpointer(model, str(tmp_path), optimizer=optimizer).save("model_0001", iteration=1)

    restored = torch.nn.Linear(3, 2)
    checkpoint = Checkpointer(restored, str(tmp_path)).resume_or_load("", resume=True)
    assert checkpoint["iteration"] == 1
    assert torch.equal(restored.weight, model.weight)


class _RunsCodeWhenUnpickled:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_crafted_checkpoint_is_refused(tmp_path, monkeypatch):
    from fastreid.utils.checkpoint import Checkpointer

    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        pickle.dump({"model": _RunsCodeWhenUnpickled()}, f)
    with pytest.raises(CheckpointLoadError, match="evil.pth"):
        Checkpointer(torch.nn.Linear(1, 1)).load(str(path))
    assert not (tmp_path / "pwned").exists()


# ---- fastreid's own trainer, end to end on CPU ------------------------------------------

def test_fastreid_default_trainer_trains_and_evaluates_on_cpu(tiny_world, tmp_path, monkeypatch):
    from fastreid.config import get_cfg
    from fastreid.data import build as fastreid_data_build
    from fastreid.engine import DefaultTrainer

    monkeypatch.setattr(fastreid_data_build, "_root", str(tiny_world))
    cfg = get_cfg()
    cfg.merge_from_list([
        "MODEL.DEVICE", "cpu", "MODEL.BACKBONE.DEPTH", "18x", "MODEL.BACKBONE.FEAT_DIM", 512,
        "MODEL.BACKBONE.PRETRAIN", False, "MODEL.LOSSES.NAME", ("CrossEntropyLoss", "TripletLoss"),
        "INPUT.SIZE_TRAIN", [64, 32], "INPUT.SIZE_TEST", [64, 32],
        "DATASETS.NAMES", ("Market1501",), "DATASETS.TESTS", ("Market1501",),
        "DATALOADER.NUM_WORKERS", 0, "DATALOADER.NUM_INSTANCE", 4, "SOLVER.IMS_PER_BATCH", 16,
        "SOLVER.MAX_EPOCH", 1, "SOLVER.WARMUP_ITERS", 0, "SOLVER.CHECKPOINT_PERIOD", 1,
        "TEST.IMS_PER_BATCH", 32, "TEST.EVAL_PERIOD", 1, "OUTPUT_DIR", str(tmp_path),
    ])
    cfg.freeze()
    trainer = DefaultTrainer(cfg)
    initial = {k: v.detach().clone() for k, v in trainer.model.named_parameters()}
    trainer.resume_or_load(resume=False)
    trainer.train()

    assert trainer.iter == trainer.max_iter >= 2
    # every trainable parameter moved (torch 2's zero_grad(set_to_none) froze them all)
    unchanged = [k for k, v in trainer.model.named_parameters() if torch.equal(v, initial[k])]
    assert unchanged == []
    assert (tmp_path / "model_final.pth").exists()
    results = trainer.test(cfg, trainer.model)  # one test set: fastreid returns its dict
    assert all(0 <= results[k] <= 100 for k in ("Rank-1", "mAP", "mINP"))


def _saved(tmp_path, state, name="weights.pth"):
    path = tmp_path / name
    torch.save({"model": state}, path)
    return str(path)


@pytest.mark.parametrize("state, expected", [
    ({"foo.weight": torch.zeros(3)}, "missing: weight, bias; unexpected: foo.weight"),
    (torch.nn.Linear(3, 4).state_dict(), "mis-shaped: weight (4, 3) in the file, (2, 3) in the model, "
                                         "bias (4,) in the file, (2,) in the model;"),
    ({"weight": torch.zeros(2, 3)}, "missing: bias;")], ids=["unrelated", "mis-shaped", "missing"])
def test_checkpoint_that_does_not_fit_the_model_is_refused_by_name(tmp_path, state, expected):
    from fastreid.utils.checkpoint import Checkpointer

    path = _saved(tmp_path, state)
    with pytest.raises(CheckpointLoadError) as error:
        Checkpointer(torch.nn.Linear(3, 2)).load(path)
    message = str(error.value)
    assert message.startswith(f"checkpoint '{path}' does not fit the model built from the config: ")
    assert expected in message and "\n" not in message


def test_deliberate_partial_load_is_logged_and_still_refuses_wrong_shapes(tmp_path, caplog):
    from fastreid.utils.checkpoint import Checkpointer

    model = torch.nn.Linear(3, 2)
    checkpointer = Checkpointer(model)
    checkpointer.partial_load = True
    checkpointer.load(_saved(tmp_path, {"weight": torch.ones(2, 3), "extra": torch.zeros(1)}))
    assert torch.equal(model.weight, torch.ones(2, 3))
    assert "partial load (RAE.CHECKPOINT.PARTIAL_LOAD): 1 tensors loaded; missing: bias; " \
           "unexpected: extra" in caplog.text
    for state in ({"weight": torch.ones(4, 3)}, {"unrelated": torch.ones(1)}):  # wrong shape, nothing
        with pytest.raises(CheckpointLoadError, match="does not fit"):
            checkpointer.load(_saved(tmp_path, state))


@pytest.mark.parametrize("content, reason", [
    (b"", "empty file"), (b"MODEL:\n  DEVICE: cpu\n", "Unsupported operand"),
    (None, "PytorchStreamReader failed reading zip archive")], ids=["empty", "yaml", "truncated"])
def test_corrupt_or_foreign_checkpoint_is_one_line(tmp_path, content, reason):
    from fastreid.utils.checkpoint import Checkpointer

    path = tmp_path / "model_final.pth"
    if content is None:
        torch.save({"model": torch.nn.Linear(3, 2).state_dict()}, path)
        content = path.read_bytes()[:200]
    path.write_bytes(content)
    with pytest.raises(CheckpointLoadError) as error:
        Checkpointer(torch.nn.Linear(3, 2)).load(str(path))
    assert str(error.value).startswith(f"cannot load checkpoint '{path}' ({reason}")
    assert "\n" not in str(error.value)


def test_checkpoint_without_a_model_state_dict_is_refused(tmp_path):
    from fastreid.utils.checkpoint import Checkpointer

    path = tmp_path / "imagenet.pth"
    torch.save(torch.nn.Linear(3, 2).state_dict(), path)  # a bare state dict, no "model"
    with pytest.raises(CheckpointLoadError, match="holds no 'model' state dict of tensors"):
        Checkpointer(torch.nn.Linear(3, 2)).load(str(path))
