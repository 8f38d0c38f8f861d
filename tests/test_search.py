"""fastreid_rae.deploy's index and search, and tools/search.py: an index answers as an exact
search over the model's own features would, round-trips through its files, and refuses a
model, an index or an image it cannot serve with an error naming it."""
import dataclasses
import json

import numpy as np
import pytest
import torch
from PIL import Image

import fastreid_rae  # noqa: F401
from fastreid.utils.compute_dist import build_dist
from fastreid_rae.deploy import DeployError, FeatureIndex, ModelSignature, list_images
from fastreid_rae.deploy.index import INDEX_FILE, MANIFEST_FILE
from fastreid_rae.visualization.ranklist import ranklist_layout

from .tool_loading import load_tool
from .deploy_run import make_run, write_images

SIGNATURE = ModelSignature("ab" * 32, "fusion", 8, (32, 16))


@pytest.fixture(scope="module")
def search_tool():
    """tools/search.py's ``main(argv)``, run in this process (no interpreter start-up)."""
    return load_tool("search.py").main


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="module")
def gallery(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cameras")
    write_images(folder / "camera_1", 7, seed=1)
    write_images(folder / "camera_2", 7, seed=2)
    return folder


@pytest.fixture(scope="module")
def built_index(run, gallery, search_tool, tmp_path_factory, single_thread):
    output = tmp_path_factory.mktemp("index") / "cameras.index"
    search_tool(["index", "--run-dir", str(run), "--images", str(gallery), "--output", str(output),
                 "--batch-size", "5"])  # batches of 5, 5, 4: the last one short
    return output


def _random_index(metric, count=50, dim=8, seed=0):
    features = np.random.default_rng(seed).normal(size=(count, dim)).astype(np.float32)
    images = [f"/cameras/{i}.jpg" for i in range(count)]
    return features, FeatureIndex.build(features, images, metric, SIGNATURE, "MODEL: {}\n", "/w.pth")


# ---- the index alone (no model) ----------------------------------------------------------

@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_index_ranks_as_fastreids_distance_and_survives_its_files(metric, tmp_path):
    features, index = _random_index(metric)
    queries = np.random.default_rng(1).normal(size=(4, 8)).astype(np.float32)
    expected = np.argsort(build_dist(torch.from_numpy(queries), torch.from_numpy(features), metric),
                          axis=1, kind="stable")[:, :10]
    loaded = FeatureIndex.load(index.save(str(tmp_path / "saved")))
    for answer in (index, loaded):
        hits = answer.search(queries, top_k=10)
        assert [[int(hit.image.split("/")[-1][:-4]) for hit in row] for row in hits] == expected.tolist()
        assert [hit.rank for hit in hits[0]] == list(range(1, 11))
        scores = np.array([[hit.score for hit in row] for row in hits])
        # nearest first: similarities fall, distances rise
        assert (np.diff(scores, axis=1) <= 1e-6).all() if metric == "cosine" else (np.diff(scores, axis=1) >= -1e-6).all()
    assert loaded.signature == SIGNATURE and loaded.weights == "/w.pth" and loaded.metric == metric


def test_an_indexed_feature_finds_itself_first_with_similarity_one():
    features, index = _random_index("cosine")
    hit = index.search(features[17:18] * 3.0, top_k=1)[0][0]  # cosine: the scale does not matter
    assert hit.image == "/cameras/17.jpg" and hit.score == pytest.approx(1.0, abs=1e-5)


def test_top_k_beyond_the_index_returns_every_image():
    _, index = _random_index("cosine", count=3)
    assert len(index.search(np.ones((1, 8), np.float32), top_k=10)[0]) == 3


@pytest.mark.parametrize("change, message", [
    ({"weights_sha256": "cd" * 32}, "built by another model: its weights have sha256 ababababab"),
    ({"feature": "encoder"}, "holds 'fusion' features, the query model gives 'encoder'"),
    ({"dim": 512}, "holds 8-d features, the query model gives 512-d"),
    ({"input_size": (64, 32)}, r"INPUT.SIZE_TEST \[32, 16\], the query model reads \[64, 32\]"),
])
def test_an_index_refuses_a_model_it_was_not_built_by(change, message):
    _, index = _random_index("cosine")
    index.check_serves(SIGNATURE)  # its own model passes
    other = dataclasses.replace(SIGNATURE, **change)
    with pytest.raises(DeployError, match=message):
        index.check_serves(other)


def test_a_metric_faiss_cannot_serve_is_refused():
    with pytest.raises(DeployError, match="TEST.METRIC 'jaccard'"):
        _random_index("jaccard")


def _break(folder, name, content):
    path = folder / name
    if content is None:
        path.unlink()
    elif callable(content):
        path.write_text(content(path.read_text()))
    else:
        path.write_bytes(content)


@pytest.mark.parametrize("name, content, message", [
    (MANIFEST_FILE, None, "is incomplete: '.*manifest.json' is missing"),
    (INDEX_FILE, None, "is incomplete: '.*index.faiss' is missing"),
    (MANIFEST_FILE, b'{"format": 1, "metric": "cos', "manifest.json' is corrupt"),
    (MANIFEST_FILE, lambda text: text.replace('"weights":', '"weights_":'), "manifest.json' is corrupt .*KeyError"),
    (MANIFEST_FILE, lambda text: text.replace('"format": 1', '"format": 7'), "has format 7; this version reads format 1"),
    (INDEX_FILE, b"not a faiss index", "index.faiss' is corrupt"),
    (MANIFEST_FILE, lambda text: text.replace('"/cameras/49.jpg"', '"/cameras/49.jpg", "/extra.jpg"'),
     "holds 50 features of 8 dimensions, manifest.json 51 images"),
])
def test_a_missing_or_corrupt_index_is_refused_naming_the_file(tmp_path, name, content, message):
    folder = tmp_path / "saved"
    _random_index("cosine")[1].save(str(folder))
    _break(folder, name, content)
    with pytest.raises(DeployError, match=message):
        FeatureIndex.load(str(folder))
    with pytest.raises(DeployError, match="not found"):
        FeatureIndex.load(str(tmp_path / "nowhere"))


def test_image_folders_are_listed_recursively_in_a_fixed_order_and_empty_ones_refused(tmp_path):
    for name in ("b/2.JPG", "a/1.png", "a/notes.txt", "3.jpeg"):
        (tmp_path / "cams" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "cams" / name).write_bytes(b"")
    assert [p[len(str(tmp_path / "cams")) + 1:] for p in list_images(str(tmp_path / "cams"))] == \
        ["3.jpeg", "a/1.png", "b/2.JPG"]
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(DeployError, match="'.*empty' holds no images"):
        list_images(str(tmp_path / "empty"))
    with pytest.raises(DeployError, match="not found"):
        list_images(str(tmp_path / "missing"))


# ---- tools/search.py with a model ---------------------------------------------------------

def test_the_index_holds_every_gallery_image_with_the_models_signature(built_index, gallery, run):
    index = FeatureIndex.load(str(built_index))
    assert index.images == list_images(str(gallery)) and len(index) == 14
    # the CPU config's Algorithm 2 feature: the fusion's RAE.FUSION.OUT_DIM, not Enc's 512
    assert (index.signature.feature, index.signature.dim, index.signature.input_size) == ("fusion", 128, (32, 16))
    assert index.weights == str(run / "model_final.pth")
    assert "TEST_FEATURE: final" in (built_index / "config.yaml").read_text()


def test_query_prints_json_and_draws_each_querys_nearest_images(built_index, gallery, search_tool, tmp_path,
                                                                  capsys, single_thread):
    queries = list_images(str(gallery))[3:5]
    picture = tmp_path / "ranks.png"
    search_tool(["query", "--index", str(built_index), *queries, "--top-k", "4", "--json", "--output", str(picture)])
    answer = json.loads(capsys.readouterr().out)
    assert answer["feature"] == "fusion" and answer["metric"] == "cosine" and answer["picture"] == str(picture)
    assert [entry["image"] for entry in answer["queries"]] == queries
    for query, entry in zip(queries, answer["queries"]):
        assert [hit["rank"] for hit in entry["hits"]] == [1, 2, 3, 4]
        assert entry["hits"][0]["image"] == query  # an indexed image is its own nearest
        assert entry["hits"][0]["score"] == pytest.approx(1.0, abs=1e-4)
    with Image.open(picture) as image:
        assert image.size == (ranklist_layout(2, 4, 1).width, ranklist_layout(2, 4, 1).height)


def test_query_prints_one_line_per_hit(built_index, gallery, search_tool, capsys, single_thread):
    query = list_images(str(gallery))[0]
    search_tool(["query", "--index", str(built_index), query, "--top-k", "3"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == query and len(lines) == 4
    assert lines[1].split()[0] == "1" and lines[1].split()[2] == query


def test_query_refuses_another_models_weights_and_another_feature(built_index, run, gallery, search_tool,
                                                                   tmp_path, single_thread):
    query = list_images(str(gallery))[0]
    other = make_run(tmp_path / "other_run", seed=1)
    with pytest.raises(DeployError, match="built by another model"):
        search_tool(["query", "--index", str(built_index), query, "--run-dir", str(other)])
    with pytest.raises(DeployError, match="holds 'fusion' features, the query model gives 'encoder'"):
        search_tool(["query", "--index", str(built_index), query, "--opts", "RAE.TEST_FEATURE", "encoder"])


def test_unreadable_queries_and_empty_image_folders_are_refused_naming_them(built_index, run, search_tool,
                                                                          tmp_path, single_thread):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(DeployError, match="cannot read image '.*broken.jpg'"):
        search_tool(["query", "--index", str(built_index), str(broken)])
    with pytest.raises(DeployError, match="cannot read image '.*missing.jpg'"):
        search_tool(["query", "--index", str(built_index), str(tmp_path / "missing.jpg")])
    (tmp_path / "no_images").mkdir()
    with pytest.raises(DeployError, match="holds no images"):
        search_tool(["index", "--run-dir", str(run), "--images", str(tmp_path / "no_images"),
                     "--output", str(tmp_path / "x.index")])


def test_the_cli_needs_a_model_to_index_and_a_positive_top_k(search_tool, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        search_tool(["index", "--images", str(tmp_path), "--output", str(tmp_path / "x.index")])
    assert exit_.value.code == 2 and "index needs a model" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        search_tool(["query", "--index", str(tmp_path), "q.jpg", "--top-k", "0"])
    assert exit_.value.code == 2 and "argument --top-k" in capsys.readouterr().err
