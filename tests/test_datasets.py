"""Dataset loaders on real file names: fastreid's Market1501 / DukeMTMC / MSMT17 on the original
samples laid out in their original folders, our CUHK03Pair1 / CUHK01 on the real crops, and the
one clear error for every missing or malformed layout.

Expectations are computed here from the file names with plain string slicing, never with the
package's own parser. Real images are symlinked into temp dirs, never copied into the repo.
"""
import os
from collections import defaultdict
from pathlib import Path

import pytest

from fastreid_rae.data.datasets import (
    CUHK01, CUHK03Pair1, DatasetLayoutError, build_dataset, parse_image_name, resolve_root,
    unlabelled_target_images,
)
from fastreid.data.common import CommDataset
from fastreid.data.datasets import DATASET_REGISTRY


# ----------------------------------------------------------------------------------------
# Helpers: lay real samples out in the original folder structures
# ----------------------------------------------------------------------------------------

def distribute(names, pid_of, singleton_splits, distractor_pids=()):
    """Deterministic split of samples: a person seen twice or more gives one query and the rest
    gallery (a findable query); distractors go to the gallery, as in the original release; the
    remaining one-image people cycle through ``singleton_splits`` so that no split is empty."""
    by_pid = defaultdict(list)
    for name in sorted(names):
        by_pid[pid_of(name)].append(name)
    splits, singletons = defaultdict(list), []
    for pid, group in sorted(by_pid.items()):
        if pid in distractor_pids:
            splits["gallery"] += group
        elif len(group) > 1:
            splits["query"].append(group[0])
            splits["gallery"] += group[1:]
        else:
            singletons.append(group[0])
    for index, name in enumerate(singletons):
        splits[singleton_splits[index % len(singleton_splits)]].append(name)
    return splits


def link(source: Path, target: Path):
    target.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(source, target)


def touch(folder: Path, *names):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).touch()


def image_files(folder: Path):
    return sorted(name for name in os.listdir(folder) if not name.startswith("."))


MARKET_FOLDERS = {"train": "bounding_box_train", "query": "query", "gallery": "bounding_box_test"}


def market_pid(name):  # PPPP_cCsS_FFFFFF_BB.jpg
    return name.split("_")[0]


def market_camera(name):
    return int(name.split("_")[1][1])


def duke_pid(name):  # PPPP_cC_fFFFFFFF.jpg
    return name.split("_")[0]


def duke_camera(name):
    return int(name.split("_")[1][1:])


def msmt_pid(name):  # PPPP_SSS_CC_DATEtime_FFFF_N[_ex].jpg
    return name.split("_")[0]


def msmt_camera(name):
    return int(name.split("_")[2])


def expected_items(dataset_name, folder, names, pid_of, camera_of, is_train, pid_offset=0):
    """fastreid's conventions: 0-based cameras; train ids and cameras prefixed by the dataset
    name; Market's -1 (junk) images dropped; 0000 (distractor) kept as id 0."""
    items = []
    for name in names:
        pid, camid = int(pid_of(name)), camera_of(name) - 1
        if pid == -1:
            continue
        path = os.path.join(folder, name)
        if is_train:
            items.append((path, f"{dataset_name}_{pid}", f"{dataset_name}_{camid}"))
        else:
            items.append((path, pid + pid_offset, camid))
    return sorted(items)


# ----------------------------------------------------------------------------------------
# fastreid's own loaders on the original names
# ----------------------------------------------------------------------------------------

def lay_out_market(samples: Path, root: Path, renamed_into_gallery=None):
    """Market-1501-v15.09.15/{bounding_box_train,query,bounding_box_test}; optionally extra
    gallery links ``{new_name: sample_name}``."""
    splits = distribute(image_files(samples), market_pid, ("train", "query", "gallery"),
                        distractor_pids={"0000"})
    base = root / "Market-1501-v15.09.15"
    for split, names in splits.items():
        for name in names:
            link(samples / name, base / MARKET_FOLDERS[split] / name)
    for new_name, sample_name in (renamed_into_gallery or {}).items():
        link(samples / sample_name, base / "bounding_box_test" / new_name)
    return base, splits


