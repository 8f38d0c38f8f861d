"""Pseudo-label backends: neighbour search, sparse Jaccard == dense reference, clustering
backends (dbscan, kmeans, jvtc), registry/config, quality metrics."""
import numpy as np
import pytest
from sklearn.cluster import DBSCAN

from fastreid.config import get_cfg
from fastreid_rae.config import add_rae_config
from fastreid_rae.pseudo_labels import (
    DBSCANPseudoLabeler,
    JVTCPseudoLabeler,
    KMeansPseudoLabeler,
    PseudoLabels,
    build_pseudo_labeler,
    jaccard_distance,
    knn_recall,
    knn_search,
    registered_pseudo_labelers,
)
from fastreid_rae.pseudo_labels.jvtc import CameraTemporalModel
from fastreid_rae.pseudo_labels.quality import (
    adjusted_rand_index,
    multi_label_precision_recall,
    pairwise_precision_recall,
    pseudo_label_quality,
)
from fastreid_rae.testing.features import (
    DIFFICULTY_NOISE,
    make_clustered_features,
    make_reid_like_features,
)


# --------------------------------------------------------------------------------------
# A straightforward dense reference: SpCL's compute_jaccard_distance written out on full
# N x N matrices (Zhong et al.'s N(i, k) = i and its k nearest), then sklearn DBSCAN.
# --------------------------------------------------------------------------------------
def expanded_reciprocal_neighbours(rank: np.ndarray, i: int, k1: int) -> np.ndarray:
    """R*(i, k1) of Zhong et al.: i's k1-reciprocal neighbours, expanded by each one's
    k1/2-reciprocal set that shares over 2/3 of its members with them. ``rank[j]``: j's
    neighbours nearest first (j itself first), at least k1 + 1 of them."""
    def k_reciprocal(j, k):
        forward = rank[j, : k + 1]
        backward = rank[forward, : k + 1]
        return forward[(backward == j).any(axis=1)]

    k_half = int(np.around(k1 / 2))
    reciprocal = k_reciprocal(i, k1)
    expanded = reciprocal
    for candidate in reciprocal:
        candidate_set = k_reciprocal(candidate, k_half)
        if len(np.intersect1d(candidate_set, reciprocal)) > 2 / 3 * len(candidate_set):
            expanded = np.append(expanded, candidate_set)
    return np.unique(expanded)


def dense_jaccard_reference(features: np.ndarray, k1: int, k2: int) -> np.ndarray:
    x = features.astype(np.float64)
    num = len(x)
    squared = (x * x).sum(axis=1)
    dist = np.maximum(squared[:, None] + squared[None, :] - 2.0 * x @ x.T, 0.0)
    rank = np.argsort(dist, axis=1, kind="stable")

    encoding = np.zeros((num, num))
    for i in range(num):
        expanded = expanded_reciprocal_neighbours(rank, i, k1)
        weights = np.exp(-dist[i, expanded])
        encoding[i, expanded] = weights / weights.sum()
    if k2 != 1:
        encoding = np.stack([encoding[rank[i, :k2]].mean(axis=0) for i in range(num)])
    jaccard = np.empty((num, num))
    for i in range(num):
        support = np.flatnonzero(encoding[i])  # min(0, .) = 0 elsewhere, as SpCL's loop skips
        shared = np.minimum(encoding[i, support][None, :], encoding[:, support]).sum(axis=1)
        jaccard[i] = 1.0 - shared / (2.0 - shared)
    return np.maximum(jaccard, 0.0)


