"""SIGKILL at any instant loses nothing: the run resumes from its last good checkpoint and
ends with the very metrics of a run that was never interrupted (bitwise, on CPU)."""
import signal
import subprocess
import sys

import pytest

from fastreid_rae.evaluation import read_final_metrics

from .conftest import REPO_ROOT


def _driver(world, output_dir, *args):
    command = [sys.executable, "-m", "tests.kill_driver", str(world), str(output_dir), *args]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)


def test_killed_three_times_then_resumed_ends_with_identical_metrics(tiny_world, tmp_path):
    once = _driver(tiny_world, tmp_path / "once")
    assert once.returncode == 0, once.stderr[-3000:]

    killed = tmp_path / "killed"
    # 1. during epoch 2's clustering; 2. mid-iteration (forward done, no update yet);
    # 3. halfway through writing a checkpoint
    for attempt, kill_at in enumerate(["assign:2", "step:2", "save:1"]):
        run = _driver(tiny_world, killed, "--kill-at", kill_at, *(["--resume"] if attempt else []))
        assert run.returncode == -signal.SIGKILL, (kill_at, run.stderr[-3000:])
        last = (killed / "last_checkpoint").read_text()
        assert (killed / last).is_file(), f"last_checkpoint names a missing {last}"
    finished = _driver(tiny_world, killed, "--resume")
    assert finished.returncode == 0, finished.stderr[-3000:]

    assert read_final_metrics(killed) == read_final_metrics(tmp_path / "once")
    # the half-written checkpoint was never renamed into place
    assert not any(path.suffix == ".pth" and path.stat().st_size == 0 for path in killed.iterdir())


def test_a_failed_write_names_the_file_and_leaves_the_old_one(tmp_path):
    from fastreid_rae.atomic import atomic_open

    checkpoint = tmp_path / "model_0001.pth"
    checkpoint.write_bytes(b"good")
    # torch.save on a full disk fails like this, naming no file
    with pytest.raises(OSError, match=r"could not write .*model_0001\.pth \(\d+ MiB free.*unexpected pos"):
        with atomic_open(checkpoint, "wb") as f:
            f.write(b"half")
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 6478592 vs 6478488")
    assert checkpoint.read_bytes() == b"good"
    assert [path.name for path in tmp_path.iterdir()] == ["model_0001.pth"]


def test_a_writer_killed_mid_file_leaves_a_temporary_the_world_knows_as_its_own(tmp_path):
    # a SIGKILL skips every cleanup: what is left must be recognisable, so a re-run of
    # make_synthetic --overwrite removes it instead of refusing the folder as foreign
    from fastreid_rae.atomic import is_temporary, temporary_path
    from fastreid_rae.data.synthetic.world import _is_world_entry

    leftover = temporary_path(tmp_path / "world_card.json")
    assert leftover.parent == tmp_path and leftover.suffix == ".json" and leftover.name.startswith(".")
    assert is_temporary(leftover.name) and _is_world_entry(leftover.name)
    assert not is_temporary("world_card.json") and not is_temporary(".hidden")


def test_a_folder_appears_whole_or_not_at_all_and_a_leftover_is_started_afresh(tmp_path):
    from fastreid_rae.atomic import atomic_folder, is_partial_folder, partial_folder

    target = tmp_path / "translated"
    with pytest.raises(KeyboardInterrupt):
        with atomic_folder(target) as partial:
            (partial / "a.jpg").write_bytes(b"half")
            raise KeyboardInterrupt
    assert not target.exists() and partial_folder(target).name.startswith(".")
    assert is_partial_folder(partial_folder(target).name) and not is_partial_folder(target.name)
    assert [p.name for p in partial_folder(target).iterdir()] == ["a.jpg"]
    with atomic_folder(target) as partial:
        assert not any(partial.iterdir())  # the interrupted run's files are gone
        (partial / "b.jpg").write_bytes(b"whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["translated"]
    assert [p.name for p in target.iterdir()] == ["b.jpg"]