def test_market1501_reads_original_names(shared_data, tmp_path):
    samples = shared_data / "reid_samples" / "market1501"
    base, splits = lay_out_market(samples, tmp_path)
    assert "0000_c3s1_107067_00.jpg" in splits["gallery"]  # the real distractor sample
    assert len(splits["query"]) >= 2 and len(splits["train"]) > 10

    dataset = build_dataset("Market1501", str(tmp_path))

    for split in ("train", "query", "gallery"):
        folder = str(base / MARKET_FOLDERS[split])
        expected = expected_items("market1501", folder, splits[split], market_pid,
                                  market_camera, is_train=split == "train")
        assert sorted(getattr(dataset, split)) == expected
    all_items = dataset.train + dataset.query + dataset.gallery
    assert {str(camid).split("_")[-1] for _, _, camid in all_items} == \
        {str(market_camera(name) - 1) for name in image_files(samples)}  # all 6 cameras
    assert 0 in {pid for _, pid, _ in dataset.gallery}  # distractor kept in the gallery


def test_market1501_drops_junk_and_distractors_where_fastreid_should(shared_data, tmp_path):
    # The real samples hold no junk (-1) image, so one real crop is linked under a junk name.
    samples = shared_data / "reid_samples" / "market1501"
    junk_name = "-1_c3s1_107067_00.jpg"
    base, _ = lay_out_market(samples, tmp_path,
                             renamed_into_gallery={junk_name: "0000_c3s1_107067_00.jpg"})
    assert (base / "bounding_box_test" / junk_name).exists()

    dataset = build_dataset("Market1501", str(tmp_path))
    assert all(os.path.basename(path) != junk_name for path, _, _ in dataset.gallery)
    assert all(pid != -1 for _, pid, _ in dataset.gallery)

    # Training on train + test (combineall) must leave out both junk and distractors.
    combined = build_dataset("Market1501", str(tmp_path), combineall=True)
    combined_names = {os.path.basename(path) for path, _, _ in combined.train}
    assert "0000_c3s1_107067_00.jpg" not in combined_names
    assert junk_name not in combined_names
    assert len(combined.train) == len(dataset.train) + len(dataset.query) + len(dataset.gallery) - 1


def test_dukemtmc_reads_original_names(shared_data, tmp_path):
    samples = shared_data / "reid_samples" / "dukemtmc"
    names = image_files(samples)
    splits = distribute(names, duke_pid, ("train", "query", "gallery"))
    base = tmp_path / "DukeMTMC-reID"
    for split, split_names in splits.items():
        for name in split_names:
            link(samples / name, base / MARKET_FOLDERS[split] / name)

    dataset = build_dataset("DukeMTMC", str(tmp_path))

    for split in ("train", "query", "gallery"):
        assert splits[split], split
        expected = expected_items("dukemtmc", str(base / MARKET_FOLDERS[split]), splits[split],
                                  duke_pid, duke_camera, is_train=split == "train")
        assert sorted(getattr(dataset, split)) == expected
    all_items = dataset.train + dataset.query + dataset.gallery
    assert {str(camid).split("_")[-1] for _, _, camid in all_items} == \
        {str(duke_camera(name) - 1) for name in names}  # 7 of Duke's 8 cameras (no c3 sample)
    assert len(dataset.train) + len(dataset.query) + len(dataset.gallery) == len(names)


def test_msmt17_reads_original_names_through_list_files(shared_data, tmp_path):
    samples = shared_data / "reid_samples" / "msmt17"
    names = image_files(samples)
    assert any(name.endswith("_ex.jpg") for name in names)  # the real lists carry these too
    splits = distribute(names, msmt_pid, ("train", "val", "query", "gallery"))
    base = tmp_path / "MSMT17_V1"
    folder_of = {"train": "train", "val": "train", "query": "test", "gallery": "test"}
    for split, split_names in splits.items():
        lines = []
        for name in split_names:
            relative = f"{msmt_pid(name)}/{name}"  # MSMT17_V1 keeps one folder per identity
            link(samples / name, base / folder_of[split] / relative)
            lines.append(f"{relative} {int(msmt_pid(name))}\n")
        (base / f"list_{split}.txt").write_text("".join(lines))

    dataset = build_dataset("MSMT17", str(tmp_path))

    def expected(split, is_train, pid_offset=0):
        return expected_items(
            "msmt17", str(base / folder_of[split]),
            [f"{msmt_pid(name)}/{name}" for name in splits[split]],
            lambda relative: msmt_pid(relative.split("/")[1]),
            lambda relative: msmt_camera(relative.split("/")[1]), is_train, pid_offset)

    num_train_pids = len({msmt_pid(name) for name in splits["train"]})
    assert sorted(dataset.train) == expected("train", True)  # val stays out of train
    assert sorted(dataset.query) == expected("query", False, num_train_pids)
    assert sorted(dataset.gallery) == expected("gallery", False, num_train_pids)
    all_items = dataset.train + dataset.query + dataset.gallery
    assert {str(camid).split("_")[-1] for _, _, camid in all_items} <= \
        {str(msmt_camera(name) - 1) for name in names}  # 8 of MSMT17's 15 cameras sampled


