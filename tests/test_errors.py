"""Bad input gets one clear error before any long work starts (issue 8, docs/errors.md).

Each case asserts the error type, that the message names the file or key and what was
expected, and - for config-only mistakes - that it comes before a single dataset file is
read (the dataset root given is missing, so a later check would raise DatasetLayoutError).
Nothing is trained but one tiny run (``finished_run``), for a refused --resume to leave alone;
elsewhere the tiny world is only scanned.
"""
import argparse
import filecmp
import importlib.util
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

import fastreid_rae  # noqa: F401  (compat shims and registrations, before fastreid)
from fastreid.config import get_cfg

from fastreid_rae.config import add_rae_config, config_value
from fastreid_rae.config_constraints import CONSTRAINTS, ORDERED_PAIRS, ignored_settings
from fastreid_rae.data.datasets import DatasetLayoutError
from fastreid_rae.engine.config_loading import ConfigError, merge_config
from fastreid_rae.engine.preflight import preflight
from fastreid_rae.engine.run_folder import left_as_found_if_refused, undone_if_the_start_fails

from .conftest import REPO_ROOT

RAE_CONFIG = REPO_ROOT / "configs/RAE/synthetic/duke2market.yml"  # Duke-like -> Market-like
SUPERVISED_CONFIG = REPO_ROOT / "configs/Supervised/synthetic_duke2market_direct.yml"


def flags(**given):
    """The attributes of fastreid's parsed command line that preflight reads."""
    values = dict(resume=False, overwrite=False, eval_only=False, num_gpus=1, num_machines=1,
                  machine_rank=0)
    return argparse.Namespace(**{**values, **given})


def merged(config_file, *overrides):
    cfg = get_cfg()
    add_rae_config(cfg)
    return merge_config(cfg, str(config_file), [str(value) for value in overrides])


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def yaml_setting(key, value):
    """'A.B.C', 'v' -> the YAML text 'A:\n  B:\n    C: v\n'."""
    *sections, name = key.split(".")
    lines = [f"{'  ' * depth}{section}:" for depth, section in enumerate(sections)]
    return "\n".join(lines + [f"{'  ' * len(sections)}{name}: {value}"]) + "\n"


def snapshot(folder):
    return {path.name: path.read_bytes() for path in folder.iterdir()}


@pytest.fixture(scope="module")
def train_net():
    spec = importlib.util.spec_from_file_location("train_net", REPO_ROOT / "tools/train_net.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---- config file and command line -------------------------------------------------------

def test_missing_config_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match=re.escape(f"'{tmp_path / 'nope.yml'}' not found")):
        merged(tmp_path / "nope.yml")


def test_config_file_that_is_a_folder_is_named(tmp_path):
    with pytest.raises(ConfigError, match=re.escape(f"'{tmp_path}' is a folder; expected a YAML file")):
        merged(tmp_path)


def test_no_config_file_says_which_flag():
    with pytest.raises(ConfigError, match="--config-file"):
        merged("")


@pytest.mark.parametrize("text, expected", [
    ("MODEL: [unclosed\n", "is not valid YAML"),
    ("- MODEL\n- SOLVER\n", "holds a list; expected a mapping"),
    ("", "holds nothing; expected a mapping"),
    ("MODEL: !!python/object/apply:os.system ['true']\n", "is not valid YAML"),
], ids=["syntax", "list", "empty", "unsafe-tag"])
def test_config_file_that_is_not_a_yaml_mapping_is_named(tmp_path, text, expected):
    path = write(tmp_path / "bad.yml", text)
    with pytest.raises(ConfigError, match=re.escape(f"'{path}'") + ".*" + re.escape(expected)):
        merged(path)


def test_missing_base_file_names_it_and_the_file_that_refers_to_it(tmp_path):
    leaf = write(tmp_path / "leaf.yml", "_BASE_: gone/Base.yml\n")
    with pytest.raises(ConfigError) as error:
        merged(leaf)
    assert f"'{tmp_path / 'gone/Base.yml'}' (the _BASE_ of '{leaf}') not found" in str(error.value)


def test_base_chain_that_loops_is_refused(tmp_path):
    write(tmp_path / "a.yml", "_BASE_: b.yml\n")
    write(tmp_path / "b.yml", "_BASE_: a.yml\n")
    with pytest.raises(ConfigError, match="already in its own _BASE_ chain"):
        merged(tmp_path / "a.yml")


def test_unknown_key_names_key_file_and_closest_key(tmp_path):
    path = write(tmp_path / "typo.yml", "SOLVER:\n  BASE_LRR: 0.1\n")
    with pytest.raises(ConfigError) as error:
        merged(path)
    message = str(error.value)
    assert f"config file '{path}'" in message
    assert "unknown config key 'SOLVER.BASE_LRR' (did you mean 'SOLVER.BASE_LR'?)" in message


