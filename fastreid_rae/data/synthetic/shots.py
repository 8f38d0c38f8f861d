"""One picture: choose its random circumstances (Shot), then paint and develop it.

`kind` says what the detector box holds: 'person' (a good detection of an identity), 'junk'
(a bad detection of someone: a tiny or cut-off body; Market's pid -1) or 'distractor'
(background or a body fragment; Market's pid 0000).
"""
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from .cameras import VIEW_BIASES, Camera
from .identities import Appearance
from .photo import develop, session_light
from .presets import COLOURS, DomainStyle
from .render import VIEWS, Occluder, Pose, draw_occluder, draw_person
from .scenes import background_crop, camera_panorama
from .seeding import pick
from .shapes import Canvas

KINDS = ("person", "junk", "distractor")


@dataclass(frozen=True)
class Shot:
    size: Tuple[int, int]          # output crop (rows, cols)
    render_scale: float            # paint at this fraction of the size, then resize (optics)
    pose: Optional[Pose]           # None: nobody in the box
    occluder: Optional[Occluder]


def _crop_size(rng, camera: Camera, style: DomainStyle) -> Tuple[int, int]:
    photo = style.photo
    height = camera.crop_height * np.exp(rng.normal(0.0, photo.height_jitter * 0.8))
    height = int(np.clip(round(height), *photo.height_range))
    width = int(round(height * rng.uniform(*photo.aspect)))
    return height, width


def _person_pose(rng, camera: Camera, view: Optional[str]) -> Pose:
    view = view or VIEWS[int(rng.choice(4, p=VIEW_BIASES[camera.view_bias]))]
    stride = float(rng.uniform(-1.0, 1.0))
    height = float(rng.uniform(0.8, 0.94))
    feet = 0.5 + height / 2 + float(rng.normal(0.0, 0.02))
    if rng.random() < 0.05:        # the box cuts the feet off
        feet += float(rng.uniform(0.08, 0.16))
    return Pose(view, stride, -stride * float(rng.uniform(0.4, 1.0)), height,
                0.5 + float(rng.normal(0.0, 0.05)), feet)


def _bad_detection_pose(rng) -> Pose:
    """Too big (a body part fills the box) or too small (mostly background)."""
    view = VIEWS[int(rng.integers(4))]
    if rng.random() < 0.6:
        height = float(rng.uniform(1.5, 2.4))
        feet = float(rng.uniform(0.9, height))       # which part shows: legs ... head
    else:
        height = float(rng.uniform(0.3, 0.55))
        feet = float(rng.uniform(height + 0.05, 1.0))
    return Pose(view, float(rng.uniform(-1, 1)), 0.0, height, float(rng.uniform(0.2, 0.8)), feet)


def _occluder(rng, camera: Camera, style: DomainStyle) -> Optional[Occluder]:
    if rng.random() >= camera.occlusion_prob:
        return None
    kind = pick(rng, (("pole", 0.3), ("object", 0.45), ("passerby", 0.25)))
    if kind == "pole":
        grey = rng.uniform(0.25, 0.6)
        return Occluder(kind, (grey, grey, grey * 1.05), float(rng.uniform(0.1, 0.9)), 0.0,
                        float(rng.uniform(0.06, 0.14)))
    if kind == "object":   # bins, bikes, cars: mostly dull colours
        colour = tuple(float(c) for c in rng.uniform(0.1, 0.6, 3))
        return Occluder(kind, colour, float(rng.uniform(0.1, 0.9)), float(rng.uniform(0.62, 0.85)),
                        float(rng.uniform(0.5, 1.3)))
    colour = tuple(c / 255.0 for c in COLOURS[pick(rng, style.clothing.upper_palette)])
    return Occluder(kind, colour, -0.05 if rng.random() < 0.5 else 1.05, 0.0, float(rng.uniform(0.6, 1.2)))


def sample_shot(rng: np.random.Generator, camera: Camera, style: DomainStyle, kind: str = "person",
                view: Optional[str] = None) -> Shot:
    if kind not in KINDS:
        raise ValueError(f"unknown picture kind {kind!r}; valid kinds: {', '.join(KINDS)}")
    size = _crop_size(rng, camera, style)
    scale = float(np.clip(camera.detail * rng.uniform(0.9, 1.1), 0.3, 1.0))
    if kind == "person":
        pose = _person_pose(rng, camera, view)
    elif kind == "junk" or rng.random() < 0.4:
        pose = _bad_detection_pose(rng)
    else:
        pose = None
    return Shot(size, scale, pose, _occluder(rng, camera, style))


def render_shot(shot: Shot, look: Optional[Appearance], camera: Camera, style: DomainStyle,
                seed: int, session: str, rng: np.random.Generator) -> np.ndarray:
    """Paint background, person and occluder at render scale, then develop to a uint8 crop."""
    rows = max(8, int(round(shot.size[0] * shot.render_scale)))
    cols = max(4, int(round(shot.size[1] * shot.render_scale)))
    panorama = camera_panorama(seed, style.name, camera.index, camera.scene, camera.horizon,
                               style.network.season)
    canvas = Canvas(background_crop(panorama, rng, rows, cols))
    if shot.pose is not None and look is not None:
        draw_person(canvas, look, shot.pose)
    draw_occluder(canvas, shot.occluder)
    return develop(canvas.pixels, session_light(camera, session), camera, rng, shot.size)