def test_parse_image_name_reads_camera_and_frame_of_every_convention():
    market = parse_image_name("Market1501", "x/0127_c6s1_021426_06.jpg")
    assert (market.pid, market.camid, market.frame, market.sequence) == (127, 5, 21426, 1)
    duke = parse_image_name("DukeMTMC", "0001_c7_f0106449.jpg")
    assert (duke.pid, duke.camid, duke.frame) == (1, 6, 106449)
    msmt = parse_image_name("MSMT17", "0168_018_14_0303morning_1118_1_ex.jpg")
    assert (msmt.pid, msmt.camid, msmt.frame) == (168, 13, 1118)
    cuhk03 = parse_image_name("CUHK03Pair1", "0042_07.jpg")
    assert (cuhk03.pid, cuhk03.camid, cuhk03.frame) == (42, 1, 7)
    cuhk01 = parse_image_name("CUHK01", "0971002.png")
    assert (cuhk01.pid, cuhk01.camid, cuhk01.frame) == (971, 0, 2)
    with pytest.raises(DatasetLayoutError, match="PPPP_SS.jpg"):
        parse_image_name("CUHK03Pair1", "0042_7.jpg")


# ----------------------------------------------------------------------------------------
# Our loaders on the real CUHK crops
# ----------------------------------------------------------------------------------------

@pytest.fixture
def data_root(shared_data) -> Path:
    # build_dataset makes the root absolute; expected paths must be built the same way.
    return Path(os.path.abspath(shared_data))


def cuhk03_slot(name):  # PPPP_SS.jpg
    return int(name[5:7])


def cuhk01_slot(name):  # PPPPNNN.png
    return int(name[4:7])


def test_our_loaders_are_registered_without_shadowing_fastreid():
    assert DATASET_REGISTRY.get("CUHK03Pair1") is CUHK03Pair1
    assert DATASET_REGISTRY.get("CUHK01") is CUHK01
    assert DATASET_REGISTRY.get("CUHK03").__module__.startswith("fastreid.")


def test_cuhk03_pair1_counts_and_protocol(data_root):
    train_names = image_files(data_root / "cuhk03_detected" / "train")
    val_names = image_files(data_root / "cuhk03_detected" / "val")
    val_folder = data_root / "cuhk03_detected" / "val"

    dataset = build_dataset("CUHK03Pair1", str(data_root))

    # Train: every image of train/, ids and cameras as the names say.
    assert len(dataset.train) == len(train_names) == 7239
    assert dataset.get_num_pids(dataset.train) == len({n[:4] for n in train_names}) == 743
    assert dataset.get_num_cams(dataset.train) == \
        len({cuhk03_slot(n) >= 5 for n in train_names}) == 2
    assert sorted(os.path.basename(path) for path, _, _ in dataset.train) == train_names

    # Test: val/, camera A (slots 00-04) all queries, camera B (05-09) all gallery.
    expected_query = sorted((str(val_folder / n), int(n[:4]), 0)
                            for n in val_names if cuhk03_slot(n) < 5)
    expected_gallery = sorted((str(val_folder / n), int(n[:4]), 1)
                              for n in val_names if cuhk03_slot(n) >= 5)
    assert sorted(dataset.query) == expected_query
    assert sorted(dataset.gallery) == expected_gallery
    assert len(dataset.query) + len(dataset.gallery) == len(val_names) == 938
    assert dataset.get_num_pids(dataset.query) == len({n[:4] for n in val_names}) == 100
    assert dataset.get_num_pids(dataset.gallery) == 100


