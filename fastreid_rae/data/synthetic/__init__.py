"""A procedurally generated two-domain person re-ID world (see docs/synthetic_world.md).

Pedestrians with a consistent look walk through camera networks styled after Market-1501,
DukeMTMC-reID and MSMT17; their pictures are written in the exact layouts fastreid's own
loaders read, with frame numbers that follow each walk.

    from fastreid_rae.data.synthetic import generate_world
    card = generate_world("datasets/synthetic", preset="small", seed=0, domains=("market", "duke"))
"""
from .layouts import layout_for
from .plan import plan_domain
from .presets import DEFAULT_DOMAINS, DOMAIN_STYLES, PRESETS, get_domain_style, get_preset, parse_domains
from .world import (CARD_NAME, GENERATOR_VERSION, MANIFEST_NAME, generate_world, load_world_card,
                    plan_dataset, read_manifest)

__all__ = [
    "generate_world", "plan_dataset", "load_world_card", "read_manifest", "plan_domain", "layout_for",
    "get_preset", "get_domain_style", "parse_domains", "PRESETS", "DOMAIN_STYLES",
    "DEFAULT_DOMAINS", "CARD_NAME", "MANIFEST_NAME", "GENERATOR_VERSION",
]
