"""Atomic file writes: a reader (or a resumed run) sees the old file or the new one, never
half of one, whatever instant a crash, a kill or a full disk strikes."""
import os
import shutil
from contextlib import contextmanager


@contextmanager
def atomic_open(path, mode: str = "wb"):
    """``open(path, mode)`` on a temporary file beside ``path``, renamed onto it on success
    (after an fsync); on any error the temporary file is removed and ``path`` is untouched."""
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        if os.path.exists(tmp):
            os.remove(tmp)
        if isinstance(error, Exception):
            # torch.save reports a full disk as "unexpected pos N vs M", naming no file.
            free_mib = shutil.disk_usage(os.path.dirname(os.path.abspath(path))).free / 2**20
            raise OSError(f"could not write {path} ({free_mib:.0f} MiB free on its disk; "
                          f"the previous file, if any, is untouched): {error}") from error
        raise
