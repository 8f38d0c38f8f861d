"""Where the datasets live: the config's DATASETS.ROOT first, else FASTREID_DATASETS."""
import os
from typing import Optional

from .errors import DatasetLayoutError

ROOT_ENV_VAR = "FASTREID_DATASETS"


def resolve_root(cfg_root: Optional[str] = None) -> str:
    """The absolute dataset root: ``cfg_root`` when given (non-empty), else $FASTREID_DATASETS.

    A root that was given but does not exist is an error, never a silent fall-back to the
    other source, so a typo in the config cannot quietly load other data.
    """
    if cfg_root:
        root, source = cfg_root, "config DATASETS.ROOT"
    elif os.environ.get(ROOT_ENV_VAR):
        root, source = os.environ[ROOT_ENV_VAR], f"environment variable {ROOT_ENV_VAR}"
    else:
        raise DatasetLayoutError(
            f"no dataset root given: set DATASETS.ROOT in the config or the environment "
            f"variable {ROOT_ENV_VAR} to the folder holding the datasets "
            f"(e.g. cuhk03_detected/, cuhk01/, Market-1501-v15.09.15/)")
    root = os.path.abspath(os.path.expanduser(root))
    if not os.path.isdir(root):
        raise DatasetLayoutError(f"dataset root '{root}' (from {source}) is not an existing folder")
    return root
