"""Atomic file writes: a reader (or a resumed run) sees the old file or the new one, never
half of one, whatever instant a crash, a kill or a full disk strikes. The one helper every
writer of the project uses (checkpoints, results, indexes, exports, translator grids, the
synthetic world's card and manifest; whole folders: the synthetic world's datasets and the
translated PT-hat set)."""
import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

_TEMPORARY = re.compile(r"^\..+\.\d+\.tmp")
_PARTIAL_FOLDER_PREFIX = ".partial-"


def temporary_path(path) -> Path:
    """Where ``path`` is written before it is renamed into place: a hidden file beside it that
    keeps its suffix (PIL and torch pick a format by it)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.tmp{path.suffix}")


def is_temporary(name: str) -> bool:
    """Whether a file name is one of temporary_path's (left behind only by a killed process)."""
    return bool(_TEMPORARY.match(name))


@contextmanager
def atomic_path(path):
    """Yields a temporary path beside ``path`` to write to; on success it replaces ``path``
    (os.replace, atomic on one file system), on any error it is removed and ``path`` is left
    untouched. Creates ``path``'s folder if needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_path(path)
    try:
        yield temporary
        os.replace(temporary, path)
    except Exception as error:
        # torch.save reports a full disk as "unexpected pos N vs M", naming no file
        free_mib = shutil.disk_usage(path.parent).free / 2**20
        raise OSError(f"could not write {path} ({free_mib:.0f} MiB free on its disk; "
                      f"the previous file, if any, is untouched): {error}") from error
    finally:
        if temporary.exists():
            temporary.unlink()


@contextmanager
def atomic_open(path, mode: str = "wb", **open_kwargs):
    """``open(path, mode)`` on a temporary file beside ``path``, flushed to disk (fsync) and
    renamed onto it on success; see atomic_path."""
    with atomic_path(path) as temporary, open(temporary, mode, **open_kwargs) as f:
        yield f
        f.flush()
        os.fsync(f.fileno())


def partial_folder(path) -> Path:
    """Where the folder ``path`` is built before atomic_folder renames it into place."""
    path = Path(path)
    return path.with_name(_PARTIAL_FOLDER_PREFIX + path.name)


def is_partial_folder(name: str) -> bool:
    """Whether a folder name is one of partial_folder's (left behind by an interrupted run)."""
    return name.startswith(_PARTIAL_FOLDER_PREFIX)


@contextmanager
def atomic_folder(path):
    """Yields an empty folder beside ``path`` to fill; on success it is renamed to ``path``
    (which must not exist), so a folder named ``path`` is never half-written. After a crash or
    an interrupt the partial folder stays, hidden, and the next call starts it afresh."""
    partial = partial_folder(path)
    if partial.exists():  # left by an interrupted run
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    yield partial
    os.replace(partial, path)