def test_unknown_key_in_a_base_file_names_the_base_not_the_leaf(tmp_path):
    base = write(tmp_path / "Base.yml", "RAE:\n  PSEUDO_LABELS:\n    NAME: kmeans\n")
    leaf = write(tmp_path / "leaf.yml", "_BASE_: Base.yml\nSOLVER:\n  BASE_LR: 0.1\n")
    with pytest.raises(ConfigError) as error:
        merged(leaf)
    assert f"config file '{base}': unknown config key 'RAE.PSEUDO_LABELS'" in str(error.value)
    assert "did you mean 'RAE.PSEUDO_LABEL'" in str(error.value)


def test_unknown_key_on_the_command_line_is_named():
    with pytest.raises(ConfigError, match=re.escape(
            "command line: unknown config key 'DATASETS.TARGETS' "
            "(did you mean 'DATASETS.TARGET'?)")):
        merged(RAE_CONFIG, "DATASETS.TARGETS", "Market1501")


def test_flag_after_the_overrides_is_explained():
    # argparse hands everything after the first KEY to the overrides
    with pytest.raises(ConfigError, match="flags such as --resume go before"):
        merged(RAE_CONFIG, "OUTPUT_DIR", "x", "--overwrite", "1")


def test_odd_override_list_names_the_key_without_value():
    with pytest.raises(ConfigError, match="'SOLVER.MAX_EPOCH' has no value"):
        merged(RAE_CONFIG, "OUTPUT_DIR", "x", "SOLVER.MAX_EPOCH")


@pytest.mark.parametrize("where", ["file", "command line"])
@pytest.mark.parametrize("key, value, expected", [
    ("SOLVER.BASE_LR", "fast", "SOLVER.BASE_LR = 'fast' has type str; expected float"),
    ("SOLVER.BASE_LR", "1", "SOLVER.BASE_LR = 1 has type int; expected float, like its default "
                            "0.0003 (write 1.0)"),
    ("RAE.FUSION.ENABLED", "'yes'", "RAE.FUSION.ENABLED = 'yes' has type str; expected bool"),
    ("DATASETS.NAMES", "DukeMTMC", "DATASETS.NAMES = 'DukeMTMC' has type str; expected tuple, "
                                   "like its default ('Market1501',) (write ('DukeMTMC',))"),
    ("MODEL", "3", "'MODEL' is a section of keys"),
], ids=["str-for-float", "int-for-float", "str-for-bool", "name-for-tuple", "value-for-section"])
def test_wrong_value_type_names_key_and_expected_type(tmp_path, where, key, value, expected):
    if where == "file":
        path = write(tmp_path / "types.yml", yaml_setting(key, value))
        source, overrides = f"config file '{path}'", ()
    else:
        path, source, overrides = SUPERVISED_CONFIG, "command line", (key, value)
    with pytest.raises(ConfigError) as error:
        merged(path, *overrides)
    assert str(error.value).startswith(source) and expected in str(error.value)


@pytest.mark.parametrize("config_file", sorted((REPO_ROOT / "configs").rglob("*.yml")),
                         ids=lambda path: str(path.relative_to(REPO_ROOT / "configs")))
def test_checked_merge_equals_fastreids_merge(config_file):
    plain = get_cfg()
    add_rae_config(plain)
    plain.merge_from_file(str(config_file))
    plain.merge_from_list(["SOLVER.BASE_LR", "0.1", "DATASETS.NAMES", "('Market1501',)"])
    checked = merged(config_file, "SOLVER.BASE_LR", "0.1", "DATASETS.NAMES", "('Market1501',)")
    assert checked.dump() == plain.dump()


# ---- config values preflight refuses before reading any dataset -------------------------

