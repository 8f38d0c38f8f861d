"""Background scenes: one wide panorama per camera, cropped behind every person it films.

A camera always looks at the same place, so its crops share a background type and colours
(a real cue cameras leave in re-ID data) while the window moves as people walk through it.
Scenes are drawn from smooth noise, grids and blocks; the season tints foliage and ground.
"""
from functools import lru_cache
from typing import Callable, Dict

import cv2
import numpy as np

from .seeding import Purpose, rng_for

PANORAMA_SIZE = (128, 480)  # rows, cols; crops are cut from it and resized


def _rgb(*values):
    return np.array(values, np.float32) / 255.0


def smooth_noise(rng, h, w, cell):
    """Values in ~[0, 1] varying over about `cell` pixels."""
    coarse = rng.random((h // cell + 2, w // cell + 2)).astype(np.float32)
    return cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC).clip(0.0, 1.0)


def _fill(img, rows, colour, rng=None, texture=0.0, cell=6):
    """Paint rows with a colour, modulated by smooth noise when texture > 0."""
    block = img[rows]
    block[:] = colour
    if texture:
        noise = smooth_noise(rng, block.shape[0], block.shape[1], cell)
        block *= (1.0 - texture / 2 + texture * noise)[..., None]


def _vertical_gradient(img, rows, top, bottom):
    n = img[rows].shape[0]
    ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None, None]
    img[rows] = top * (1 - ramp) + bottom * ramp


def _grid_lines(img, rows, period_x, period_y, colour, width=1, skew=0.0):
    """Tile or slab joints on the ground; skew fakes a little perspective."""
    block = img[rows]
    h, w = block.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w]
    xs = xs + skew * ys
    mask = ((xs % period_x) < width) | ((ys % period_y) < width)
    block[mask] = block[mask] * 0.4 + colour * 0.6


def _blocks(rng, img, rows, height_range, width_range, base, spread, mortar, offset_rows=True):
    """Brick or stone courses: rows of blocks, each with its own shade."""
    block = img[rows]
    h, w = block.shape[:2]
    y = 0
    while y < h:
        bh = int(rng.integers(*height_range))
        x = -int(rng.integers(0, width_range[1])) if offset_rows else 0
        while x < w:
            bw = int(rng.integers(*width_range))
            shade = base * np.exp(rng.normal(0.0, spread, 3)).astype(np.float32)
            block[y:y + bh, max(x, 0):x + bw] = shade
            block[y:y + bh, max(x, 0):max(x, 0) + 1] = mortar
            x += bw
        block[y:y + 1, :] = mortar
        y += bh


def _foliage(rng, img, rows, season):
    """Tree crowns in summer/spring; bare branches in winter."""
    block = img[rows]
    h, w = block.shape[:2]
    if season == "winter":
        for _ in range(int(rng.integers(6, 14))):
            x = rng.uniform(0, w)
            for _ in range(5):
                dx, length = rng.normal(0, 6), rng.uniform(h * 0.2, h * 0.6)
                pts = np.array([[x, h], [x + dx, h - length]], np.int32)
                cv2.polylines(block, [pts], False, (0.22, 0.2, 0.19), 1)
        return
    leaf = _rgb(60, 120, 50) if season == "summer" else _rgb(96, 104, 64)
    canopy = smooth_noise(rng, h, w, 10) > 0.45
    shade = 0.7 + 0.5 * smooth_noise(rng, h, w, 3)
    block[canopy] = (leaf * shade[..., None])[canopy]


def _trunks(rng, img, top, bottom, count, colour):
    for _ in range(count):
        x = int(rng.integers(0, img.shape[1]))
        width = int(rng.integers(2, 5))
        img[top:bottom, x:x + width] = colour * rng.uniform(0.8, 1.1)


