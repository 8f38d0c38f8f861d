"""How a camera develops a painted scene into a crop: light, colour, optics, noise.

This is where most of the pixel-level domain gap lives: a domain-wide colour cast and
contrast, each camera's own gains, sun gradient, blur and sensor noise, and (MSMT) the light
of the recording session: mornings are cool and dim, noon bright and hard, afternoons warm.
"""
from dataclasses import dataclass
from typing import Tuple

import cv2
import numpy as np

from .cameras import Camera

# (RGB gains, brightness) of outdoor light by time of day, for sessions named like '0302noon'.
TIME_OF_DAY_LIGHT = {
    "morning": ((0.93, 1.0, 1.1), 0.8),
    "noon": ((1.04, 1.02, 0.97), 1.15),
    "afternoon": ((1.12, 1.0, 0.84), 0.95),
}
OVERCAST_CONTRAST = {"0113": 0.82, "0114": 0.88}   # winter days are grey; March days clearer
LUMA = np.array([0.299, 0.587, 0.114], np.float32)


@dataclass(frozen=True)
class Light:
    gains: Tuple[float, float, float]
    brightness: float
    contrast: float
    saturation: float
    slope: float


def session_light(camera: Camera, session: str) -> Light:
    """The camera's light during one recording session ('' = the domain has one session)."""
    gains, brightness, contrast = np.array(camera.gains), camera.brightness, camera.contrast
    for slot, (slot_gains, slot_brightness) in TIME_OF_DAY_LIGHT.items():
        if session.endswith(slot):
            # Indoor lighting is artificial: daylight changes reach it only faintly.
            weight = 0.25 if camera.indoor else 1.0
            gains = gains * np.array(slot_gains) ** weight
            brightness = brightness * slot_brightness ** weight
            contrast = contrast * OVERCAST_CONTRAST.get(session[:4], 1.0) ** weight
    return Light(tuple(float(g) for g in gains), float(brightness), float(contrast),
                 camera.saturation, camera.light_slope)


def develop(pixels: np.ndarray, light: Light, camera: Camera, rng: np.random.Generator,
            size: Tuple[int, int]) -> np.ndarray:
    """Scene (float32 0-1, any size) -> uint8 crop of `size` (rows, cols)."""
    h, w = pixels.shape[:2]
    exposure = light.brightness * np.exp(rng.normal(0.0, 0.07))      # auto-exposure jitter
    slope = light.slope + rng.normal(0.0, 0.05)
    ramp = 1.0 + slope * np.linspace(-1.0, 1.0, w, dtype=np.float32)
    # gains x exposure x sun gradient as one (1, w, 3) factor: a single pass over the pixels
    img = pixels * (ramp[None, :, None] * (np.asarray(light.gains, np.float32) * np.float32(exposure)))
    sat, con = np.float32(light.saturation), np.float32(light.contrast)
    luma = (img @ LUMA)[..., None]
    # saturation around the luma, then contrast around mid-grey, folded into one expression
    img = con * (sat * img + (1 - sat) * luma) + np.float32(0.45) * (1 - con)
    if (h, w) != tuple(size):
        img = cv2.resize(img, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    sigma = camera.blur_sigma * np.exp(rng.normal(0.0, 0.2))
    img = cv2.GaussianBlur(img, (0, 0), float(sigma))
    if rng.random() < 0.12:   # motion blur of a fast walker or a slow shutter
        length = int(rng.integers(3, 6))
        kernel = np.full((1, length), 1.0 / length, np.float32)
        img = cv2.filter2D(img, -1, kernel)
    img += rng.standard_normal(img.shape, dtype=np.float32) * np.float32(camera.noise_sigma)
    return np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)
