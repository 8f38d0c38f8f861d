"""fastreid-rae: RAE for unsupervised cross-dataset person re-ID, as a fastreid add-on.

Importing this package first makes fastreid work on modern PyTorch, then registers
every RAE part in fastreid's registries.
"""
from . import compat  # noqa: F401  (must run before anything imports fastreid)

__version__ = "0.1.0"
