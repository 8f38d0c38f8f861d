"""The synthetic re-ID world: determinism, fastreid's own loaders, card, walks, look, domain gap."""
import hashlib
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import fastreid_rae  # noqa: F401  (before fastreid)
from fastreid.data.datasets import MSMT17, DukeMTMC, Market1501
from fastreid_rae.data.synthetic import (generate_world, get_domain_style, get_preset, layout_for,
                                         load_world_card, plan_dataset, read_manifest)
from fastreid_rae.data.synthetic import world as world_module
from fastreid_rae.data.synthetic.identities import sample_appearance
from fastreid_rae.data.synthetic.render import Pose, draw_person
from fastreid_rae.data.synthetic.seeding import Purpose, rng_for
from fastreid_rae.data.synthetic.shapes import Canvas

from .tool_loading import load_tool

LOADERS = {"market": Market1501, "duke": DukeMTMC, "msmt": MSMT17}


def _hashes(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _rows(root, domain, **equal):
    return [r for r in read_manifest(root)
            if r["dataset"] == domain and all(r[k] == v for k, v in equal.items())]


def _raw_pid(pid):
    """fastreid prefixes train pids with the dataset name ('market1501_12'); undo that."""
    return int(str(pid).rsplit("_", 1)[-1])


# -- determinism ----------------------------------------------------------------------------------
def test_same_seed_gives_byte_identical_files_whatever_the_worker_count(tiny_world, tmp_path):
    card = load_world_card(tiny_world)
    again = tmp_path / "again"
    # Domains in another order than the fixture's, and rendered by two worker processes.
    generate_world(again, preset=card["preset"], seed=card["seed"], domains=sorted(card["domains"])[::-1],
                   workers=2, progress=False)
    first, second = _hashes(tiny_world), _hashes(again)
    assert len(first) > 400
    assert first == second


def test_a_domain_does_not_depend_on_which_others_are_generated(tiny_world, tmp_path):
    generate_world(tmp_path / "duke_only", preset="tiny", seed=0, domains=("duke",), progress=False)
    assert _hashes(tmp_path / "duke_only" / "DukeMTMC-reID") == _hashes(tiny_world / "DukeMTMC-reID")


def test_a_different_seed_gives_different_pictures(tiny_world, tmp_path):
    generate_world(tmp_path / "seed1", preset="tiny", seed=1, domains=("market",), progress=False)
    before = set(_hashes(tiny_world / "Market-1501-v15.09.15").values())
    after = set(_hashes(tmp_path / "seed1" / "Market-1501-v15.09.15").values())
    assert len(before & after) == 0


# -- fastreid's loaders read the world unchanged ----------------------------------------------------
def test_fastreid_market1501_reads_train_query_gallery_junk_and_distractors(tiny_world):
    counts = load_world_card(tiny_world)["domains"]["market"]["counts"]
    data = Market1501(root=str(tiny_world))
    assert len(data.train) == counts["train"]["images"]
    assert data.get_num_pids(data.train) == counts["train"]["ids"]
    assert data.get_num_cams(data.train) == counts["train"]["cameras"] == 6
    assert len(data.query) == counts["query"]["images"]
    assert data.get_num_pids(data.query) == counts["query"]["ids"]
    gallery_dir = tiny_world / "Market-1501-v15.09.15" / "bounding_box_test"
    junk = list(gallery_dir.glob("-1_c*.jpg"))
    distractors = list(gallery_dir.glob("0000_c*.jpg"))
    assert len(junk) == counts["gallery"]["junk_images"] > 0
    assert len(distractors) == counts["gallery"]["distractor_images"] > 0
    # fastreid drops pid -1 and keeps pid 0 as one more (junk) identity of the gallery.
    assert len(data.gallery) == counts["gallery"]["images"] - len(junk)
    assert data.get_num_pids(data.gallery) == counts["gallery"]["ids"] + 1
    assert sum(pid == 0 for _, pid, _ in data.gallery) == len(distractors)


def test_fastreid_dukemtmc_reads_the_world_with_single_camera_distractor_people(tiny_world):
    info = load_world_card(tiny_world)["domains"]["duke"]
    counts = info["counts"]
    data = DukeMTMC(root=str(tiny_world))
    assert (len(data.train), data.get_num_pids(data.train)) == (counts["train"]["images"], counts["train"]["ids"])
    assert data.get_num_cams(data.train) == counts["train"]["cameras"] <= 8
    assert (len(data.query), len(data.gallery)) == (counts["query"]["images"], counts["gallery"]["images"])
    query_ids = {pid for _, pid, _ in data.query}
    gallery_cams = defaultdict(set)
    for _, pid, cam in data.gallery:
        gallery_cams[pid].add(cam)
    distractor_people = set(gallery_cams) - query_ids
    assert len(distractor_people) == info["identities"]["distractor"] > 0
    assert all(len(gallery_cams[pid]) == 1 for pid in distractor_people)


def test_fastreid_msmt17_reads_lists_folders_and_validation_split(tiny_world):
    counts = load_world_card(tiny_world)["domains"]["msmt"]["counts"]
    data = MSMT17(root=str(tiny_world))
    assert (len(data.train), data.get_num_pids(data.train)) == (counts["train"]["images"], counts["train"]["ids"])
    assert data.get_num_cams(data.train) == counts["train"]["cameras"] <= 15
    assert (len(data.query), len(data.gallery)) == (counts["query"]["images"], counts["gallery"]["images"])
    assert all(Path(path).is_file() for path, _, _ in data.train + data.query + data.gallery)
    val_lines = (tiny_world / "MSMT17_V1" / "list_val.txt").read_text().splitlines()
    assert len(val_lines) == counts["val"]["images"] > 0
    train_names = {Path(p).name for p, _, _ in data.train}
    assert not train_names & {Path(line.split(" ")[0]).name for line in val_lines}
    # Test pids restart at 0 in the lists; fastreid shifts them past the train pids.
    assert min(pid for _, pid, _ in data.query) == data.get_num_pids(data.train)


@pytest.mark.parametrize("domain", ["market", "duke", "msmt"])
def test_test_ids_are_unseen_in_train_and_every_query_has_a_cross_camera_match(tiny_world, domain):
    data = LOADERS[domain](root=str(tiny_world))
    if domain == "msmt":   # numbered separately: compare the people behind the labels instead
        train = {int(r["world_id"]) for r in _rows(tiny_world, domain, split="train")}
        test = {int(r["world_id"]) for r in _rows(tiny_world, domain, split="query")}
    else:
        train = {_raw_pid(pid) for _, pid, _ in data.train}
        test = {pid for _, pid, _ in data.query}
    assert train and test and not train & test
    gallery = {(pid, cam) for _, pid, cam in data.gallery}
    for _, pid, cam in data.query:
        assert any(p == pid and c != cam for p, c in gallery), f"{domain} query pid {pid} cam {cam}"


REAL_SIZES = {   # train ids, train images, queries, gallery images of the real datasets
    "market": (751, 12936, 3368, 15913),
    "duke": (702, 16522, 2228, 17661),
    "msmt": (1041, 32621, 11659, 82161),   # train images = list_train + list_val
}


@pytest.mark.parametrize("domain", ["market", "duke", "msmt"])
def test_full_preset_plans_real_dataset_sizes_with_unique_names(domain):
    """Planned (not drawn): the `full` preset is as big as the real dataset, names never clash."""
    plan, layout = plan_dataset(domain, "full", 0)
    paths = [im.path for im in plan.images]
    assert len(set(paths)) == len(paths)
    by_split = defaultdict(list)
    for im in plan.images:
        by_split["train" if im.split == "val" else im.split].append(im)
    train_ids, train_images, queries, gallery = REAL_SIZES[domain]
    assert len({im.world_id for im in by_split["train"]}) == train_ids
    for ours, real in ((len(by_split["train"]), train_images), (len(by_split["query"]), queries),
                       (len(by_split["gallery"]), gallery)):
        assert abs(ours - real) < 0.15 * real
    if domain == "market":   # fastreid's Market1501 asserts these on every name
        assert all(0 <= im.pid <= 1501 and 1 <= im.camera <= 6 for im in plan.images)


# -- the card -------------------------------------------------------------------------------------
def test_card_records_what_was_written(tiny_world):
    card = load_world_card(tiny_world)
    assert (card["preset"], card["seed"], card["generator_version"]) == ("tiny", 0, world_module.GENERATOR_VERSION)
    assert set(card["domains"]) == {"market", "duke", "msmt"}
    manifest = read_manifest(tiny_world)
    for domain, info in card["domains"].items():
        size = get_preset("tiny").size_of(domain)
        assert info["identities"] == {"train": size.train_ids, "test": size.test_ids,
                                      "distractor": size.distractor_ids}
        assert info["counts"]["train"]["ids"] == size.train_ids
        assert info["counts"]["query"]["ids"] == size.test_ids
        assert len(info["cameras"]) == get_domain_style(domain).network.num_cameras
        dataset = tiny_world / info["layout"]["dataset_dir"]
        rows = [r for r in manifest if r["dataset"] == domain]
        for split, counts in info["counts"].items():
            listed = [r for r in rows if r["split"] == split]
            assert len(listed) == counts["images"]
            assert all((tiny_world / r["path"]).is_file() for r in listed)
        on_disk = sorted(str(p.relative_to(tiny_world)) for p in dataset.rglob("*.jpg"))
        assert on_disk == sorted(r["path"] for r in rows)
    msmt_lists = {s: len((tiny_world / "MSMT17_V1" / f"list_{s}.txt").read_text().splitlines())
                  for s in ("train", "val", "query", "gallery")}
    assert msmt_lists == {s: c["images"] for s, c in card["domains"]["msmt"]["counts"].items()}


# -- time: frames follow the walks and carry a camera-temporal signal --------------------------------
def _sightings(root, domain):
    """world_id -> [(shot, visit, camera, tick parsed from the file name)] in walk order."""
    layout = layout_for(get_domain_style(domain))
    walks = defaultdict(list)
    for r in _rows(root, domain, kind="person"):
        parsed = layout.parse(r["path"])
        assert parsed.camera == int(r["camera"])
        walks[int(r["world_id"])].append((int(r["shot"]), int(r["visit"]), parsed.camera, parsed.tick))
    return {wid: sorted(s) for wid, s in walks.items()}, layout.fps


@pytest.mark.parametrize("domain", ["market", "duke", "msmt"])
def test_frames_in_file_names_increase_along_each_walk(tiny_world, domain):
    walks, _ = _sightings(tiny_world, domain)
    assert len(walks) >= 20
    for wid, walk in walks.items():
        ticks = [tick for _, _, _, tick in walk]
        visits = [visit for _, visit, _, _ in walk]
        assert all(a < b for a, b in zip(ticks, ticks[1:])), f"{domain} person {wid}: {ticks}"
        assert visits == sorted(visits)
        for (_, v1, c1, _), (_, v2, c2, _) in zip(walk, walk[1:]):
            assert (v1 == v2) == (c1 == c2)   # a visit is one camera; a walk moves on each time


@pytest.mark.parametrize("domain", ["market", "duke", "msmt"])
def test_same_person_reaches_the_next_camera_much_sooner_than_strangers_meet(tiny_world, domain):
    walks, fps = _sightings(tiny_world, domain)
    transits = []
    for walk in walks.values():
        first_of_visit = {}
        for _, visit, _, tick in walk:
            first_of_visit.setdefault(visit, tick)
        order = sorted(first_of_visit)
        transits += [(first_of_visit[b] - first_of_visit[a]) / fps for a, b in zip(order, order[1:])]
    people = [(wid, tick / fps) for wid, walk in walks.items() for _, _, _, tick in walk]
    rng = np.random.default_rng(0)
    pairs = rng.integers(0, len(people), (4000, 2))
    strangers = [abs(people[i][1] - people[j][1]) for i, j in pairs if people[i][0] != people[j][0]]
    assert np.median(transits) < 0.25 * np.median(strangers)
    assert np.min(transits) > 0


# -- how people look ------------------------------------------------------------------------------
def _colour_histogram(path: Path) -> np.ndarray:
    """A 4x4x4 RGB histogram of the crop's centre, where the person is."""
    pixels = np.asarray(Image.open(path).convert("RGB").resize((32, 64)), np.float32) / 255.0
    centre = pixels[8:56, 8:24].reshape(-1, 3)
    bins = np.minimum((centre * 4).astype(int), 3)
    counts = np.bincount(bins[:, 0] * 16 + bins[:, 1] * 4 + bins[:, 2], minlength=64)
    return counts / counts.sum()


@pytest.mark.parametrize("domain", ["market", "duke", "msmt"])
def test_a_person_resembles_themself_more_than_others_but_not_trivially(tiny_world, domain):
    rows = _rows(tiny_world, domain, split="train")
    features = np.stack([_colour_histogram(tiny_world / r["path"]) for r in rows])
    ids = np.array([int(r["world_id"]) for r in rows])
    cams = np.array([int(r["camera"]) for r in rows])
    dist = np.abs(features[:, None] - features[None]).sum(-1)
    same = ids[:, None] == ids[None]
    np.fill_diagonal(dist, np.inf)
    assert dist[same & np.isfinite(dist)].mean() < 0.85 * dist[~same].mean()
    chance = 1.0 / len(set(ids))
    rank1 = (ids[dist.argmin(1)] == ids).mean()
    assert rank1 > 3 * chance
    # Across cameras (other light, viewpoint, background) colour statistics are far from enough:
    # a model has something to learn.
    dist[cams[:, None] == cams[None]] = np.inf
    cross_camera_rank1 = (ids[dist.argmin(1)] == ids).mean()
    assert cross_camera_rank1 < 0.9


def test_crops_have_the_sizes_of_the_real_datasets(tiny_world):
    def sizes(domain):
        return {Image.open(tiny_world / r["path"]).size for r in _rows(tiny_world, domain)}

    assert sizes("market") == {(64, 128)}            # (width, height), as Market's crops
    for domain in ("duke", "msmt"):
        found = sizes(domain)
        low, high = get_domain_style(domain).photo.height_range
        assert len({h for _, h in found}) > 5        # detector boxes of many sizes
        assert all(low <= h <= high and 0.3 < w / h < 0.5 for w, h in found)


def test_market_and_duke_differ_measurably_in_colour_statistics(tiny_world):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    features, labels, brightness = [], [], {}
    for label, domain in enumerate(("market", "duke")):
        paths = [tiny_world / r["path"] for r in _rows(tiny_world, domain, split="train")]
        pixels = [np.asarray(Image.open(p).convert("RGB"), np.float32) / 255.0 for p in paths]
        brightness[domain] = np.mean([p.mean() for p in pixels])
        for p in pixels:
            flat = p.reshape(-1, 3)
            hist = [np.histogram(flat[:, c], bins=8, range=(0, 1))[0] / len(flat) for c in range(3)]
            features.append(np.concatenate(hist))
            labels.append(label)
    accuracy = cross_val_score(LogisticRegression(max_iter=2000), np.array(features), np.array(labels), cv=5)
    assert accuracy.mean() > 0.9
    assert brightness["market"] - brightness["duke"] > 0.1   # summer daylight vs winter dusk


def test_viewpoint_decides_what_is_visible():
    """A backpack is a big block from the back, thin straps from the front."""
    style = get_domain_style("market")
    look = sample_appearance(style.clothing, rng_for(0, "market", Purpose.PREVIEW, 0))
    look = replace(look, backpack=(0.0, 1.0, 0.0), handbag=None, hat=None,
                   upper=replace(look.upper, colour=(1.0, 0.0, 0.0), accent=(1.0, 0.0, 0.0)))

    def green_pixels(view):
        canvas = Canvas(np.zeros((128, 64, 3), np.float32))
        draw_person(canvas, look, Pose(view, 0.3, -0.3, 0.9, 0.5, 0.95))
        px = canvas.pixels
        return int(((px[..., 1] > 0.5) & (px[..., 0] < 0.3)).sum())

    front, back, side = green_pixels("front"), green_pixels("back"), green_pixels("left")
    assert back > 5 * max(front, 1)
    assert back > side > front


# -- the folder: refusals and interrupted runs -----------------------------------------------------
def test_unknown_names_are_refused_with_the_valid_ones(tmp_path):
    with pytest.raises(ValueError, match="tiny, small, full"):
        generate_world(tmp_path / "w", preset="huge")
    with pytest.raises(ValueError, match="market, duke, msmt"):
        generate_world(tmp_path / "w", preset="tiny", domains=("viper",))


def test_a_foreign_folder_is_refused_unless_overwrite(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="--overwrite"):
        generate_world(tmp_path, preset="tiny", domains=("market",), progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    generate_world(tmp_path, preset="tiny", domains=("market",), overwrite=True, progress=False)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert load_world_card(tmp_path)["domains"].keys() == {"market"}


def test_an_interrupted_run_leaves_no_world_that_looks_complete(tmp_path, monkeypatch):
    calls = []
    real_render = world_module._render_batch

    def failing_render(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_render(*args)

    monkeypatch.setattr(world_module, "_render_batch", failing_render)
    root = tmp_path / "w"
    with pytest.raises(KeyboardInterrupt):
        generate_world(root, preset="tiny", domains=("market",), progress=False)
    names = sorted(p.name for p in root.iterdir())
    assert names == [".partial-Market-1501-v15.09.15"]
    with pytest.raises(FileNotFoundError, match="not a"):
        load_world_card(root)
    monkeypatch.setattr(world_module, "_render_batch", real_render)
    generate_world(root, preset="tiny", domains=("market",), progress=False)   # leftovers are ours
    assert sorted(p.name for p in root.iterdir()) == ["Market-1501-v15.09.15", "world_card.json",
                                                       "world_manifest.csv"]


def test_make_synthetic_cli_writes_a_world_and_preview_sheets(tmp_path, capsys):
    tool = load_tool("make_synthetic.py")
    root, previews = tmp_path / "world", tmp_path / "previews"
    assert tool.main(["--preset", "tiny", "--root", str(root), "--domains", "duke", "--seed", "3",
                      "--no-progress", "--preview-dir", str(previews)]) == 0
    assert load_world_card(root)["seed"] == 3
    assert sorted(p.name for p in previews.iterdir()) == ["synthetic_duke.png", "synthetic_viewpoints.png"]
    assert Image.open(previews / "synthetic_duke.png").size[0] > 300
    assert tool.main(["--preset", "tiny", "--root", str(previews), "--no-progress"]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_make_synthetic_refuses_an_unlabelled_copy_it_cannot_write_before_generating(tmp_path, capsys):
    tool = load_tool("make_synthetic.py")
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "someone_elses.jpg").write_bytes(b"x")
    root = tmp_path / "world"
    assert tool.main(["--preset", "tiny", "--root", str(root), "--no-progress", "--unlabelled-copy", str(taken)]) == 2
    assert f"--unlabelled-copy '{taken}' is not empty or not a folder" in capsys.readouterr().err
    assert tool.main(["--preset", "tiny", "--root", str(root), "--no-progress",
                      "--unlabelled-copy", str(taken / "someone_elses.jpg")]) == 2
    assert "is not empty or not a folder" in capsys.readouterr().err
    assert tool.main(["--preset", "tiny", "--root", str(root), "--no-progress", "--domains", "duke",
                      "--unlabelled-copy", str(tmp_path / "new")]) == 2
    assert "expected market in --domains" in capsys.readouterr().err
    assert not root.exists() and not (tmp_path / "new").exists()  # refused before anything was written
    assert [p.name for p in taken.iterdir()] == ["someone_elses.jpg"]
