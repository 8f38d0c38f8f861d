"""``PSEUDO_LABEL_REGISTRY`` and ``build_pseudo_labeler(cfg)``.

Each backend registers a builder function named as its config value (fastreid's Registry
keys objects by ``__name__``, the way fastreid registers ``build_resnet_backbone``)::

    @PSEUDO_LABEL_REGISTRY.register()
    def dbscan(cfg) -> DBSCANPseudoLabeler: ...
"""
from typing import List

from fastreid.utils.registry import Registry

from .base import PseudoLabeler

PSEUDO_LABEL_REGISTRY = Registry("PSEUDO_LABEL")
PSEUDO_LABEL_REGISTRY.__doc__ = """
Registry of target-domain pseudo-label backends. A registered object is called with the
config and returns a ``PseudoLabeler``; ``cfg.RAE.PSEUDO_LABEL.NAME`` picks one.
"""


def registered_pseudo_labelers() -> List[str]:
    # fastreid's Registry has no public listing; its name map is the source of truth
    return sorted(PSEUDO_LABEL_REGISTRY._obj_map)


def build_pseudo_labeler(cfg) -> PseudoLabeler:
    """The backend named by ``cfg.RAE.PSEUDO_LABEL.NAME``, configured from ``cfg.RAE.PSEUDO_LABEL``."""
    name = cfg.RAE.PSEUDO_LABEL.NAME
    if name not in registered_pseudo_labelers():
        raise KeyError(
            f"RAE.PSEUDO_LABEL.NAME = {name!r} is not a registered pseudo-label backend; "
            f"expected one of {registered_pseudo_labelers()}"
        )
    return PSEUDO_LABEL_REGISTRY.get(name)(cfg)
