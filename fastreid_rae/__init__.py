"""fastreid-rae: RAE for unsupervised cross-dataset person re-ID, as a fastreid add-on.

Importing this package first makes fastreid work on modern PyTorch, then registers
every RAE part in fastreid's registries.
"""
from . import compat  # noqa: F401  (must run before anything imports fastreid)

__version__ = "0.1.0"
from . import data  # noqa: F401,E402  (CUHK03Pair1, CUHK01 in fastreid's DATASET_REGISTRY)
from . import pseudo_labels  # noqa: F401,E402  (PSEUDO_LABEL_REGISTRY backends)
from . import modeling  # noqa: F401,E402  (RAE parts in fastreid's registries)
from . import translation  # noqa: F401,E402  (PT-hat translator parts in their registries)
