"""tools/train_translator.py with bad input (issue 29): one line naming the file, key or flag,
before it trains, and nothing already written is deleted or rewritten (docs/errors.md,
"tools/train_translator.py"). Nothing is trained: each case is refused before the first step.
"""
import re
import shutil
import subprocess
import sys

import pytest
import torch

from fastreid_rae.checkpoint_files import CheckpointLoadError
from fastreid_rae.data.datasets import DatasetLayoutError
from fastreid_rae.engine.config_loading import ConfigError
from fastreid_rae.translation import TranslatorTrainer
from fastreid_rae.translation.data import train_image_paths

from .conftest import REPO_ROOT
from .tool_loading import load_tool
from .test_errors import assert_same_tree, merged, world_copy, write

CONFIG = REPO_ROOT / "configs/RAE/synthetic/duke2market.yml"

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="module")
def tool():
    return load_tool("train_translator.py")


def arguments(world, out, *flags, opts=()):
    return ["--config-file", str(CONFIG), "--output-dir", str(out), "--no-progress", *flags,
            "DATASETS.ROOT", str(world), "DATALOADER.NUM_WORKERS", "0",
            "RAE.TRANSLATOR.IMS_PER_BATCH", "2", *map(str, opts)]


def run_tool(tool, world, out, *flags, opts=()):
    return tool.main(tool.argument_parser().parse_args(arguments(world, out, *flags, opts=opts)))


def translator_checkpoint(world, out, *opts):
    """An untrained translator's checkpoint, as tools/train_translator.py writes it."""
    cfg = merged(CONFIG, "DATASETS.ROOT", world, "RAE.TRANSLATOR.IMS_PER_BATCH", 2, *opts)
    return TranslatorTrainer(cfg, out).save()


@pytest.mark.parametrize("flags, expected", [
    (["--iters", "0"], "argument --iters: 0; expected at least 1"),
    (["--grid-images", "-1"], "argument --grid-images: -1; expected at least 1"),
    (["--output-dir", "{tmp}/notes.txt/run"], "argument --output-dir: '{tmp}/notes.txt/run' cannot be "
                                              "created: '{tmp}/notes.txt' is a file"),
    (["--translate", "{tmp}/notes.txt"], "argument --translate: '{tmp}/notes.txt' is a file; expected a folder"),
], ids=["iters", "grid-images", "output-under-a-file", "translate-is-a-file"])
def test_bad_flags_are_refused_while_parsing(tool, tmp_path, capsys, flags, expected):
    write(tmp_path / "notes.txt", "notes\n")
    given = ["--config-file", str(CONFIG), "--output-dir", str(tmp_path / "run"),
             *[flag.format(tmp=tmp_path) for flag in flags]]
    with pytest.raises(SystemExit) as exit_:
        tool.argument_parser().parse_args(given)
    assert exit_.value.code == 2
    assert expected.format(tmp=tmp_path) in capsys.readouterr().err.strip().splitlines()[-1]


TRANSLATOR_CONFIG_CASES = [
    (["RAE.TRANSLATOR.BASE_LR", "-0.1"], "RAE.TRANSLATOR.BASE_LR = -0.1; expected a finite number above 0.0"),
    (["RAE.TRANSLATOR.MAX_ITER", "0"], "RAE.TRANSLATOR.MAX_ITER = 0; expected at least 1"),
    (["RAE.TRANSLATOR.GENERATOR.NAME", "UnetGenerator"],
     "RAE.TRANSLATOR.GENERATOR.NAME = 'UnetGenerator' is not one of ['ResnetGenerator']"),
    (["DATASETS.TARGET", ""], "the PT-hat translator learns source -> target style: DATASETS.TARGET is empty"),
    (["DATASETS.TARGET", "Market"], "DATASETS.TARGET: dataset 'Market' is not in fastreid's DATASET_REGISTRY "
                                    "(did you mean 'Market1501'?)"),
    (["DATASETS.NAMES", "('DukeMTMC', 'MSMT17')"], "DATASETS.NAMES must hold one name"),
    (["INPUT.SIZE_TRAIN", "[64]"], "INPUT.SIZE_TRAIN = [64]; expected [height, width]"),
    (["MODEL.DEVICE", "gpu"], "MODEL.DEVICE = 'gpu' is not a torch device"),
    (["RAE.TRANSLATOR.IMS_PER_BATCH", "100000"], "RAE.TRANSLATOR.IMS_PER_BATCH is 100000, but DukeMTMC"),
    # the generator's own rule, checked when it is built: it failed at the first iteration
    (["INPUT.SIZE_TRAIN", "[30, 16]"], "needs H and W divisible by 4 (2^RAE.TRANSLATOR.GENERATOR."
                                       "NUM_DOWNSAMPLING), got 30 x 16"),
]


@pytest.mark.parametrize("opts, expected", TRANSLATOR_CONFIG_CASES,
                         ids=[f"{opts[0]}={opts[1]}" for opts, _ in TRANSLATOR_CONFIG_CASES])
def test_bad_config_is_refused_before_the_output_dir_exists(tool, tiny_world, tmp_path, opts, expected):
    with pytest.raises(ConfigError) as error:
        run_tool(tool, tiny_world, tmp_path / "run", opts=opts)
    assert expected in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / "run").exists()