def test_cuhk01_counts_and_identity_split(data_root):
    folder = data_root / "cuhk01" / "campus"
    names = image_files(folder)
    pids = sorted({n[:4] for n in names})
    train_pids, test_pids = set(pids[:len(pids) // 2]), set(pids[len(pids) // 2:])
    assert (len(names), len(pids), len(train_pids), len(test_pids)) == (3884, 971, 485, 486)

    dataset = build_dataset("CUHK01", str(data_root))

    assert sorted(dataset.train) == sorted(
        (str(folder / n), f"cuhk01_{int(n[:4])}", f"cuhk01_{0 if cuhk01_slot(n) <= 2 else 1}")
        for n in names if n[:4] in train_pids)
    test_names = [n for n in names if n[:4] in test_pids]
    assert sorted(dataset.query) == sorted(
        (str(folder / n), int(n[:4]), 0) for n in test_names if cuhk01_slot(n) <= 2)
    assert sorted(dataset.gallery) == sorted(
        (str(folder / n), int(n[:4]), 1) for n in test_names if cuhk01_slot(n) >= 3)
    assert dataset.get_num_pids(dataset.query) == dataset.get_num_pids(dataset.gallery) == 486


def test_cuhk_train_splits_serve_as_unlabelled_target_with_camera_and_frame(data_root):
    conventions = (("CUHK03Pair1", cuhk03_slot, 5), ("CUHK01", cuhk01_slot, 3))
    for name, slot_of, first_camera_b in conventions:
        dataset = build_dataset(name, str(data_root))
        targets = unlabelled_target_images(dataset)
        assert [t.path for t in targets] == [path for path, _, _ in dataset.train]
        for target in targets:
            file_name = os.path.basename(target.path)
            assert target.frame == slot_of(file_name)
            assert target.camid == (0 if slot_of(file_name) < first_camera_b else 1)
            assert target.true_pid == int(file_name[:4])


def test_fastreid_reads_an_image_of_our_dataset(data_root):
    dataset = CUHK03Pair1(root=str(data_root))
    sample = CommDataset(dataset.train[:10], transform=None, relabel=True)[0]
    assert sample["targets"] == 0 and sample["camids"] == 0
    assert sample["images"].size == (60, 160)  # the crops are stored at 60 x 160


# ----------------------------------------------------------------------------------------
# Root resolution
# ----------------------------------------------------------------------------------------

def test_resolve_root_prefers_config_then_environment(tmp_path, monkeypatch):
    from_config, from_env = tmp_path / "config_root", tmp_path / "env_root"
    from_config.mkdir()
    from_env.mkdir()
    monkeypatch.setenv("FASTREID_DATASETS", str(from_env))
    assert resolve_root(str(from_config)) == str(from_config)
    assert resolve_root(None) == str(from_env)
    assert resolve_root("") == str(from_env)  # an unset config key reads as ""


def test_resolve_root_errors_name_the_sources(tmp_path, monkeypatch):
    monkeypatch.delenv("FASTREID_DATASETS", raising=False)
    with pytest.raises(DatasetLayoutError, match="DATASETS.ROOT.*FASTREID_DATASETS"):
        resolve_root(None)
    monkeypatch.setenv("FASTREID_DATASETS", str(tmp_path))
    absent = tmp_path / "absent"
    # A configured root that does not exist is an error, not a fall-back to the environment.
    with pytest.raises(DatasetLayoutError, match=f"{absent}.*config DATASETS.ROOT"):
        resolve_root(str(absent))
    monkeypatch.setenv("FASTREID_DATASETS", str(absent))
    with pytest.raises(DatasetLayoutError, match=f"{absent}.*FASTREID_DATASETS"):
        resolve_root(None)


# ----------------------------------------------------------------------------------------
# One clear error for every missing or malformed layout (empty files stand in for images)
# ----------------------------------------------------------------------------------------

def test_missing_root_is_one_clear_error(tmp_path):
    absent = tmp_path / "absent"
    for name in ("CUHK03Pair1", "CUHK01", "Market1501", "DukeMTMC", "MSMT17"):
        with pytest.raises(DatasetLayoutError, match=str(absent)):
            build_dataset(name, str(absent))
    with pytest.raises(DatasetLayoutError, match=r"(?s)not an existing folder.*cuhk01/campus/"):
        CUHK01(root=str(absent))  # the way fastreid's build_reid_*_loader calls it


@pytest.mark.filterwarnings("ignore:The current data structure is deprecated")
@pytest.mark.parametrize("name, anchor, fastreid_error", [
    ("Market1501", "Market-1501-v15.09.15", RuntimeError),
    ("DukeMTMC", "DukeMTMC-reID", RuntimeError),
    ("MSMT17", "MSMT17_V1", AssertionError),
    ("CUHK03Pair1", "cuhk03_detected", None),
    ("CUHK01", "cuhk01", None),
])
def test_wrong_root_names_expected_layout(tmp_path, name, anchor, fastreid_error):
    touch(tmp_path, "unrelated.jpg")
    if fastreid_error:  # what the checked builder spares the user
        with pytest.raises(fastreid_error):
            DATASET_REGISTRY.get(name)(root=str(tmp_path))
    with pytest.raises(DatasetLayoutError) as error:
        build_dataset(name, str(tmp_path))
    message = str(error.value)
    assert f"{tmp_path / anchor}' not found" in message or f"{tmp_path / anchor}' or" in message
    assert f"image folders: {anchor}/" in message and "image names:" in message


def test_missing_sub_folder_is_named(tmp_path):
    touch(tmp_path / "cuhk03_detected" / "train", "0000_00.jpg", "0000_05.jpg")
    with pytest.raises(DatasetLayoutError,
                       match=f"folder '{tmp_path}/cuhk03_detected/val' not found"):
        build_dataset("CUHK03Pair1", str(tmp_path))

    base = tmp_path / "Market-1501-v15.09.15"
    touch(base / "bounding_box_train", "0002_c1s1_000451_03.jpg")
    touch(base / "bounding_box_test", "0000_c1s1_000151_01.jpg")
    with pytest.raises(DatasetLayoutError, match=f"folder '{base}/query' not found"):
        build_dataset("Market1501", str(tmp_path))


def test_empty_folder_is_named(tmp_path):
    (tmp_path / "cuhk01" / "campus").mkdir(parents=True)
    touch(tmp_path / "cuhk01" / "campus", "Thumbs.db")  # known junk does not count as an image
    with pytest.raises(DatasetLayoutError,
                       match=f"'{tmp_path}/cuhk01/campus' has no images named PPPPNNN.png"):
        build_dataset("CUHK01", str(tmp_path))


def test_malformed_names_are_reported_by_name_and_known_junk_ignored(tmp_path):
    train, val = tmp_path / "cuhk03_detected" / "train", tmp_path / "cuhk03_detected" / "val"
    touch(train, "0000_00.jpg", "0000_5.jpg", "person.jpg", "0000_00.png",
          "Thumbs.db", ".DS_Store")
    touch(val, "0000_00.jpg", "0000_05.jpg")
    with pytest.raises(DatasetLayoutError) as error:
        build_dataset("CUHK03Pair1", str(tmp_path))
    message = str(error.value)
    assert "3 file(s)" in message and "not named PPPP_SS.jpg" in message
    for bad in ("0000_5.jpg", "person.jpg", "0000_00.png"):
        assert bad in message
    assert "Thumbs.db" not in message.split("Expected layout")[0] and ".DS_Store" not in message

    for bad in ("0000_5.jpg", "person.jpg", "0000_00.png"):
        (train / bad).unlink()
    dataset = build_dataset("CUHK03Pair1", str(tmp_path))  # junk alone is fine
    assert [os.path.basename(path) for path, _, _ in dataset.train] == ["0000_00.jpg"]


def test_fastreid_dataset_with_misnamed_file_is_reported_not_dropped(tmp_path):
    base = tmp_path / "DukeMTMC-reID"
    touch(base / "bounding_box_train", "0001_c2_f0046182.jpg")
    touch(base / "query", "0005_c2_f0046985.jpg")
    touch(base / "bounding_box_test", "0005_c5_f0051341.jpg", "0005_c9_f0051341.jpg")  # camera 9
    with pytest.raises(DatasetLayoutError, match="0005_c9_f0051341.jpg"):
        build_dataset("DukeMTMC", str(tmp_path))


def test_msmt17_list_file_problems_are_reported_together(tmp_path):
    base = tmp_path / "MSMT17_V1"
    touch(base / "train" / "0000", "0000_000_01_0303morning_0015_0.jpg")
    touch(base / "test" / "0000", "0000_000_01_0303morning_0008_0.jpg")
    (base / "list_train.txt").write_text("0000/0000_000_01_0303morning_0015_0.jpg 0\n")
    (base / "list_val.txt").write_text("0000/0000_001_01_0303morning_0016_0.jpg 0\n")  # absent
    (base / "list_query.txt").write_text("0000/0000_000_01_0303morning_0008_0.jpg\n")  # no label
    with pytest.raises(DatasetLayoutError) as error:
        build_dataset("MSMT17", str(tmp_path))
    message = str(error.value)
    assert "0000/0000_001_01_0303morning_0016_0.jpg" in message and "missing from" in message
    assert "list_query.txt' has lines not of the form" in message and "line 1" in message
    assert f"'{base}/list_gallery.txt' not found" in message


def test_root_that_fastreid_would_misparse_is_refused(tmp_path):
    # fastreid searches "<digits>_c<digit>" in the whole path: this root would label every
    # image as identity 2023, camera 1.
    root = tmp_path / "run_2023_c1"
    base = root / "DukeMTMC-reID"
    touch(base / "bounding_box_train", "0001_c2_f0046182.jpg")
    touch(base / "query", "0005_c2_f0046985.jpg")
    touch(base / "bounding_box_test", "0005_c5_f0051341.jpg")
    with pytest.raises(DatasetLayoutError, match="'2023_c1'"):
        build_dataset("DukeMTMC", str(root))
