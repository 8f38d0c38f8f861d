"""Your own camera network (issue 27, part 1): ``UnlabelledFolder``, a folder of crops with no
identities as the target domain; its errors, raised by pre-flight before a run writes
anything; a tiny run on it; and the same first pseudo-labels as the registered dataset of the
same images.

The folder is the tiny world's Market-like training set stripped of its identities
(``write_unlabelled_copy``): every image copied to ``<index>_c<camera>.jpg``, in the registered
loader's order.
"""
import json
import logging
import re
import shutil

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import adjusted_rand_score

import fastreid_rae  # noqa: F401
from fastreid.utils.events import EventStorage
from fastreid_rae.data.datasets import (DatasetLayoutError, build_dataset,
                                        unlabelled_target_images, write_unlabelled_copy)
from fastreid_rae.engine import UDATrainer
from fastreid_rae.engine.config_loading import ConfigError
from fastreid_rae.engine.preflight import preflight

from .test_errors import RAE_CONFIG, flags, merged
from .test_uda_training import RAE_OFF, _cfg, _train

PATTERN = r"_c(?P<camid>\d+)\.jpg"  # the copy's names, written as a user would


@pytest.fixture(scope="module")
def market_target(tiny_world):
    return unlabelled_target_images(build_dataset("Market1501", str(tiny_world)))


@pytest.fixture(scope="module")
def stripped(market_target, tmp_path_factory):
    folder = tmp_path_factory.mktemp("own_cameras") / "crops"
    write_unlabelled_copy(market_target, str(folder))
    return folder


@pytest.fixture
def crops(stripped, tmp_path):
    """A copy of the stripped folder that a test may damage."""
    return shutil.copytree(stripped, tmp_path / "crops")


def folder_images(root, **arguments):
    return unlabelled_target_images(build_dataset("UnlabelledFolder", str(root), **arguments))


def folder_target(folder, *overrides):
    return ("DATASETS.TARGET", "UnlabelledFolder", "DATASETS.FOLDER.PATH", str(folder), *overrides)


def preflight_folder(tiny_world, tmp_path, folder, *overrides):
    cfg = merged(RAE_CONFIG, "DATASETS.ROOT", tiny_world, "OUTPUT_DIR", tmp_path / "run",
                 *folder_target(folder, *overrides))
    try:
        preflight(cfg, flags())
    finally:  # whatever it found, it wrote nothing
        assert not (tmp_path / "run").exists()


# ---- reading the folder -----------------------------------------------------------------

def test_pattern_gives_every_crop_its_camera_and_nothing_else(tiny_world, stripped, market_target):
    dataset = build_dataset("UnlabelledFolder", str(tiny_world), folder=str(stripped),
                            camera_pattern=PATTERN)
    images = unlabelled_target_images(dataset)
    assert [image.camid for image in images] == [image.camid for image in market_target]
    assert len({image.camid for image in images}) > 1
    assert all(image.true_pid is None and image.frame is None for image in images)
    assert dataset.query == [] and dataset.gallery == []


def test_unlabelled_copy_is_read_back_by_the_pattern_it_returns(tmp_path, market_target):
    copy = tmp_path / "copy"
    pattern = write_unlabelled_copy(market_target[:5], str(copy))
    images = folder_images(tmp_path, folder=str(copy), camera_pattern=pattern)
    assert [image.camid for image in images] == [image.camid for image in market_target[:5]]
    assert [open(image.path, "rb").read() for image in images] == \
        [open(image.path, "rb").read() for image in market_target[:5]]
    with pytest.raises(FileExistsError, match=re.escape(f"'{copy}' is not empty")):
        write_unlabelled_copy(market_target, str(copy))
    assert len(list(copy.iterdir())) == 5  # nothing added to the refused folder


def test_pattern_reads_frames_and_sub_folders(tmp_path, stripped):
    source = next(stripped.iterdir())
    for relative in ("cam2/f000040.jpg", "cam10/f000007.png", "cam2/notes.txt", "cam2/.DS_Store"):
        (tmp_path / relative).parent.mkdir(exist_ok=True)
        shutil.copy(source, tmp_path / relative)
    images = folder_images(tmp_path, folder="", camera_pattern=r"cam(?P<camid>\d+)/f(?P<frame>\d+)")
    assert [(image.camid, image.frame) for image in images] == [(10, 7), (2, 40)]
    assert images[1].path == str(tmp_path / "cam2/f000040.jpg")


def test_csv_gives_cameras_and_frames_relative_to_the_folder(tmp_path, stripped):
    names = sorted(path.name for path in stripped.iterdir())[:3]
    rows = ["path,camid,frame"] + [f"{name},{index + 4},{100 * index}" for index, name in enumerate(names)]
    (tmp_path / "cameras.csv").write_text("\n".join(rows) + "\n")
    images = folder_images(tmp_path, folder=str(stripped), camera_csv=str(tmp_path / "cameras.csv"))
    assert [(image.path, image.camid, image.frame) for image in images] == [
        (str(stripped / name), index + 4, 100 * index) for index, name in enumerate(names)]