def test_missing_dataset_root_is_named_before_anything_is_written(tool, tmp_path):
    with pytest.raises(DatasetLayoutError, match=re.escape(f"dataset root '{tmp_path / 'absent'}'")):
        run_tool(tool, tmp_path / "absent", tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_unreadable_target_image_is_named_before_training(tool, tiny_world, tmp_path):
    root = world_copy(tiny_world, tmp_path, "DukeMTMC-reID", "Market-1501-v15.09.15")
    image = train_image_paths("Market1501", str(root))[0]
    with open(image, "r+b") as file:
        file.truncate(100)
    with pytest.raises(DatasetLayoutError) as error:
        run_tool(tool, root, tmp_path / "run")
    assert str(error.value).startswith("Market1501: 1 image file(s) cannot be read")
    assert f"  - {image} (" in str(error.value)
    assert not (tmp_path / "run").exists()


@pytest.fixture
def previous_run(tiny_world, tmp_path):
    """--output-dir of an earlier translator run: its checkpoint and log."""
    run = tmp_path / "run"
    translator_checkpoint(tiny_world, run)
    write(run / "log.txt", "the earlier run's log\n")
    write(run / "translations.png", "a picture\n")
    shutil.copytree(run, tmp_path / "untouched")
    return run


@pytest.mark.parametrize("damage, flags, expected", [
    (None, [], "translator.pth' exists; pass --resume to continue it or --overwrite to replace it"),
    ("truncated", ["--resume"], "cannot load checkpoint"),
    ("text", ["--resume"], "cannot load checkpoint"),
    ("foreign", ["--resume"], "is not a translator checkpoint (no 'model' entry"),
    ("narrower", ["--resume"], "does not fit the translator built from the config "
                            "(RAE.TRANSLATOR.GENERATOR.BASE_CHANNELS = 8 in the file, 16 in the config)"),
], ids=["exists", "truncated", "text", "foreign", "narrower"])
def test_refused_start_leaves_the_earlier_run_byte_identical(tool, tiny_world, tmp_path, previous_run,
                                                              damage, flags, expected):
    checkpoint = previous_run / "translator.pth"
    if damage == "truncated":
        checkpoint.write_bytes(checkpoint.read_bytes()[:1000])
    elif damage == "text":
        checkpoint.write_text("MODEL:\n  DEVICE: cpu\n")
    elif damage == "foreign":
        torch.save({"state_dict": {"weight": torch.zeros(1)}}, checkpoint)
    elif damage == "narrower":  # another generator than the config's: torch's error listed every tensor
        translator_checkpoint(tiny_world, previous_run, "RAE.TRANSLATOR.GENERATOR.BASE_CHANNELS", 8)
    shutil.rmtree(tmp_path / "untouched")
    shutil.copytree(previous_run, tmp_path / "untouched")
    with pytest.raises((ConfigError, CheckpointLoadError)) as error:
        run_tool(tool, tiny_world, previous_run, *flags)
    assert expected in str(error.value) and "\n" not in str(error.value)
    assert_same_tree(previous_run, tmp_path / "untouched")  # log.txt and all


def test_resume_without_a_checkpoint_is_refused(tool, tiny_world, tmp_path):
    with pytest.raises(ConfigError, match="--resume: no translator.pth in --output-dir"):
        run_tool(tool, tiny_world, tmp_path / "run", "--resume")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("case, expected", [
    ("exists", "exists; pass --overwrite to replace it"),
    ("not-a-translation", "exists and is not a translated set (no translation.json)"),
    ("holds-the-datasets", "holds DATASETS.ROOT"),
    ("is-the-output-dir", "holds --output-dir"),
    ("inside-the-datasets", "lies inside DATASETS.ROOT"),
])
def test_translate_folder_is_checked_before_training_and_never_deleted(tool, tiny_world, tmp_path, case,
                                                                        expected):
    root = world_copy(tiny_world, tmp_path / "data", "DukeMTMC-reID", "Market-1501-v15.09.15")
    folder = {"exists": tmp_path / "notes", "not-a-translation": tmp_path / "notes",
              "holds-the-datasets": tmp_path / "data", "is-the-output-dir": tmp_path / "run",
              "inside-the-datasets": root / "translated"}[case]
    write(tmp_path / "notes" / "mine.txt", "keep me\n")
    overwrite = [] if case == "exists" else ["--overwrite"]
    shutil.copytree(tmp_path, tmp_path.parent / f"{tmp_path.name}_untouched")
    with pytest.raises(ConfigError, match=re.escape(expected)):
        run_tool(tool, root, tmp_path / "run", "--translate", str(folder), *overwrite)
    assert_same_tree(tmp_path, tmp_path.parent / f"{tmp_path.name}_untouched")


def test_command_line_prints_one_line_and_exit_1(tiny_world, tmp_path, previous_run):
    (previous_run / "translator.pth").write_bytes(b"")
    shutil.rmtree(tmp_path / "untouched")
    shutil.copytree(previous_run, tmp_path / "untouched")
    completed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tools/train_translator.py"),
         *arguments(tiny_world, previous_run, "--resume")],
        capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr
    assert completed.stderr.strip().splitlines()[-1] == (
        f"error: cannot load checkpoint '{previous_run / 'translator.pth'}' (empty file); expected a file "
        f"written by tools/train_net.py or tools/train_translator.py, holding only tensors, numbers, "
        f"strings and plain containers (an arbitrary pickle is refused)")
    assert_same_tree(previous_run, tmp_path / "untouched")