def _windows(rng, img, rows, wall):
    """A facade: a wall with a grid of dark glass panes."""
    block = img[rows]
    h, w = block.shape[:2]
    block[:] = wall
    pitch_x, pitch_y = int(rng.integers(26, 40)), int(rng.integers(22, 32))
    glass = _rgb(70, 84, 96) * rng.uniform(0.8, 1.3)
    for y in range(4, h - 8, pitch_y):
        for x in range(int(rng.integers(0, pitch_x)), w, pitch_x):
            block[y:y + pitch_y // 2, x:x + pitch_x // 2] = glass * rng.uniform(0.7, 1.2)


def _bikes(rng, img, ground_top, count):
    """Parked bicycles (Market's background is full of them): pairs of wheels and a frame."""
    h, w = img.shape[:2]
    for _ in range(count):
        x, r = int(rng.integers(10, w - 10)), int(rng.integers(6, 10))
        y = int(rng.integers(ground_top + r, h - r))
        colour = tuple(float(c) for c in _rgb(40, 40, 45) * rng.uniform(0.6, 2.5))
        cv2.circle(img, (x, y), r, colour, 1)
        cv2.circle(img, (x + 2 * r + 2, y), r, colour, 1)
        cv2.line(img, (x, y), (x + r + 1, y - r), colour, 1)
        cv2.line(img, (x + r + 1, y - r), (x + 2 * r + 2, y), colour, 1)


def _ground(season, kind):
    tones = {
        "pavement": _rgb(150, 148, 140), "asphalt": _rgb(78, 78, 80), "slabs": _rgb(176, 168, 152),
        "grass": {"summer": _rgb(92, 140, 62), "spring": _rgb(128, 124, 78),
                  "winter": _rgb(118, 112, 84)}[season],
        "snow": _rgb(214, 218, 226), "tiles": _rgb(204, 196, 178), "stone": _rgb(70, 66, 64),
    }
    return tones[kind]


def _sky(season):
    return {"summer": (_rgb(150, 190, 230), _rgb(220, 230, 236)),
            "spring": (_rgb(170, 186, 204), _rgb(214, 216, 214)),
            "winter": (_rgb(168, 172, 180), _rgb(200, 202, 206))}[season]


# Each scene draws the panorama in place; `hz` is the row where the ground starts.
def scene_pavement(rng, img, hz, season):
    _windows(rng, img, slice(0, hz), _rgb(196, 186, 166) * rng.uniform(0.85, 1.1))
    _fill(img, slice(hz, None), _ground(season, "pavement"), rng, 0.2)
    _grid_lines(img[hz:], slice(None), int(rng.integers(14, 24)), int(rng.integers(8, 14)),
                _rgb(110, 108, 104), skew=rng.uniform(-0.4, 0.4))
    if season == "summer":
        _bikes(rng, img, hz, int(rng.integers(2, 7)))


def scene_campus_green(rng, img, hz, season):
    top, bottom = _sky(season)
    _vertical_gradient(img, slice(0, hz), top, bottom)
    _foliage(rng, img, slice(0, int(hz * 0.9)), season)
    _trunks(rng, img, int(hz * 0.5), hz, int(rng.integers(3, 8)), _rgb(70, 52, 40))
    _fill(img, slice(hz, None), _ground(season, "grass"), rng, 0.35, cell=4)
    path_top = hz + int((img.shape[0] - hz) * rng.uniform(0.35, 0.6))
    _fill(img, slice(path_top, None), _ground(season, "pavement"), rng, 0.15)


def scene_brick(rng, img, hz, season):
    _blocks(rng, img, slice(0, hz), (6, 8), (14, 20), _rgb(150, 72, 52) * rng.uniform(0.8, 1.15),
            0.08, _rgb(170, 160, 150))
    _fill(img, slice(hz, None), _ground(season, "pavement"), rng, 0.25)


def scene_road(rng, img, hz, season):
    top, bottom = _sky(season)
    _vertical_gradient(img, slice(0, hz), top, bottom)
    _foliage(rng, img, slice(int(hz * 0.3), hz), season)
    _fill(img, slice(hz, None), _ground(season, "asphalt"), rng, 0.2, cell=3)
    h, w = img.shape[:2]
    lane_y = hz + int((h - hz) * rng.uniform(0.3, 0.7))
    marking = _rgb(225, 225, 215) if rng.random() < 0.7 else _rgb(220, 190, 60)
    for x in range(0, w, 40):
        img[lane_y:lane_y + 2, x:x + 22] = marking
    for _ in range(int(rng.integers(0, 3))):   # parked cars
        x = int(rng.integers(0, w - 60))
        colour = _rgb(*rng.integers(30, 220, 3))
        img[hz - 14:hz + 10, x:x + 60] = colour
        img[hz - 12:hz - 4, x + 8:x + 50] = _rgb(50, 60, 70)


def scene_plaza(rng, img, hz, season):
    top, bottom = _sky(season)
    _vertical_gradient(img, slice(0, hz), top, bottom)
    h, w = img.shape[:2]
    x = 0
    while x < w:   # distant buildings
        bw, bh = int(rng.integers(30, 90)), int(rng.integers(hz // 3, hz))
        img[hz - bh:hz, x:x + bw] = _rgb(*rng.integers(120, 200, 3)) * 0.9
        x += bw + int(rng.integers(0, 30))
    _fill(img, slice(hz, None), _ground(season, "slabs"), rng, 0.15)
    _grid_lines(img[hz:], slice(None), int(rng.integers(24, 40)), int(rng.integers(12, 20)),
                _rgb(130, 124, 112), skew=rng.uniform(-0.6, 0.6))
    if season == "summer":
        _bikes(rng, img, hz, int(rng.integers(0, 4)))


def scene_stone_wall(rng, img, hz, season):
    """Gothic campus buildings: irregular grey-brown stones."""
    _blocks(rng, img, slice(0, hz), (5, 11), (8, 24), _rgb(118, 104, 92) * rng.uniform(0.85, 1.1),
            0.16, _rgb(80, 76, 72))
    ground = "grass" if rng.random() < 0.4 else "pavement"
    _fill(img, slice(hz, None), _ground(season, ground), rng, 0.25)


def scene_snow_path(rng, img, hz, season):
    top, bottom = _sky("winter")
    _vertical_gradient(img, slice(0, hz), top, bottom)
    _foliage(rng, img, slice(0, hz), "winter")
    _trunks(rng, img, int(hz * 0.3), hz, int(rng.integers(4, 9)), _rgb(52, 44, 40))
    _fill(img, slice(hz, None), _ground(season, "snow"), rng, 0.12, cell=8)
    h = img.shape[0]
    path_top = hz + int((h - hz) * rng.uniform(0.3, 0.55))
    _fill(img, slice(path_top, path_top + int((h - hz) * 0.4)), _rgb(96, 96, 100), rng, 0.3, cell=4)


def scene_indoor_hall(rng, img, hz, season):
    wall = _rgb(220, 210, 188) * rng.uniform(0.85, 1.05)
    _fill(img, slice(0, hz), wall, rng, 0.1, cell=20)
    w = img.shape[1]
    for x in range(int(rng.integers(0, 60)), w, int(rng.integers(70, 120))):   # columns
        img[:hz, x:x + 10] = wall * 0.8
    for x in range(10, w, 48):                                                 # ceiling lights
        img[2:6, x:x + 24] = 1.0
    _fill(img, slice(hz, None), _ground(season, "tiles") * rng.uniform(0.9, 1.05), rng, 0.08)
    _grid_lines(img[hz:], slice(None), 20, 10, _rgb(160, 150, 136), skew=rng.uniform(-0.5, 0.5))


def scene_indoor_glass(rng, img, hz, season):
    _fill(img, slice(0, hz), _rgb(110, 130, 146), rng, 0.3, cell=12)
    w = img.shape[1]
    for x in range(0, w, int(rng.integers(30, 46))):   # mullions
        img[:hz, x:x + 3] = _rgb(60, 64, 70)
    _fill(img, slice(hz, None), _ground(season, "stone"), rng, 0.2, cell=10)
    img[hz:hz + 3] = _rgb(40, 40, 44)


SCENES: Dict[str, Callable] = {
    "pavement": scene_pavement, "campus_green": scene_campus_green, "brick": scene_brick,
    "road": scene_road, "plaza": scene_plaza, "stone_wall": scene_stone_wall,
    "snow_path": scene_snow_path, "indoor_hall": scene_indoor_hall,
    "indoor_glass": scene_indoor_glass,
}


@lru_cache(maxsize=64)
def camera_panorama(seed: int, domain: str, camera_index: int, scene: str, horizon: float,
                    season: str) -> np.ndarray:
    """The camera's whole background (float32, 0-1); cached per worker process."""
    if scene not in SCENES:
        raise ValueError(f"unknown scene {scene!r}; valid scenes: {', '.join(SCENES)}")
    rng = rng_for(seed, domain, Purpose.SCENE, camera_index)
    h, w = PANORAMA_SIZE
    img = np.zeros((h, w, 3), np.float32)
    SCENES[scene](rng, img, int(round(horizon * h)), season)
    img = cv2.GaussianBlur(img, (0, 0), 0.6)   # backgrounds are out of focus
    img.setflags(write=False)
    return img


def background_crop(panorama: np.ndarray, rng, height: int, width: int) -> np.ndarray:
    """A window of the panorama with the crop's aspect, resized to (height, width)."""
    ph, pw = panorama.shape[:2]
    win_h = int(ph * rng.uniform(0.7, 1.0))
    win_w = min(pw, max(4, int(round(win_h * width / height))))
    y0 = int(rng.integers(0, ph - win_h + 1))
    x0 = int(rng.integers(0, pw - win_w + 1))
    window = panorama[y0:y0 + win_h, x0:x0 + win_w]
    if rng.random() < 0.5:
        window = window[:, ::-1]
    return cv2.resize(np.ascontiguousarray(window), (width, height), interpolation=cv2.INTER_AREA)
