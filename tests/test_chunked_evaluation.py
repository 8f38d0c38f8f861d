"""``TEST.CHUNKED``: the memory-bounded evaluator gives fastreid's ReidEvaluator's results."""
import numpy as np
import pytest
import torch
from fastreid.config import get_cfg
from fastreid.evaluation import ReidEvaluator
from fastreid.utils.compute_dist import build_dist

from fastreid_rae.config import add_rae_config
from fastreid_rae.evaluation.chunked import (ChunkedReidEvaluator, QueryBlockDistances,
                                             build_reid_evaluator)
from fastreid_rae.evaluation.rank import evaluate_rank, query_blocks

from .test_compat import reference_rank_metrics


def make_cfg(**test_keys):
    cfg = add_rae_config(get_cfg())
    for key, value in test_keys.items():
        cfg.merge_from_list([f"TEST.{key}", value])
    return cfg


def reid_like_set(seed, num_query=37, num_gallery=150, num_ids=12, num_cams=3, dim=16):
    """Identities as noisy centres seen by a few cameras: many gallery images share the
    query's identity and camera (junk), some identities have no true match at all."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(num_ids, dim))
    pids = np.concatenate([rng.integers(0, num_ids, num_query),
                           rng.integers(2, num_ids, num_gallery)])  # ids 0, 1: query only
    camids = rng.integers(0, num_cams, num_query + num_gallery)
    # + 3: off the origin, so cosine and euclidean rank differently
    feats = centres[pids] + 1.5 * rng.normal(size=(len(pids), dim)) + 3.0
    return torch.tensor(feats, dtype=torch.float32), pids, camids


def run(evaluator, feats, pids, camids, batch=16):
    for start in range(0, len(pids), batch):  # as inference feeds it, in batches
        rows = slice(start, start + batch)
        evaluator.process({"targets": torch.as_tensor(pids[rows]),
                           "camids": torch.as_tensor(camids[rows])}, feats[rows])
    return evaluator.evaluate()


@pytest.mark.parametrize("matmul", ["numpy", "torch"])
@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("seed", [0, 1])
def test_chunked_evaluator_equals_fastreid_dense_evaluator(metric, seed, matmul):
    feats, pids, camids = reid_like_set(seed)
    num_query = 37
    dense = run(ReidEvaluator(make_cfg(METRIC=metric), num_query), feats, pids, camids)
    cfg = make_cfg(METRIC=metric, **{"CHUNKED.ENABLED": True, "CHUNKED.QUERY_CHUNK": 3,
                                     "CHUNKED.MATMUL": matmul})
    chunked = run(build_reid_evaluator(cfg, num_query), feats, pids, camids)  # 13 blocks

    assert list(chunked) == list(dense) == ["Rank-1", "Rank-5", "Rank-10", "mAP", "mINP",
                                            "metric"]
    for key in dense:
        assert chunked[key] == pytest.approx(dense[key], rel=1e-9, abs=1e-9), key
    assert 10 < dense["mAP"] < 90 and dense["Rank-1"] < 100  # not a trivial ranking
    # the inputs are left as they were (cosine normalises the features in place)
    assert torch.equal(feats, reid_like_set(seed)[0])


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_block_distances_are_build_dists(metric):
    feats = reid_like_set(4)[0]
    expected = build_dist(feats[:37], feats[37:], metric)
    for matmul in ("torch", "numpy"):
        distances = QueryBlockDistances(feats[:37].clone(), feats[37:].clone(), metric, matmul)
        blocks = np.concatenate([distances(rows) for rows in query_blocks(37, 8)])
        # block products round differently from the whole matrix's, even in torch
        np.testing.assert_allclose(blocks, expected, rtol=1e-5, atol=1e-6)


def test_chunked_evaluator_matches_reference_definition():
    feats, pids, camids = reid_like_set(2)
    cfg = make_cfg(**{"CHUNKED.ENABLED": True, "CHUNKED.QUERY_CHUNK": 5})
    results = run(ChunkedReidEvaluator(cfg, 37), feats, pids, camids)
    q = torch.nn.functional.normalize(feats[:37], dim=1)
    g = torch.nn.functional.normalize(feats[37:], dim=1)
    reference = reference_rank_metrics((1 - q @ g.T).numpy(), pids[:37], pids[37:],
                                       camids[:37], camids[37:])
    for key, value in reference.items():
        assert results[key] == pytest.approx(value, abs=1e-4), key  # CMC is float32


def test_ties_are_ordered_by_gallery_index_in_every_block_size():
    # integer distances: many ties, between true matches, junk and other identities
    rng = np.random.default_rng(3)
    dist = rng.integers(0, 4, (23, 60)).astype(np.float32)
    q_pids, g_pids = rng.integers(0, 5, 23), rng.integers(0, 5, 60)
    q_camids, g_camids = rng.integers(0, 2, 23), rng.integers(0, 2, 60)
    reference = reference_rank_metrics(dist, q_pids, g_pids, q_camids, g_camids)  # stable sort
    for chunk_size in (1, 4, 23):
        cmc, all_ap, all_inp = evaluate_rank(dist, q_pids, g_pids, q_camids, g_camids,
                                             chunk_size=chunk_size)
        assert 100 * np.mean(all_ap) == pytest.approx(reference["mAP"], abs=1e-9)
        assert 100 * np.mean(all_inp) == pytest.approx(reference["mINP"], abs=1e-9)
        assert 100 * cmc[0] == pytest.approx(reference["Rank-1"], abs=1e-4)


def test_build_reid_evaluator_defaults_to_fastreid():
    evaluator = build_reid_evaluator(make_cfg(), num_query=3)
    assert type(evaluator) is ReidEvaluator


@pytest.mark.parametrize("key", ["RERANK.ENABLED", "AQE.ENABLED", "ROC.ENABLED"])
def test_dense_only_options_are_refused_when_built(key):
    cfg = make_cfg(**{"CHUNKED.ENABLED": True, key: True})
    with pytest.raises(ValueError, match=f"TEST.{key}.*TEST.CHUNKED.ENABLED False"):
        build_reid_evaluator(cfg, num_query=3)


@pytest.mark.parametrize("key, value, message", [
    ("METRIC", "jaccard", "TEST.METRIC must be one of"),
    ("CHUNKED.QUERY_CHUNK", 0, "TEST.CHUNKED.QUERY_CHUNK must be a positive"),
    ("CHUNKED.MATMUL", "cublas", "TEST.CHUNKED.MATMUL must be one of"),
])
def test_bad_chunked_settings_name_their_key(key, value, message):
    cfg = make_cfg(**{"CHUNKED.ENABLED": True, key: value})
    with pytest.raises(ValueError, match=message):
        build_reid_evaluator(cfg, num_query=3)