def dense_jaccard_reference_float32(features: np.ndarray, k1: int, k2: int):
    """The same dense construction in float32, for sizes where the float64 one cannot fit
    (~49 GB at N = 32,621): the distances are formed a block of rows at a time and only each
    row's k1 + 1 nearest are ranked (every rank used above is among them); the k2-averaged
    encoding is an N x N float32 array, its transpose another, and each row's Jaccard
    distances to all N images are computed from them. Returns the radius graph a caller asks
    for instead of the N x N distance matrix: ``within(eps)`` -> sparse matrix of the
    distances <= eps, zeros stored, which sklearn's DBSCAN reads as the dense matrix's
    neighbourhoods."""
    import torch
    from scipy import sparse

    x = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))
    num = len(x)
    squared = (x * x).sum(dim=1)
    rank = np.empty((num, k1 + 1), dtype=np.int64)
    for start in range(0, num, 1024):
        block = (squared[start:start + 1024, None] + squared[None, :]
                 - 2.0 * x[start:start + 1024] @ x.T).clamp_min_(0.0)
        block[torch.arange(len(block)), torch.arange(start, start + len(block))] = -1.0  # self first
        rank[start:start + 1024] = torch.topk(block, k1 + 1, largest=False, sorted=True).indices.numpy()

    encoding = np.zeros((num, num), dtype=np.float32)
    for i in range(num):
        expanded = expanded_reciprocal_neighbours(rank, i, k1)
        dist = (squared[i] + squared[expanded] - 2.0 * x[expanded] @ x[i]).clamp_min_(0.0).numpy()
        weights = np.exp(-dist)
        encoding[i, expanded] = weights / weights.sum()
    if k2 != 1:
        averaged = np.empty_like(encoding)
        for i in range(num):
            averaged[i] = encoding[rank[i, :k2]].mean(axis=0)
        encoding = averaged
        del averaged
    supports = [np.flatnonzero(row) for row in encoding]
    columns = np.ascontiguousarray(encoding.T)  # columns[k] = encoding[:, k], contiguous
    values = [columns[support, i] for i, support in enumerate(supports)]
    del encoding

    def within(eps: float):
        rows, cols, data = [], [], []
        for i, (support, value) in enumerate(zip(supports, values)):
            shared = np.minimum(value[:, None], columns[support]).sum(axis=0)
            jaccard = np.maximum(1.0 - shared / (2.0 - shared), 0.0)
            near = np.flatnonzero(jaccard <= eps)
            rows.append(np.full(len(near), i))
            cols.append(near)
            data.append(jaccard[near])
        return sparse.csr_matrix((np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
                                 shape=(num, num))

    return within


def assert_same_partition(labels_a: np.ndarray, labels_b: np.ndarray):
    """Equal up to renaming clusters, with identical outlier (-1) sets."""
    np.testing.assert_array_equal(labels_a == -1, labels_b == -1)
    inliers = labels_a >= 0
    pairs = set(zip(labels_a[inliers].tolist(), labels_b[inliers].tolist()))
    assert len(pairs) == len(set(labels_a[inliers].tolist())) == len(set(labels_b[inliers].tolist()))


def small_reid_world(seed: int, num: int = 300):
    data = make_reid_like_features(num, dim=64, spread=0.5, noise=0.9, seed=seed)
    return data


@pytest.fixture(scope="module")
def cfg():
    config = get_cfg()
    add_rae_config(config)
    return config


# ---- neighbour search -------------------------------------------------------------------
def test_exact_knn_matches_brute_force_numpy():
    data = small_reid_world(seed=0)
    distances, indices, report = knn_search(data.features, 11, progress=False)
    x = data.features.astype(np.float64)
    full = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    expected = np.argsort(full, axis=1, kind="stable")[:, :11]
    assert indices.dtype == np.int32 and distances.dtype == np.float32
    np.testing.assert_array_equal(indices, expected)
    np.testing.assert_allclose(distances, np.take_along_axis(full, expected, 1), atol=1e-5)
    assert (report.used, report.recall, report.sample_size) == ("exact", 1.0, 0)  # nothing to check


def test_approximate_knn_agrees_with_exact(record_property):
    data = make_reid_like_features(3000, dim=128, seed=3)
    _, exact, _ = knn_search(data.features, 31, progress=False)
    _, approx, report = knn_search(data.features, 31, method="approximate", progress=False)
    _, again, _ = knn_search(data.features, 31, method="approximate", progress=False)
    recall = knn_recall(approx, exact)
    record_property("approximate_knn_recall", recall)
    print(f"approximate k-NN recall@31 vs exact: {recall:.4f}")
    assert recall > 0.97
    # on tight features the check passes at the first probe count, and its sampled recall
    # estimates the full one
    assert report.used == "approximate" and report.attempts == [(16, report.recall)]
    assert abs(report.recall - recall) < 0.01
    np.testing.assert_array_equal(approx, again)  # seeded coarse quantiser: repeatable
    # a narrower search finds less (recall measures something) ...
    _, narrow, _ = knn_search(
        data.features, 31, method="approximate", num_lists=64, nprobe=4, min_recall=0.0,
        progress=False,
    )
    assert knn_recall(narrow, exact) < recall
    # ... and one too narrow to return k neighbours says which key to raise
    with pytest.raises(RuntimeError, match="NEIGHBORS.NPROBE"):
        knn_search(data.features, 31, method="approximate", num_lists=64, nprobe=1,
                   min_recall=0.0, progress=False)


def test_knn_recall_of_sampled_queries_among_more_rows():
    # 2 query rows whose neighbours index a larger set (ids up to 9); -1 = not found
    exact = np.array([[0, 7, 9], [1, 2, 8]])
    approx = np.array([[0, 9, 3], [1, -1, 7]])
    assert knn_recall(approx, exact) == pytest.approx(3 / 6)
    assert knn_recall(exact[:, ::-1], exact) == 1.0


def hard_features(num: int = 1500):
    """Loose, Zipf-sized identities in 256-d: inverted-file search at a few probes finds
    ~half of the exact neighbours here, enough to change the clusters."""
    return make_clustered_features(num, dim=256, noise=DIFFICULTY_NOISE["hard"], seed=0)


def test_approximate_search_below_min_recall_falls_back_to_exact(caplog):
    features = hard_features().features
    _, exact, _ = knn_search(features, 31, progress=False)
    with caplog.at_level("WARNING"):
        _, approx, report = knn_search(
            features, 31, method="approximate", num_lists=64, nprobe=4, progress=False
        )
    assert report.fell_back and report.used == "exact" and report.nprobe is None
    assert report.recall < 0.95 and report.sample_size == 256
    np.testing.assert_array_equal(approx, exact)
    assert "falling back to exact search" in caplog.text and "MIN_RECALL" in caplog.text
    assert report.scalars() == {"knn_recall": report.recall, "knn_exact_fallback": 1.0}


def test_approximate_search_probes_more_lists_until_min_recall():
    features = hard_features(3000).features
    options = dict(method="approximate", num_lists=128, nprobe=2, progress=False)
    # unreachable recall: every probe count up to 1/16 of the lists is tried, doubling
    _, _, tried = knn_search(features, 31, min_recall=1.0, **options)
    assert [nprobe for nprobe, _ in tried.attempts] == [2, 4, 8] and tried.fell_back
    (_, low), (_, middle), _ = tried.attempts
    assert low < middle
    # a threshold the second probe count meets: the search stops there and uses it
    _, widened, report = knn_search(features, 31, min_recall=middle, **options)
    assert not report.fell_back and report.nprobe == 4 and len(report.attempts) == 2
    _, direct, _ = knn_search(features, 31, min_recall=0.0, **{**options, "nprobe": 4})
    np.testing.assert_array_equal(widened, direct)


@pytest.mark.parametrize("name", ["dbscan", "jvtc", "memory_contrast"])
def test_backends_never_cluster_on_a_failed_approximate_search(cfg, name):
    data = hard_features()
    config = cfg.clone()
    config.RAE.PSEUDO_LABEL.NAME = name
    exact = build_pseudo_labeler(config).assign(data.features, data.camids, data.frames)
    config.RAE.PSEUDO_LABEL.NEIGHBORS.METHOD = "approximate"
    config.RAE.PSEUDO_LABEL.NEIGHBORS.NUM_LISTS = 64
    config.RAE.PSEUDO_LABEL.NEIGHBORS.NPROBE = 8
    config.RAE.PSEUDO_LABEL.NEIGHBORS.MIN_RECALL = 0.0  # unchecked: clusters on what it found
    unchecked = build_pseudo_labeler(config).assign(data.features, data.camids, data.frames)
    config.RAE.PSEUDO_LABEL.NEIGHBORS.MIN_RECALL = 0.95
    checked = build_pseudo_labeler(config).assign(data.features, data.camids, data.frames)
    assert adjusted_rand_index(unchecked.labels, exact.labels) < 0.97
    assert checked.neighbor_search.fell_back
    assert_same_partition(checked.labels, exact.labels)


def test_unknown_search_method_is_rejected():
    with pytest.raises(ValueError, match="NEIGHBORS.METHOD"):
        knn_search(np.eye(4, dtype=np.float32), 2, method="lsh")


# ---- sparse Jaccard and DBSCAN vs the dense reference --------------------------------------
# eps values avoid the rationals a Jaccard distance can hit exactly (0.5 = 1 - (2/3)/(4/3) when
# two rows share 2 of their 3 query-expansion rows): at such a tie float rounding decides.
@pytest.mark.parametrize(
    "seed,k1,k2,eps", [(0, 30, 6, 0.6), (1, 30, 6, 0.6), (2, 10, 3, 0.52), (3, 20, 1, 0.55)]
)
def test_sparse_jaccard_equals_dense_reference(seed, k1, k2, eps):
    features = small_reid_world(seed).features
    dense = dense_jaccard_reference(features, k1, k2)
    sparse = jaccard_distance(features, k1=k1, k2=k2, max_distance=eps, progress=False)
    # stored pairs are exactly the pairs within eps, with the reference's values
    coo = sparse.tocoo()
    expected_pairs = set(zip(*np.nonzero(dense <= eps)))
    assert set(zip(coo.row.tolist(), coo.col.tolist())) == {(int(r), int(c)) for r, c in expected_pairs}
    np.testing.assert_allclose(coo.data, dense[coo.row, coo.col], atol=1e-6)
    # and without a cut-off every pair sharing a reciprocal neighbour is kept
    full = jaccard_distance(features, k1=k1, k2=k2, progress=False).tocoo()
    assert full.nnz == int((dense < 1.0).sum())


@pytest.mark.parametrize(
    "seed,k1,k2,eps,min_samples", [(0, 30, 6, 0.6, 4), (1, 30, 6, 0.6, 4), (2, 10, 3, 0.52, 3)]
)
def test_dbscan_backend_equals_dense_reference(seed, k1, k2, eps, min_samples):
    data = small_reid_world(seed)
    dense = dense_jaccard_reference(data.features, k1, k2)
    expected = DBSCAN(eps=eps, min_samples=min_samples, metric="precomputed").fit_predict(dense)
    labeler = DBSCANPseudoLabeler(eps=eps, min_samples=min_samples, k1=k1, k2=k2, progress=False)
    result = labeler.assign(data.features * 3.0)  # the backend normalises
    # the case must be non-trivial: several clusters, and some outliers
    assert len(set(expected.tolist()) - {-1}) > 3
    assert_same_partition(result.labels, expected)
    assert result.num_clusters == len(set(expected.tolist()) - {-1})
    assert result.num_outliers == int((expected == -1).sum())


@pytest.mark.parametrize("seed,k1,k2,eps", [(0, 30, 6, 0.6), (2, 10, 3, 0.52)])
def test_float32_dense_reference_gives_the_float64_ones_labels(seed, k1, k2, eps):
    """The benchmark's reference at N = 32,621 is the float32 one: it must cluster as the
    float64 reference the backend is tested against."""
    features = small_reid_world(seed).features
    dense = dense_jaccard_reference(features, k1, k2)
    graph = dense_jaccard_reference_float32(features, k1, k2)(eps)
    np.testing.assert_allclose(graph.toarray()[dense <= eps], dense[dense <= eps], atol=1e-5)
    assert graph.nnz == int((dense <= eps).sum())
    expected = DBSCAN(eps=eps, min_samples=4, metric="precomputed").fit_predict(dense)
    assert_same_partition(DBSCAN(eps=eps, min_samples=4, metric="precomputed").fit_predict(graph),
                          expected)


def test_dbscan_reference_case_has_outliers():
    data = small_reid_world(0)
    dense = dense_jaccard_reference(data.features, 30, 6)
    labels = DBSCAN(eps=0.6, min_samples=4, metric="precomputed").fit_predict(dense)
    assert (labels == -1).any(), "the equality test above would not cover outliers"


def test_pseudo_labels_relabel_and_average_centres():
    features = np.array([[1, 0], [3, 0], [0, 2], [9, 9]], dtype=np.float32)
    result = PseudoLabels.from_assignment(features, np.array([7, 7, 4, -1]))
    np.testing.assert_array_equal(result.labels, [1, 1, 0, -1])
    np.testing.assert_allclose(result.centers, [[0, 2], [2, 0]])
    assert (result.num_clusters, result.num_outliers) == (2, 1)


# ---- kmeans -----------------------------------------------------------------------------
def test_kmeans_recovers_planted_clusters_deterministically():
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((8, 32)) * 3.0
    truth = np.repeat(np.arange(8), 25)
    features = (centres[truth] + rng.standard_normal((200, 32))).astype(np.float32)
    first = KMeansPseudoLabeler(num_clusters=8, num_iters=50, seed=0).assign(features)
    second = KMeansPseudoLabeler(num_clusters=8, num_iters=50, seed=0).assign(features)
    assert adjusted_rand_index(first.labels, truth) > 0.95
    np.testing.assert_array_equal(first.labels, second.labels)
    assert first.num_outliers == 0 and first.centers.shape == (first.num_clusters, 32)


def test_kmeans_with_more_clusters_than_images_is_a_clear_error():
    with pytest.raises(ValueError, match="NUM_CLUSTERS"):
        KMeansPseudoLabeler(num_clusters=10).assign(np.eye(4, dtype=np.float32))


# ---- jvtc -------------------------------------------------------------------------------
def twin_strangers_world(seed=0):
    """Identities A and B look identical (same appearance centre) but pass the cameras
    70,000 frames apart; 20 other identities each pass within a few hundred frames."""
    rng = np.random.default_rng(seed)
    num_others, per_id, dim = 20, 15, 64
    centres = rng.standard_normal((num_others + 1, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    appearance = np.concatenate([np.arange(num_others), [num_others, num_others]])  # A, B share
    times = np.concatenate([rng.integers(0, 100_000, num_others), [10_000, 80_000]])
    identity = np.repeat(np.arange(num_others + 2), per_id)
    noise = 1.4 * rng.standard_normal((len(identity), dim)) / np.sqrt(dim)
    features = centres[appearance[identity]] + noise
    frames = times[identity] + rng.integers(0, 400, len(identity))
    camids = rng.integers(1, 5, len(identity))
    return features.astype(np.float32), identity, camids, frames, num_others, num_others + 1


def test_jvtc_uses_the_temporal_cue_where_dbscan_cannot():
    features, identity, camids, frames, a, b = twin_strangers_world()
    settings = dict(eps=0.6, min_samples=4, k1=10, k2=3, progress=False)
    visual = DBSCANPseudoLabeler(**settings).assign(features)
    joint = JVTCPseudoLabeler(DBSCANPseudoLabeler(**settings)).assign(features, camids, frames)

    def labels_of(result, who):
        return set(result.labels[identity == who].tolist()) - {-1}

    # appearance alone merges the twins ...
    assert labels_of(visual, a) & labels_of(visual, b)
    # ... their frames tell them apart
    assert not (labels_of(joint, a) & labels_of(joint, b))
    assert len(labels_of(joint, a)) == 1 and len(labels_of(joint, b)) == 1
    # and the other identities stay clean
    others = identity < a
    assert adjusted_rand_index(joint.labels[others], identity[others]) > 0.95


def test_temporal_model_peaks_at_observed_gaps():
    labels = np.repeat(np.arange(50), 2)
    camids = np.tile([0, 1], 50)
    frames = np.repeat(np.arange(50) * 10_000, 2) + np.tile([0, 500], 50)  # gap 500 frames
    model = CameraTemporalModel.fit(labels, camids, frames, interval=100, sigma=2.0)
    near, far = model(np.array([0, 0]), np.array([1, 1]), np.array([500, 40_000]))
    assert near == pytest.approx(1.0) and far < 1e-3
    # unordered camera pair; same-camera pairs were never observed
    assert model(np.array([1]), np.array([0]), np.array([-500]))[0] == pytest.approx(1.0)
    assert model(np.array([0]), np.array([0]), np.array([500]))[0] == 0.0


def test_backend_needing_frames_names_what_is_missing():
    features, _, camids, _, _, _ = twin_strangers_world()
    labeler = JVTCPseudoLabeler(DBSCANPseudoLabeler(progress=False))
    with pytest.raises(ValueError, match=r"JVTCPseudoLabeler needs per-image frames of the target"):
        labeler.assign(features, camids=camids)
    with pytest.raises(ValueError, match=r"needs per-image camids and frames"):
        labeler.assign(features)
    assert JVTCPseudoLabeler.requires == {"camids", "frames"}
    assert DBSCANPseudoLabeler.requires == frozenset()


# ---- registry / config ------------------------------------------------------------------
def test_every_backend_builds_from_config(cfg):
    assert registered_pseudo_labelers() == ["dbscan", "jvtc", "kmeans", "memory_contrast", "mmcl"]
    for name in registered_pseudo_labelers():
        config = cfg.clone()
        config.RAE.PSEUDO_LABEL.NAME = name
        labeler = build_pseudo_labeler(config)
        assert labeler.provides_loss == (name in ("mmcl", "memory_contrast"))
    config = cfg.clone()
    config.RAE.PSEUDO_LABEL.DBSCAN.EPS = 0.45
    config.RAE.PSEUDO_LABEL.NEIGHBORS.METHOD = "approximate"
    labeler = build_pseudo_labeler(config)
    assert labeler.eps == 0.45 and labeler.search_options["method"] == "approximate"
    assert labeler.search_options["min_recall"] == 0.95
    config.RAE.PSEUDO_LABEL.NEIGHBORS.MIN_RECALL = 1.5
    with pytest.raises(ValueError, match=r"NEIGHBORS.MIN_RECALL must be in \[0, 1\], got 1.5"):
        build_pseudo_labeler(config)


def test_unknown_backend_name_lists_the_registered_ones(cfg):
    config = cfg.clone()
    config.RAE.PSEUDO_LABEL.NAME = "hdbscan"
    with pytest.raises(KeyError, match=r"RAE.PSEUDO_LABEL.NAME = 'hdbscan'.*'dbscan', 'jvtc', 'kmeans'"):
        build_pseudo_labeler(config)


# ---- quality ----------------------------------------------------------------------------
def test_quality_metrics_on_a_hand_computed_example():
    labels = np.array([0, 0, 1, 1, -1])
    identities = np.array([0, 0, 0, 1, 1])
    # predicted pairs {01, 23}; true pairs {01, 02, 12, 34}; shared {01}
    scores = pairwise_precision_recall(labels, identities)
    assert scores == {"precision": 0.5, "recall": 0.25}
    # ARI = (1 - 2 * 4 / 10) / ((2 + 4) / 2 - 2 * 4 / 10) = 0.2 / 2.2 (outlier = singleton)
    assert adjusted_rand_index(labels, identities) == pytest.approx(1 / 11)
    quality = pseudo_label_quality(labels, identities)
    assert quality["num_clusters"] == 2 and quality["num_outliers"] == 1
    assert quality["f1"] == pytest.approx(2 * 0.5 * 0.25 / 0.75)


def test_multi_label_quality_on_a_hand_computed_example():
    identities = np.array([0, 0, 0, 1, -1])
    rows = np.array([0, 3, 4])
    positive = np.array([[1, 1, 0, 1, 0],   # image 0: itself, 1 (right), 3 (wrong)
                         [0, 0, 0, 1, 0],   # image 3: itself only; no other image is id 1
                         [0, 0, 0, 0, 1]], dtype=bool)  # an outlier: itself only
    # predicted pairs (0,1), (0,3); actual (0,1), (0,2); the image itself never counts
    assert multi_label_precision_recall(positive, rows, identities) == {"precision": 0.5,
                                                                        "recall": 0.5}
    alone = np.eye(5, dtype=bool)[rows]
    assert multi_label_precision_recall(alone, rows, identities) == {"precision": 1.0,
                                                                     "recall": 0.0}


def test_quality_of_a_perfect_and_of_an_all_outlier_labelling():
    identities = np.array([3, 3, 5, 5, 5])
    assert pseudo_label_quality(np.array([1, 1, 0, 0, 0]), identities)["ari"] == pytest.approx(1.0)
    nothing = pairwise_precision_recall(np.full(5, -1), identities)
    assert nothing == {"precision": 1.0, "recall": 0.0}