# ---- errors, one line each, naming the file or row ---------------------------------------

def _first(folder):
    return sorted(path.name for path in folder.iterdir())[0]


@pytest.mark.parametrize("case, expected", [
    ("empty folder", r"DATASETS.FOLDER.PATH '{crops}' holds no images; expected pedestrian crops"),
    ("pattern matching none", r"CAMERA_PATTERN 'cam(?P<camid>\d+)' matches none of the {count} "
                              r"images under '{crops}' (not: 000000_c"),
    ("pattern matching some", r"CAMERA_PATTERN '_c(?P<camid>\d+)\.jpg' matches only {count_less_2} "
                              r"of the {count} images under '{crops}' (not: a.jpg, b.jpg); expected it"),
    ("csv naming a missing file", r"row 2: image '{crops}/absent.jpg' not found; expected a path "
                                  r"relative to DATASETS.FOLDER.PATH"),
    ("csv with a bad camid", r"row 3: camid 'north' is not a non-negative integer"),
    ("csv with a short row", r"row 3: '{first}' has 1 field(s); expected path,camid"),
])
def test_bad_folder_or_camera_source_is_named(tiny_world, crops, case, expected):
    count, first = len(list(crops.iterdir())), _first(crops)
    arguments = dict(folder=str(crops), camera_pattern=PATTERN)
    if case == "empty folder":
        for path in crops.iterdir():
            path.unlink()
        (crops / "README.txt").write_text("not a crop")
    elif case == "pattern matching none":
        arguments["camera_pattern"] = r"cam(?P<camid>\d+)"
    elif case == "pattern matching some":
        for name in ("a.jpg", "b.jpg"):
            shutil.copy(crops / first, crops / name)
        count += 2
    else:
        second = {"csv naming a missing file": "absent.jpg,1", "csv with a bad camid": f"{first},1",
                  "csv with a short row": f"{first},1"}[case]
        third = {"csv with a bad camid": f"{first},north", "csv with a short row": first}.get(case, "")
        (crops / "cameras.csv").write_text(f"{first},0\n{second}\n{third}\n")
        arguments = dict(folder=str(crops), camera_csv="cameras.csv")
    expected = expected.format(crops=crops, count=count, count_less_2=count - 2, first=first)
    with pytest.raises(DatasetLayoutError) as error:
        folder_images(tiny_world, **arguments)
    assert expected in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("overrides, expected", [
    ((), "needs exactly one of DATASETS.FOLDER.CAMERA_PATTERN"),
    (("DATASETS.FOLDER.CAMERA_PATTERN", PATTERN, "DATASETS.FOLDER.CAMERA_CSV", "c.csv"),
     "got both"),
    (("DATASETS.FOLDER.CAMERA_PATTERN", r"_c(\d+)"),
     "DATASETS.FOLDER.CAMERA_PATTERN = '_c(\\\\d+)'; expected empty or a regular expression with "
     "a named group (?P<camid>...)"),
    (("DATASETS.FOLDER.CAMERA_PATTERN", PATTERN, "DATASETS.TESTS", "('UnlabelledFolder',)"),
     "DATASETS.TESTS: 'UnlabelledFolder' has no identities and no query / gallery"),
])
def test_folder_keys_are_checked_before_any_file_is_read(tmp_path, overrides, expected):
    cfg = merged(RAE_CONFIG, "DATASETS.ROOT", tmp_path / "absent", "OUTPUT_DIR", tmp_path / "run",
                 *folder_target(tmp_path / "absent", *overrides))
    with pytest.raises(ConfigError) as error:  # not DatasetLayoutError: no path was read
        preflight(cfg, flags())
    assert expected in str(error.value)


def test_empty_folder_is_refused_by_preflight(tiny_world, tmp_path):
    (tmp_path / "crops").mkdir()
    with pytest.raises(DatasetLayoutError, match="holds no images"):
        preflight_folder(tiny_world, tmp_path, tmp_path / "crops", "DATASETS.FOLDER.CAMERA_PATTERN", PATTERN)


@pytest.mark.parametrize("damage, expected", [
    ("tiny", "(20 x 10 px: expected at least 32 x 16, DATASETS.FOLDER.MIN_SIZE)"),
    ("truncated", "("),
])
def test_unreadable_or_tiny_crop_is_named_by_preflight(tiny_world, tmp_path, crops, damage, expected):
    crop = crops / _first(crops)
    if damage == "tiny":
        Image.open(crop).resize((10, 20)).save(crop)
    else:
        crop.write_bytes(crop.read_bytes()[:100])
    with pytest.raises(DatasetLayoutError) as error:
        preflight_folder(tiny_world, tmp_path, crops, "DATASETS.FOLDER.CAMERA_PATTERN", PATTERN)
    assert str(error.value).startswith("UnlabelledFolder: 1 image file(s) cannot be read")
    assert f"  - {crop} {expected}" in str(error.value)