CONFIG_VALUE_CASES = [
    (["RAE.PSEUDO_LABEL.NAME", "dbscna"], "RAE.PSEUDO_LABEL.NAME = 'dbscna' is not one of "
                                          "['dbscan', 'jvtc', 'kmeans', "),
    (["MODEL.BACKBONE.NAME", "build_resnet50"], "MODEL.BACKBONE.NAME = 'build_resnet50' is not one "
                                                "of ['build_effnet_backbone'"),
    (["MODEL.BACKBONE.DEPTH", "R50"], "MODEL.BACKBONE.DEPTH = 'R50' is not one of ['101x', '18x', "
                                      "'34x', '50x'] (did you mean '50x'?)"),
    (["MODEL.BACKBONE.NAME", "build_shufflenetv2_last_stride_backbone", "MODEL.BACKBONE.DEPTH", "1.0X"],
     "MODEL.BACKBONE.DEPTH = '1.0X' is not one of ['0.5x', '1.0x', '1.5x', '2.0x'] (did you mean '1.0x'?)"),
    (["MODEL.HEADS.NAME", "EmbedingHead"], "MODEL.HEADS.NAME = 'EmbedingHead' is not one of"),
    (["MODEL.META_ARCHITECTURE", "Rae"], "MODEL.META_ARCHITECTURE = 'Rae' is not one of"),
    (["RAE.PIXEL_TRANSFER.DECODER.NAME", "UNet"], "RAE.PIXEL_TRANSFER.DECODER.NAME = 'UNet' is "
                                                  "not one of ['TransposedConvDecoder']"),
    (["RAE.GAN.LOSS", "WGAN"], "RAE.GAN.LOSS = 'WGAN' is not one of ['LeastSquaresGANLoss', "
                               "'NonSaturatingGANLoss']"),
    (["RAE.PSEUDO_LABEL.NEIGHBORS.METHOD", "ivf"], "RAE.PSEUDO_LABEL.NEIGHBORS.METHOD = 'ivf' is "
                                                   "not one of ['approximate', 'exact']"),
    (["RAE.PIXEL_TRANSFER.ENABLED", "False"], "RAE.FUSION.ENABLED requires "
                                              "RAE.PIXEL_TRANSFER.ENABLED"),
    (["DATASETS.TARGET", "DukeMTMC"], "DATASETS.TARGET 'DukeMTMC' is also a source in "
                                      "DATASETS.NAMES ('DukeMTMC',)"),
    (["DATASETS.TARGET", "Market"], "DATASETS.TARGET: dataset 'Market' is not in fastreid's "
                                    "DATASET_REGISTRY (did you mean 'Market1501'?)"),
    (["DATASETS.TARGET", "VIPeR"], "DATASETS.TARGET 'VIPeR': the backends read each target "
                                   "image's camera and frame from its file name"),
    (["DATASETS.TESTS", "('Market1051',)"], "DATASETS.TESTS: dataset 'Market1051' is not in "
                                            "fastreid's DATASET_REGISTRY "
                                            "(did you mean 'Market1501'?)"),
    (["DATASETS.NAMES", "()"], "DATASETS.NAMES is empty"),
    (["INPUT.SIZE_TRAIN", "[256]"], "INPUT.SIZE_TRAIN = [256]; expected [height, width]"),
    (["SOLVER.IMS_PER_BATCH", "18"], "SOLVER.IMS_PER_BATCH = 18; with NaiveIdentitySampler it "
                                     "must be P identities x DATALOADER.NUM_INSTANCE = 4 images"),
    (["DATALOADER.SAMPLER_TRAIN", "BalancedIdentitySampler"],
     "DATALOADER.SAMPLER_TRAIN = 'BalancedIdentitySampler' is not one of ['NaiveIdentitySampler', "
     "'TrainingSampler']"),
    (["SOLVER.MAX_EPOCH", "0"], "SOLVER.MAX_EPOCH = 0; expected at least 1"),
    (["SOLVER.MAX_EPOCH", "3"], "RAE.SOURCE_PRETRAIN.EPOCHS = 3 is not below SOLVER.MAX_EPOCH "
                                "= 3: the run would end before adapting to DATASETS.TARGET"),
    (["MODEL.DEVICE", "gpu"], "MODEL.DEVICE = 'gpu' is not a torch device"),
    (["MODEL.WEIGHTS", "/nowhere/model_final.pth"], "MODEL.WEIGHTS = '/nowhere/model_final.pth' "
                                                    "not found"),
    (["MODEL.BACKBONE.PRETRAIN", "True", "MODEL.BACKBONE.PRETRAIN_PATH", "/nowhere/r18.pth"],
     "MODEL.BACKBONE.PRETRAIN_PATH = '/nowhere/r18.pth' not found"),
    (["RAE.SOURCE_PRETRAIN.FROM_SOURCE_MODEL", "True"],
     "RAE.SOURCE_PRETRAIN.FROM_SOURCE_MODEL is True: this config adapts a source-trained model, "
     "but MODEL.WEIGHTS is empty"),
]


@pytest.mark.parametrize("overrides, expected", CONFIG_VALUE_CASES,
                         ids=[case[0][0] + "=" + case[0][1] for case in CONFIG_VALUE_CASES])
def test_bad_config_value_is_refused_before_any_dataset_is_read(tmp_path, overrides, expected):
    cfg = merged(RAE_CONFIG, "DATASETS.ROOT", tmp_path / "no_data", "OUTPUT_DIR", tmp_path / "run",
                 *overrides)
    with pytest.raises(ConfigError) as error:
        preflight(cfg, flags())
    assert expected in str(error.value)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("key, typo, meant", [("RAE.PSEUDO_LABEL.NAME", "kmean", "kmeans"),
                                               ("SOLVER.OPT", "Adamw", "AdamW"),
                                               ("MODEL.HEADS.NECK_FEAT", "Before", "before")])
def test_misspelt_name_gets_the_closest_choice(key, typo, meant):
    with pytest.raises(ConfigError) as error:
        preflight(merged(RAE_CONFIG, key, typo), flags())
    assert str(error.value).startswith(f"{key} = {typo!r} is not one of [")
    assert str(error.value).endswith(f"(did you mean {meant!r}?)")


def test_cuda_requested_without_a_gpu_says_how_to_use_the_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    cfg = merged(RAE_CONFIG, "MODEL.DEVICE", "cuda")
    with pytest.raises(ConfigError, match="no CUDA device is visible; append 'MODEL.DEVICE cpu'"):
        preflight(cfg, flags())


