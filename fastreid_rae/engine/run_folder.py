"""What a run may leave in OUTPUT_DIR besides training: an evaluation's own folder, and
nothing at all from a start that failed.

fastreid's ``default_setup`` writes ``config.yaml`` before the model is built. A start that
then failed (a checkpoint that does not fit, a bad --resume) left that config.yaml behind:
in a fresh folder it made pre-flight refuse the corrected rerun as "already holds a run", and
in a run's own folder (--resume with a changed config, --eval-only) it replaced the config
that the run's checkpoints were trained with.
"""
import contextlib
import glob
import logging
import os
from typing import Dict, Optional

from ..atomic import atomic_open
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
    for name, content in contents.items():
        path = os.path.join(output_dir, name)
        if content is None:
            if os.path.exists(path):
                os.remove(path)
        elif _read(path) != content:
            with atomic_open(path, "wb") as f:
                f.write(content)
    logger.warning(f"the run failed before its first checkpoint: {', '.join(contents)} in "
                   f"{output_dir} are as they were before it started")
