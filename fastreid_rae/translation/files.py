"""Atomic file writes: a reader (or a resumed run) sees the old complete file or the new one,
never a truncated one from an interrupted write."""
import os
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path):
    """Yields a temporary path beside ``path`` to write to; on success it replaces ``path``
    (os.replace, atomic on one file system), on error it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp{path.suffix}")  # keeps the suffix for PIL
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