def test_eval_only_without_weights_is_refused():
    with pytest.raises(ConfigError, match="--eval-only needs MODEL.WEIGHTS"):
        preflight(merged(SUPERVISED_CONFIG), flags(eval_only=True))


# ---- datasets on disk -------------------------------------------------------------------

def world_copy(tiny_world, tmp_path, *folders):
    """A dataset root holding copies of some of the tiny world's dataset folders."""
    root = tmp_path / "datasets"
    for folder in folders:
        shutil.copytree(tiny_world / folder, root / folder)
    root.mkdir(exist_ok=True)
    return root


def preflight_on(root, tmp_path, *overrides, config_file=RAE_CONFIG, **given):
    cfg = merged(config_file, "DATASETS.ROOT", root, "OUTPUT_DIR", tmp_path / "run", *overrides)
    preflight(cfg, flags(**given))


def test_missing_dataset_root_is_named(tmp_path):
    absent = tmp_path / "absent"
    with pytest.raises(DatasetLayoutError, match=re.escape(f"dataset root '{absent}'")):
        preflight_on(absent, tmp_path)


def test_empty_dataset_root_names_the_expected_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetLayoutError, match=re.escape(
            f"'{tmp_path / 'empty' / 'DukeMTMC-reID'}' not found")):
        preflight_on(tmp_path / "empty", tmp_path)


def test_empty_split_folder_is_named(tiny_world, tmp_path):
    root = world_copy(tiny_world, tmp_path, "DukeMTMC-reID", "Market-1501-v15.09.15")
    query = root / "Market-1501-v15.09.15" / "query"
    shutil.rmtree(query)
    query.mkdir()
    with pytest.raises(DatasetLayoutError, match=re.escape(f"folder '{query}' has no images")):
        preflight_on(root, tmp_path)


def test_test_set_missing_is_found_before_training_not_at_its_end(tiny_world, tmp_path):
    # source and target present; only the evaluation set (read after the last epoch) is missing
    root = world_copy(tiny_world, tmp_path, "DukeMTMC-reID", "Market-1501-v15.09.15")
    with pytest.raises(DatasetLayoutError, match=re.escape(f"'{root / 'MSMT17_V1'}'")):
        preflight_on(root, tmp_path, "DATASETS.TESTS", "('MSMT17',)")


def test_more_kmeans_clusters_than_target_images_is_found_before_training(tiny_world, tmp_path):
    # it used to surface as a traceback at the first pseudo-labelling, after the source epochs
    root = world_copy(tiny_world, tmp_path, "DukeMTMC-reID", "Market-1501-v15.09.15")
    with pytest.raises(ConfigError, match=r"DATASETS.TARGET 'Market1501': RAE.PSEUDO_LABEL.KMEANS.NUM_CLUSTERS "
                                          r"= 100000 exceeds the \d+ target images"):
        preflight_on(root, tmp_path, "RAE.PSEUDO_LABEL.NAME", "kmeans", "RAE.PSEUDO_LABEL.KMEANS.NUM_CLUSTERS", 100000)
    preflight_on(root, tmp_path / "ok", "RAE.PSEUDO_LABEL.NAME", "kmeans", "RAE.PSEUDO_LABEL.KMEANS.NUM_CLUSTERS", 5)


