"""What a run may leave in OUTPUT_DIR besides training: an evaluation's own folder, and
nothing at all from a start that failed.

fastreid's ``default_setup`` writes ``config.yaml`` and appends to ``log.txt``, and its
trainer opens a tensorboard events file and ``metrics.json``, all before the checkpoint is
loaded. A start that then failed (a checkpoint that does not fit, a bad --resume) left them
behind: in a fresh folder the config.yaml made pre-flight refuse the corrected rerun as
"already holds a run", and in a run's own folder (--resume with a changed config,
--eval-only) it replaced the config the run's checkpoints were trained with, and the run's
log and events grew with an attempt that never trained.
"""
import contextlib
import glob
import logging
import os
import shutil
from typing import Dict, Optional

from ..atomic import atomic_open
from ..cli import nearest_existing
from ..evaluation.results import RESULTS_FILE

logger = logging.getLogger(__name__)

# Small files a start rewrites before it has trained a step; put back as they were when it fails.
START_FILES = ("config.yaml", "metrics.json", RESULTS_FILE)
# A failure after one of these changed is a failure of training, not of its start: training
# left a state to --resume from, and START_FILES describe it.
PROGRESS_GLOBS = ("last_checkpoint", "model_*.pth")
EVAL_FOLDER_PREFIX = "eval_"


def eval_output_dir(output_dir: str, weights: str) -> str:
    """``<OUTPUT_DIR>/eval_<weights file name>``: --eval-only writes its config.yaml,
    results.json and log there, beside (never over) a training run's own."""
    stem = os.path.splitext(os.path.basename(weights))[0]
    return os.path.join(output_dir, EVAL_FOLDER_PREFIX + stem)


def _read(path: str) -> Optional[bytes]:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


class _FolderContents:
    """What a folder's top level holds now, to go back to: which entries exist, each file's
    size (a start only appends to the files it does not rewrite: log.txt) and the bytes of
    START_FILES (rewritten whole)."""

    def __init__(self, folder: str):
        self.folder = folder
        self.existing_parent = nearest_existing(folder)  # the folders below it a start creates
        self.names = set(os.listdir(folder)) if os.path.isdir(folder) else set()
        self.sizes = {name: os.path.getsize(self._path(name)) for name in self.names
                      if os.path.isfile(self._path(name))}
        self.contents = {name: _read(self._path(name)) for name in START_FILES}

    def _path(self, name: str) -> str:
        return os.path.join(self.folder, name)

    def restore(self) -> None:
        if not os.path.isdir(self.folder):
            return
        for name in set(os.listdir(self.folder)) - self.names:  # the start's own, nothing else's
            path = self._path(name)
            shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) else os.remove(path)
        _put_back(self.folder, self.contents)  # its warning goes into log.txt: cut next
        for name, size in self.sizes.items():
            path = self._path(name)
            if name not in self.contents and os.path.isfile(path) and os.path.getsize(path) > size:
                os.truncate(path, size)
        folder = os.path.abspath(self.folder)
        while folder != self.existing_parent and not os.listdir(folder):
            os.rmdir(folder)
            folder = os.path.dirname(folder)


@contextlib.contextmanager
def left_as_found_if_refused(output_dir: str):
    """Runs a run's start (logging set up, model or trainer built, checkpoint loaded); if it
    raises, ``output_dir`` is left byte for byte as it was: whatever the start created is
    removed (the folder too, when the start created it), log.txt is cut back to its length,
    START_FILES are put back. The error itself says why; a log of the refused attempt in the
    previous run's folder would only change a finished run."""
    found = _FolderContents(output_dir)
    try:
        yield
    except BaseException:
        found.restore()
        raise


def _progress(output_dir: str) -> Dict[str, int]:
    paths = [path for pattern in PROGRESS_GLOBS for path in glob.glob(os.path.join(output_dir, pattern))]
    return {path: os.stat(path).st_mtime_ns for path in paths}


@contextlib.contextmanager
def undone_if_the_start_fails(output_dir: str):
    """Runs the block (a run); if it raises before any checkpoint was written, START_FILES are
    put back as they were (removed when they did not exist)."""
    before = {name: _read(os.path.join(output_dir, name)) for name in START_FILES}
    progress = _progress(output_dir)
    try:
        yield
    except BaseException:
        if _progress(output_dir) == progress:
            _put_back(output_dir, before)
        raise


def _put_back(output_dir: str, contents: Dict[str, Optional[bytes]]) -> None:
    changed = [name for name, content in contents.items()
               if _read(os.path.join(output_dir, name)) != content]
    if not changed:  # e.g. already put back by left_as_found_if_refused
        return
    for name in changed:
        path = os.path.join(output_dir, name)
        if contents[name] is None:
            os.remove(path)
        else:
            with atomic_open(path, "wb") as f:
                f.write(contents[name])
    logger.warning(f"the run failed before its first checkpoint: {', '.join(changed)} in "
                   f"{output_dir} are put back as they were before it started")