@pytest.mark.parametrize("pattern, expected", [
    (r"(?P<camid>0)", "all {count} images are from camera 0 (e.g. {crops}/{first}), but "
                      "RAE.PSEUDO_LABEL.NAME 'jvtc' models the time between cameras"),
    (PATTERN, "{crops}/{first}: no frame number, but RAE.PSEUDO_LABEL.NAME 'jvtc' needs"),
])
def test_jvtc_needs_two_cameras_and_frames(tiny_world, tmp_path, crops, pattern, expected):
    with pytest.raises(DatasetLayoutError) as error:
        preflight_folder(tiny_world, tmp_path, crops, "DATASETS.FOLDER.CAMERA_PATTERN", pattern,
                         "RAE.PSEUDO_LABEL.NAME", "jvtc")
    assert expected.format(count=len(list(crops.iterdir())), crops=crops,
                           first=_first(crops)) in str(error.value)


def test_one_camera_is_enough_for_dbscan(tiny_world, tmp_path, stripped):
    preflight_folder(tiny_world, tmp_path, stripped, "DATASETS.FOLDER.CAMERA_PATTERN", r"(?P<camid>0)")


# ---- training on it -----------------------------------------------------------------------

# DBSCAN loosened so that a barely trained model's features form clusters at all (else the
# labels would be all outliers: nothing to compare)
LOOSE_DBSCAN = ("RAE.PSEUDO_LABEL.NAME", "dbscan", "RAE.PSEUDO_LABEL.DBSCAN.EPS", 0.9,
                "RAE.PSEUDO_LABEL.DBSCAN.MIN_SAMPLES", 2)
LABEL_FREE = ("pseudo_clusters", "pseudo_outlier_share", "pseudo_size_min", "pseudo_size_median",
              "pseudo_size_max", "pseudo_singleton_share", "pseudo_largest_share",
              "pseudo_multi_camera_share", "pseudo_ari_to_previous")


def test_training_on_the_folder_logs_label_free_figures_only(tiny_world, tmp_path, stripped, caplog):
    # a source epoch, then two adaptation epochs of two steps: the second pseudo-labelling
    # has a previous one to compare with
    cfg = _cfg(tiny_world, tmp_path, *folder_target(stripped, "DATASETS.FOLDER.CAMERA_PATTERN", PATTERN),
               *LOOSE_DBSCAN, "SOLVER.MAX_EPOCH", 3, *RAE_OFF)
    with caplog.at_level(logging.INFO, logger="fastreid_rae.engine.pseudo_label_hook"):
        trainer = _train(cfg, iterations=2)
    hook = trainer.pseudo_label_hook
    assert hook.true_pids is None and hook.frames is None
    assert len(hook.labels) == len(list(stripped.iterdir()))
    records = [json.loads(line) for line in (tmp_path / "metrics.json").read_text().splitlines()]
    logged = {key for record in records for key in record}
    assert set(LABEL_FREE) <= logged
    assert not {"pseudo_ari", "pseudo_precision", "pseudo_recall"} & logged
    assert re.search(r"epoch 2: \d+ pseudo-identities, .*cluster sizes .* span several "
                     r"cameras; ARI .* against the last labels", caplog.text)
    assert "hidden ids" not in caplog.text


def _first_pseudo_labels(cfg):
    trainer = UDATrainer(cfg)
    trainer.iter = 0
    with EventStorage(0) as trainer.storage:  # what train() opens before any hook runs
        trainer.pseudo_label_hook._assign(0)  # what the first adaptation epoch starts with
    return trainer.pseudo_label_hook


def test_folder_and_registered_dataset_give_the_same_first_pseudo_labels(
        tiny_world, tmp_path, stripped, market_target):
    # the same images, model and seed: the features and so the partition must not depend on
    # whether the images' identities were known
    # a tighter radius than LOOSE_DBSCAN: an untrained model's features would fall into one cluster
    common = ("RAE.PSEUDO_LABEL.NAME", "dbscan", "RAE.PSEUDO_LABEL.DBSCAN.EPS", 0.5,
              "RAE.PSEUDO_LABEL.DBSCAN.MIN_SAMPLES", 2, "SEED", 3, *RAE_OFF)
    registered = _first_pseudo_labels(_cfg(tiny_world, tmp_path / "registered", *common))
    folder = _first_pseudo_labels(_cfg(tiny_world, tmp_path / "folder", *common, *folder_target(
        stripped, "DATASETS.FOLDER.CAMERA_PATTERN", PATTERN)))
    assert [image.path for image in registered.images] == [image.path for image in market_target]
    assert registered.labels.max() >= 1  # at least two clusters
    assert adjusted_rand_score(registered.labels, folder.labels) == 1.0
    np.testing.assert_array_equal(registered.labels, folder.labels)