@pytest.mark.parametrize("damage", ["empty", "truncated", "text"])
def test_unreadable_image_is_named(tiny_world, tmp_path, damage):
    root = world_copy(tiny_world, tmp_path, "DukeMTMC-reID", "Market-1501-v15.09.15")
    image = sorted((root / "Market-1501-v15.09.15" / "query").iterdir())[3]  # no junk images
    data = image.read_bytes()
    image.write_bytes({"empty": b"", "truncated": data[:len(data) // 2],
                       "text": b"<html>404 Not Found</html>"}[damage])
    with pytest.raises(DatasetLayoutError) as error:
        preflight_on(root, tmp_path)
    message = str(error.value)
    assert message.startswith("Market1501: 1 image file(s) cannot be read")
    assert f"  - {image} (" in message


@pytest.mark.parametrize("sampler, expected", [
    ("NaiveIdentitySampler", "has 12 training identities; a batch of 4000 images "
                             "(SOLVER.IMS_PER_BATCH) x 4 per identity (DATALOADER.NUM_INSTANCE) "
                             "needs 1000"),
    ("TrainingSampler", "training images; a batch (SOLVER.IMS_PER_BATCH) needs 4000")])
def test_source_too_small_for_a_batch(tiny_world, tmp_path, sampler, expected):
    with pytest.raises(ConfigError) as error:
        preflight_on(tiny_world, tmp_path, "SOLVER.IMS_PER_BATCH", "4000",
                     "DATALOADER.SAMPLER_TRAIN", sampler)
    assert str(error.value).startswith("DATASETS.NAMES ('DukeMTMC',) has ")
    assert expected in str(error.value)


def test_eval_only_reads_only_the_test_sets(tiny_world, tmp_path):
    root = world_copy(tiny_world, tmp_path, "Market-1501-v15.09.15")  # no DukeMTMC source
    weights = write(tmp_path / "model.pth", "")
    preflight_on(root, tmp_path, "MODEL.WEIGHTS", weights, config_file=SUPERVISED_CONFIG,
                 eval_only=True)


# ---- OUTPUT_DIR holding another run -----------------------------------------------------

@pytest.fixture
def previous_run(tmp_path):
    run = tmp_path / "run"
    for name in ("config.yaml", "metrics.json", "last_checkpoint", "model_0004.pth", "log.txt"):
        write(run / name, f"the previous run's {name}\n")
    return run


@pytest.mark.parametrize("marker", ["config.yaml", "metrics.json", "last_checkpoint",
                                    "model_0004.pth"])
def test_output_dir_with_another_run_is_refused_and_left_untouched(
        tiny_world, tmp_path, train_net, marker, monkeypatch):
    run = write(tmp_path / "run" / marker, "the previous run's file\n").parent
    before = snapshot(run)
    monkeypatch.setattr(train_net, "UDATrainer", None)  # nothing may be built
    args = train_net.argument_parser().parse_args(
        ["--config-file", str(RAE_CONFIG), "DATASETS.ROOT", str(tiny_world),
         "OUTPUT_DIR", str(run)])
    with pytest.raises(ConfigError, match=re.escape(f"OUTPUT_DIR '{run}' already holds a run "
                                                    f"({marker}); pass --resume")):
        train_net.main(args)
    assert snapshot(run) == before


def test_resume_continues_the_run_in_place(tiny_world, tmp_path, previous_run):
    before = snapshot(previous_run)
    preflight_on(tiny_world, tmp_path, resume=True)
    assert snapshot(previous_run) == before


def test_overwrite_removes_the_previous_runs_files_but_keeps_its_log(tiny_world, tmp_path,
                                                                      previous_run):
    preflight_on(tiny_world, tmp_path, overwrite=True)
    assert sorted(snapshot(previous_run)) == ["log.txt"]


def test_overwrite_deletes_nothing_when_another_check_fails(tmp_path, previous_run):
    before = snapshot(previous_run)
    with pytest.raises(DatasetLayoutError):
        preflight_on(tmp_path / "absent", tmp_path, overwrite=True)
    assert snapshot(previous_run) == before


def test_resume_and_overwrite_together_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="pass one of them"):
        preflight_on(tmp_path / "absent", tmp_path, resume=True, overwrite=True)


def test_output_dir_that_is_a_file_is_refused(tmp_path):
    cfg = merged(RAE_CONFIG, "OUTPUT_DIR", write(tmp_path / "run", "notes\n"))
    with pytest.raises(ConfigError, match=re.escape(f"OUTPUT_DIR '{tmp_path / 'run'}' is a file")):
        preflight(cfg, flags())


@pytest.mark.parametrize("arguments, expected", [
    (["SOLVER.BASE_LRR", "0.1"],
     "error: command line: unknown config key 'SOLVER.BASE_LRR' (did you mean "
     "'SOLVER.BASE_LR'?); the keys are fastreid's (fastreid/config/defaults.py) and RAE's "
     "(fastreid_rae/config.py)"),
    # fastreid's launcher started no process for it and exited 0
    (["--num-gpus", "0"], "error: --num-gpus 0; expected at least 1")], ids=["key", "num-gpus"])
def test_command_line_prints_one_error_line_without_traceback(tmp_path, arguments, expected):
    completed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tools/train_net.py"), "--config-file",
         str(RAE_CONFIG), *arguments],
        capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr
    assert completed.stderr.strip().splitlines()[-1] == expected


# ---- every constrained value (fastreid_rae/config_constraints.py) -------------------------

@pytest.fixture(scope="module")
def checked_config(tmp_path_factory):
    return merged(RAE_CONFIG, "DATASETS.ROOT", tmp_path_factory.mktemp("no_data") / "absent")


def with_value(cfg, key, value):
    cfg = cfg.clone()
    *sections, leaf = key.split(".")
    node = config_value(cfg, ".".join(sections)) if sections else cfg
    node[leaf] = value
    return cfg


@pytest.mark.parametrize("key", sorted(CONSTRAINTS))
def test_each_constrained_key_refuses_a_bad_value_and_leaves_the_run_alone(
        checked_config, previous_run, key):
    # --overwrite: a value caught only after the deletion would cost the previous run
    before = snapshot(previous_run)
    cfg = with_value(checked_config, "OUTPUT_DIR", str(previous_run))
    cfg = with_value(cfg, key, CONSTRAINTS[key].bad)
    with pytest.raises(ConfigError) as error:
        preflight(cfg, flags(overwrite=True))
    message = str(error.value)
    assert message.startswith(f"{key} = {CONSTRAINTS[key].bad!r}; expected ")
    assert "\n" not in message
    assert snapshot(previous_run) == before


def test_the_shipped_defaults_obey_every_constraint(checked_config):
    for key, rule in CONSTRAINTS.items():
        assert rule.holds(config_value(checked_config, key)), key


