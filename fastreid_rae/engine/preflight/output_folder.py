"""OUTPUT_DIR's policy: never replace another run's files unless told to (--overwrite), and
then only the files that mark a run."""
import glob
import logging
import os
from typing import List, Sequence

from ...cli import folder_problem
from ...evaluation.results import RESULTS_FILE
from ..config_loading import ConfigError

logger = logging.getLogger(__name__)

# Files that only a run writes into OUTPUT_DIR (fastreid: config.yaml, metrics.json,
# last_checkpoint, model_*.pth; ours: results.json). log.txt and tensorboard events are
# appended to, never replaced, so they do not mark a run.
RUN_FILES = ("config.yaml", "metrics.json", RESULTS_FILE, "last_checkpoint")
CHECKPOINT_GLOB = "model_*.pth"
_MAX_REPORTED = 10  # files named in one message


def first_few(items: Sequence[str]) -> List[str]:
    more = len(items) - _MAX_REPORTED
    return list(items[:_MAX_REPORTED]) + ([f"(and {more} more)"] if more > 0 else [])


def previous_run_files(output_dir: str) -> List[str]:
    """Names of the files in ``output_dir`` that say a run already wrote there."""
    if not os.path.isdir(output_dir):
        return []
    names = [name for name in RUN_FILES if os.path.exists(os.path.join(output_dir, name))]
    return names + sorted(os.path.basename(path)
                          for path in glob.glob(os.path.join(output_dir, CHECKPOINT_GLOB)))


def check_output_path(output_dir: str) -> None:
    """A folder that exists or can be created, and written to."""
    if not output_dir:  # fastreid would then keep no checkpoint: hours of training lost
        raise ConfigError("OUTPUT_DIR is empty; expected the folder the run writes to")
    problem = folder_problem(output_dir)
    if problem:
        raise ConfigError(f"OUTPUT_DIR '{output_dir}' {problem}")


def check_output_dir(output_dir: str, resume: bool, overwrite: bool) -> None:
    if resume and overwrite:
        raise ConfigError("--resume continues the run in OUTPUT_DIR and --overwrite replaces it; "
                          "pass one of them")
    check_output_path(output_dir)
    found = previous_run_files(output_dir)
    if found and not (resume or overwrite):
        raise ConfigError(f"OUTPUT_DIR '{output_dir}' already holds a run "
                          f"({', '.join(first_few(found))}); pass "
                          f"--resume to continue it, --overwrite to replace it, or set "
                          f"OUTPUT_DIR to a new folder")


def clear_previous_run(output_dir: str) -> List[str]:
    """Delete the previous run's files (``--overwrite``), so a later ``--resume`` cannot pick
    up its checkpoints; log.txt and tensorboard events are kept and appended to."""
    removed = previous_run_files(output_dir)
    for name in removed:
        os.remove(os.path.join(output_dir, name))
    if removed:
        logger.warning(f"--overwrite: removed {', '.join(removed)} from {output_dir}")
    return removed
