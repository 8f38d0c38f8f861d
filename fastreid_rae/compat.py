"""Make fastreid 1.4.0 import and run on torch 2.x, numpy 2 and Python 3.11 (WIP)."""
import collections
import collections.abc
import sys
import types

import torch


def _install_import_shims():
    if "torch._six" not in sys.modules:
        six = types.ModuleType("torch._six")
        six.string_classes = (str, bytes)
        sys.modules["torch._six"] = six
    for name in ("Mapping", "Sequence", "MutableMapping", "Iterable"):
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))


_install_import_shims()