@pytest.mark.parametrize("low, high", ORDERED_PAIRS)
def test_ordered_keys_are_refused_out_of_order(checked_config, low, high):
    cfg = with_value(checked_config, low, config_value(checked_config, high) + 1)
    with pytest.raises(ConfigError, match=re.escape(f"{low} = ") + ".*" + re.escape(f"is above {high}")):
        preflight(cfg, flags())


def test_fastreid_key_that_would_promise_too_much_is_refused(checked_config):
    with pytest.raises(ConfigError, match=re.escape("SOLVER.AMP.ENABLED = True is not used: ")):
        preflight(with_value(checked_config, "SOLVER.AMP.ENABLED", True), flags())


def test_fastreid_key_that_is_only_ignored_is_named_in_a_warning(checked_config, rae_log):
    with pytest.raises(DatasetLayoutError):  # the config is fine; the dataset root is absent
        preflight(with_value(checked_config, "MODEL.QUEUE_SIZE", 7), flags())
    assert "MODEL.QUEUE_SIZE = 7 is not used: only fastreid's MoCo" in rae_log.text


# values fastreid's optimizer would honour and RAE's does not (UDATrainer.build_optimizer)
IGNORED_BY_RAES_OPTIMIZER = {
    "SOLVER.NESTEROV": True, "SOLVER.BIAS_LR_FACTOR": 2.0,
    "SOLVER.WEIGHT_DECAY_NORM": 0.0, "SOLVER.WEIGHT_DECAY_BIAS": 0.0,
    "SOLVER.CLIP_GRADIENTS.ENABLED": True, "SOLVER.CLIP_GRADIENTS.CLIP_TYPE": "value",
    "SOLVER.CLIP_GRADIENTS.CLIP_VALUE": 1.0, "SOLVER.CLIP_GRADIENTS.NORM_TYPE": 1.0,
    "MODEL.FREEZE_LAYERS": ["backbone"],
}


def test_each_optimizer_key_rae_ignores_is_named_in_one_warning_line(checked_config, rae_log):
    cfg = checked_config
    for key, value in IGNORED_BY_RAES_OPTIMIZER.items():
        cfg = with_value(cfg, key, value)
    with pytest.raises(DatasetLayoutError):  # the config is fine; the dataset root is absent
        preflight(cfg, flags())
    warned = [record.getMessage() for record in rae_log.records if " is not used: " in record.getMessage()]
    assert [line.split(" = ")[0] for line in warned] == list(IGNORED_BY_RAES_OPTIMIZER)
    assert all("\n" not in line and "RAE's optimizer" in line for line in warned)
    assert warned[1] == ("SOLVER.BIAS_LR_FACTOR = 2.0 is not used: RAE's optimizer "
                         "(UDATrainer.build_optimizer) gives Enc RAE.SOLVER.ENCODER_LR and every other "
                         "part SOLVER.BASE_LR (Enc's heads x SOLVER.HEADS_LR_FACTOR), biases included")


def test_the_keys_named_as_ignored_change_nothing_in_raes_optimizer():
    """The warnings' claim, checked: the optimizers built with and without them are alike."""
    from fastreid_rae.engine import UDATrainer

    from .test_model import rae_cfg, rae_model

    model = rae_model()

    def optimizer(*overrides):
        built, _ = UDATrainer.build_optimizer(rae_cfg("SOLVER.OPT", "SGD", *overrides), model)
        return type(built), [{**group, "params": [id(p) for p in group["params"]]}
                             for group in built.param_groups]

    overrides = [item for key, value in IGNORED_BY_RAES_OPTIMIZER.items() for item in (key, value)]
    assert optimizer(*overrides) == optimizer()


def test_momentum_is_named_only_where_the_optimizer_takes_none(checked_config):
    assert checked_config.SOLVER.OPT == "Adam"
    adam = with_value(checked_config, "SOLVER.MOMENTUM", 0.5)
    assert list(ignored_settings(adam)) == ["SOLVER.MOMENTUM"]
    assert ignored_settings(with_value(adam, "SOLVER.OPT", "SGD")) == {}


def test_fastreids_model_keeps_fastreids_optimizer_and_hears_nothing():
    cfg = merged(SUPERVISED_CONFIG, "SOLVER.OPT", "SGD")
    for key, value in IGNORED_BY_RAES_OPTIMIZER.items():
        cfg = with_value(cfg, key, value)
    assert ignored_settings(cfg) == {}


@pytest.mark.parametrize("config_file", sorted((REPO_ROOT / "configs").rglob("*.yml")),
                         ids=lambda path: str(path.relative_to(REPO_ROOT / "configs")))
def test_shipped_configs_set_no_key_their_trainer_ignores(config_file):
    assert ignored_settings(merged(config_file)) == {}


