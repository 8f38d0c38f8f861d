"""Sampling one person's appearance: fixed for the identity, shared by all its pictures.

Colours are drawn from a domain's named palette and then jittered per identity, so that many
people wear 'black' but no two blacks are the same; telling people apart needs the combination
of garments, patterns, accessories, hair and build, not a single colour.
"""
import colorsys
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from .presets import COLOURS, ClothingStyle
from .seeding import pick

RGB = Tuple[float, float, float]  # 0-1


@dataclass(frozen=True)
class Garment:
    colour: RGB
    accent: RGB            # second colour of stripes/checks, inner shirt of two_tone, logo
    pattern: str           # solid / stripes / checks / two_tone / logo
    pattern_period: float  # stripe/check period as a fraction of body height


@dataclass(frozen=True)
class Body:
    head: float            # head height / body height
    shoulders: float       # shoulder width / body height
    hips: float            # hip width / body height
    legs: float            # hip-to-sole length / body height
    limbs: float           # arm radius / body height
    slouch: float          # forward lean of the torso in side view, fraction of height


@dataclass(frozen=True)
class Appearance:
    body: Body
    skin: RGB
    hair: RGB
    long_hair: bool
    upper: Garment
    long_sleeves: bool
    coat: bool             # upper garment reaches the knees
    lower: Garment
    lower_kind: str        # trousers / shorts / skirt
    shoes: RGB
    backpack: Optional[RGB]
    handbag: Optional[RGB]
    handbag_side: int      # +1: carried in the right hand, -1: left
    hat: Optional[RGB]
    hat_kind: str          # cap / beanie


def _named(name: str) -> RGB:
    r, g, b = COLOURS[name]
    return (r / 255.0, g / 255.0, b / 255.0)


def _jittered(rng: np.random.Generator, name: str, spread: float) -> RGB:
    """A named colour moved a little in hue, saturation and value."""
    h, s, v = colorsys.rgb_to_hsv(*_named(name))
    h = (h + rng.normal(0.0, spread * 0.35)) % 1.0
    s = float(np.clip(s * np.exp(rng.normal(0.0, spread * 2.0)), 0.0, 1.0))
    v = float(np.clip(v * np.exp(rng.normal(0.0, spread * 2.0)), 0.03, 1.0))
    return tuple(float(c) for c in colorsys.hsv_to_rgb(h, s, v))


def _contrasting(rng: np.random.Generator, palette, base: str, spread: float) -> RGB:
    """An accent colour from the same palette that differs from the base colour."""
    for _ in range(8):
        name = pick(rng, palette)
        if name != base:
            return _jittered(rng, name, spread)
    return _jittered(rng, "white" if base != "white" else "black", spread)


def _garment(rng: np.random.Generator, style: ClothingStyle, palette) -> Garment:
    name = pick(rng, palette)
    return Garment(
        colour=_jittered(rng, name, style.colour_jitter),
        accent=_contrasting(rng, style.upper_palette, name, style.colour_jitter),
        pattern=pick(rng, style.patterns),
        pattern_period=float(rng.uniform(0.035, 0.08)),
    )


def sample_appearance(style: ClothingStyle, rng: np.random.Generator) -> Appearance:
    body = Body(
        head=float(rng.uniform(0.115, 0.14)),
        shoulders=float(rng.uniform(0.2, 0.27)),
        hips=float(rng.uniform(0.16, 0.21)),
        legs=float(rng.uniform(0.45, 0.52)),
        limbs=float(rng.uniform(0.026, 0.036)),
        slouch=float(rng.uniform(0.0, 0.03)),
    )
    upper = _garment(rng, style, style.upper_palette)
    lower = _garment(rng, style, style.lower_palette)
    # Trousers with checks look odd and are rare; keep lower garments mostly plain.
    if rng.random() < 0.8:
        lower = Garment(lower.colour, lower.accent, "solid", lower.pattern_period)
    has = lambda prob: bool(rng.random() < prob)  # noqa: E731
    return Appearance(
        body=body,
        skin=_jittered(rng, pick(rng, style.skin_tones), 0.02),
        hair=_jittered(rng, pick(rng, style.hair_colours), 0.03),
        long_hair=has(style.long_hair_prob),
        upper=upper,
        long_sleeves=has(style.long_sleeve_prob),
        coat=has(style.coat_prob),
        lower=lower,
        lower_kind=pick(rng, style.lower_kinds),
        shoes=_jittered(rng, pick(rng, style.shoe_palette), 0.04),
        backpack=_jittered(rng, pick(rng, style.upper_palette), 0.05) if has(style.backpack_prob) else None,
        handbag=_jittered(rng, pick(rng, style.upper_palette), 0.05) if has(style.handbag_prob) else None,
        handbag_side=1 if rng.random() < 0.5 else -1,
        hat=_jittered(rng, pick(rng, style.upper_palette), 0.05) if has(style.hat_prob) else None,
        hat_kind=pick(rng, style.hat_kinds),
    )