def test_a_section_written_twice_in_a_file_is_refused(tmp_path):
    path = write(tmp_path / "twice.yml", "SOLVER:\n  BASE_LR: 0.1\nSOLVER:\n  MAX_EPOCH: 3\n")
    with pytest.raises(ConfigError, match=re.escape(
            f"config file '{path}': key 'SOLVER' is given twice (lines 1 and 3)")):
        merged(path)


@pytest.mark.parametrize("given, expected", [
    (dict(num_gpus=0), "--num-gpus 0; expected at least 1"),
    (dict(num_gpus=-1), "--num-gpus -1; expected at least 1"),
    (dict(num_machines=0), "--num-machines 0; expected at least 1"),
    (dict(machine_rank=1), "--machine-rank 1; expected below --num-machines 1")])
def test_bad_command_line_numbers_are_refused(checked_config, given, expected):
    with pytest.raises(ConfigError, match=re.escape(expected)):
        preflight(checked_config, flags(**given))


@pytest.mark.parametrize("output_dir, expected", [
    ("", "OUTPUT_DIR is empty; expected the folder the run writes to"),
    ("notes.txt/run", "cannot be created: ")])
def test_output_dir_that_cannot_hold_a_run_is_refused(checked_config, tmp_path, output_dir, expected):
    write(tmp_path / "notes.txt", "notes\n")
    path = str(tmp_path / output_dir) if output_dir else ""
    with pytest.raises(ConfigError, match=re.escape(expected)):
        preflight(with_value(checked_config, "OUTPUT_DIR", path), flags())


# ---- a start that fails leaves OUTPUT_DIR as it found it (fastreid_rae/engine/run_folder.py) --

@pytest.mark.parametrize("had_config", [True, False], ids=["resumed-run", "fresh-folder"])
def test_a_failed_start_puts_config_yaml_back(tmp_path, had_config):
    run = tmp_path / "run"
    run.mkdir()
    if had_config:
        write(run / "config.yaml", "the run's own config\n")
        write(run / "model_final.pth", "weights\n")
    before = snapshot(run)
    with pytest.raises(ConfigError):
        with undone_if_the_start_fails(str(run)):
            write(run / "config.yaml", "a changed config\n")  # fastreid's default_setup
            write(run / "metrics.json", "{}\n")
            raise ConfigError("the checkpoint does not fit")
    assert snapshot(run) == before


def test_a_failure_after_a_checkpoint_keeps_the_config_it_was_trained_with(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(RuntimeError):
        with undone_if_the_start_fails(str(run)):
            write(run / "config.yaml", "this run's config\n")
            write(run / "last_checkpoint", "model_0000.pth")
            raise RuntimeError("diverged")
    assert (run / "config.yaml").read_text() == "this run's config\n"


def test_a_refused_start_leaves_the_folder_byte_identical(tmp_path):
    run = tmp_path / "run"
    write(run / "log.txt", "the run's log\n")
    write(run / "config.yaml", "the run's own config\n")
    write(run / "model_final.pth", "weights\n")
    before = snapshot(run)
    with pytest.raises(ConfigError):
        with left_as_found_if_refused(str(run)):
            with open(run / "log.txt", "a") as log:
                log.write("the refused attempt's lines\n")
            write(run / "config.yaml", "a changed config\n")
            write(run / "events.out.tfevents.1.host", "events\n")
            raise ConfigError("the checkpoint does not fit")
    assert snapshot(run) == before


def test_a_refused_start_removes_the_folders_it_created(tmp_path):
    with pytest.raises(ConfigError):
        with left_as_found_if_refused(str(tmp_path / "new" / "run")):
            write(tmp_path / "new" / "run" / "log.txt", "lines\n")
            raise ConfigError("refused")
    assert list(tmp_path.iterdir()) == []


def assert_same_tree(left, right):
    """Every file of ``left`` and ``right`` byte for byte, and no file in one only."""
    comparison = filecmp.dircmp(left, right)
    assert (comparison.left_only, comparison.right_only) == ([], [])
    _, mismatch, errors = filecmp.cmpfiles(left, right, comparison.common_files, shallow=False)
    assert (mismatch, errors) == ([], [])
    for folder in comparison.common_dirs:
        assert_same_tree(left / folder, right / folder)


def tiny_run_arguments(tiny_world, run, *extra):
    return ["--config-file", str(SUPERVISED_CONFIG), *extra, "DATASETS.ROOT", str(tiny_world),
            "OUTPUT_DIR", str(run), "SOLVER.MAX_EPOCH", "1", "SOLVER.IMS_PER_BATCH", "16",
            "DATALOADER.NUM_WORKERS", "0", "TEST.EVAL_PERIOD", "1", "INPUT.SIZE_TRAIN", "[32, 16]",
            "INPUT.SIZE_TEST", "[32, 16]"]


@pytest.fixture(scope="module")
def finished_run(tiny_world, tmp_path_factory, train_net):
    """A direct-transfer run trained to its end by tools/train_net.py (one epoch of 32 x 16
    images): its checkpoint, config.yaml, log.txt, metrics.json, results.json and events."""
    run = tmp_path_factory.mktemp("finished") / "run"
    train_net.main(train_net.argument_parser().parse_args(tiny_run_arguments(tiny_world, run)))
    return run


def test_a_refused_resume_leaves_the_finished_run_byte_identical(finished_run, tiny_world, tmp_path):
    run, untouched = tmp_path / "run", tmp_path / "untouched"
    shutil.copytree(finished_run, run)
    shutil.copytree(finished_run, untouched)
    # another architecture than the run's checkpoint: refused once the trainer has been built
    completed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tools/train_net.py"),
         *tiny_run_arguments(tiny_world, run, "--resume"), "MODEL.BACKBONE.DEPTH", "34x"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr
    assert completed.stderr.strip().splitlines()[-1].startswith(
        f"error: checkpoint '{run / 'model_final.pth'}' does not fit the model built from the config")
    assert_same_tree(run, untouched)


def test_a_refused_evaluation_leaves_the_run_byte_identical(finished_run, tiny_world, tmp_path,
                                                           train_net):
    from fastreid_rae.checkpoint_files import CheckpointLoadError

    run, untouched = tmp_path / "run", tmp_path / "untouched"
    shutil.copytree(finished_run, run)
    shutil.copytree(finished_run, untouched)
    arguments = tiny_run_arguments(tiny_world, run, "--eval-only")
    with pytest.raises(CheckpointLoadError, match="does not fit the model built from the config"):
        train_net.main(train_net.argument_parser().parse_args(
            arguments + ["MODEL.WEIGHTS", str(run / "model_final.pth"), "MODEL.BACKBONE.DEPTH", "34x"]))
    assert_same_tree(run, untouched)  # its eval_model_final/ folder is gone with its log


# ---- images in other modes than 8-bit RGB ------------------------------------------------

def _recoded(image_path, mode):
    """The picture at ``image_path`` re-encoded in ``mode``: a valid file of another kind."""
    from PIL import Image

    with Image.open(image_path) as image:
        rgb = image.convert("RGB")
    if mode == "I;16":  # 16-bit greyscale PNG
        Image.fromarray((np.asarray(rgb.convert("L")).astype(np.uint16) * 257)).save(
            image_path, format="PNG")
        return
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    rgb.convert(mode).save(image_path, format=fmt)


@pytest.mark.parametrize("mode", ["RGBA", "CMYK", "P", "L"])
def test_valid_image_in_another_mode_passes_and_loads_as_rgb(tiny_world, tmp_path, mode):
    from fastreid.data.common import CommDataset

    root = world_copy(tiny_world, tmp_path, "DukeMTMC-reID", "Market-1501-v15.09.15")
    image = sorted((root / "Market-1501-v15.09.15" / "query").iterdir())[3]
    _recoded(image, mode)
    preflight_on(root, tmp_path)  # no error
    item = CommDataset([(str(image), 0, 0)], transform=None, relabel=False)[0]
    assert item["images"].mode == "RGB"


@pytest.mark.parametrize("damage, reason", [
    ("16-bit", "mode I;16: not 8-bit samples"), ("bomb", "decompression bomb")])
def test_image_training_cannot_use_is_named_up_front(tiny_world, tmp_path, monkeypatch, damage, reason):
    from PIL import Image

    root = world_copy(tiny_world, tmp_path, "DukeMTMC-reID", "Market-1501-v15.09.15")
    image = sorted((root / "Market-1501-v15.09.15" / "query").iterdir())[3]
    if damage == "16-bit":
        _recoded(image, "I;16")
    else:  # one picture far above PIL's pixel limit, cheaply: a lower limit, a larger picture
        with Image.open(image) as small:
            small.convert("RGB").resize((640, 1280)).save(image, format="PNG")
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100_000)
    with pytest.raises(DatasetLayoutError) as error:
        preflight_on(root, tmp_path)
    assert f"  - {image} (" in str(error.value)
    assert reason in str(error.value)


# ---- the other tools' command lines (fastreid_rae/cli.py) ----------------------------------

@pytest.mark.parametrize("tool, arguments, expected", [
    ("make_synthetic.py", ["--root", "{tmp}/world", "--preview-dir", "{tmp}/notes.txt"],
     "argument --preview-dir: '{tmp}/notes.txt' is a file; expected a folder"),
    ("demo.py", ["--output", "{tmp}/notes.txt/demo"],
     "argument --output: '{tmp}/notes.txt/demo' cannot be created: '{tmp}/notes.txt' is a file"),
    ("demo.py", ["--preset", "huge"], "argument --preset: invalid choice: 'huge'")])
def test_tool_arguments_are_refused_while_parsing(tmp_path, capsys, tool, arguments, expected):
    write(tmp_path / "notes.txt", "notes\n")
    spec = importlib.util.spec_from_file_location(tool[:-3], REPO_ROOT / "tools" / tool)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.raises(SystemExit) as exit_:
        module.parse_args([argument.format(tmp=tmp_path) for argument in arguments])
    assert exit_.value.code == 2
    assert expected.format(tmp=tmp_path) in capsys.readouterr().err.strip().splitlines()[-1]
