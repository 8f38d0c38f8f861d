"""Soft-edged 2-D shapes painted onto a float RGB canvas.

Each shape is evaluated only inside its bounding box and gets an anti-aliased alpha from a
(signed) distance in pixels, so a whole pedestrian is a few dozen small vectorised numpy ops.
"""
from dataclasses import dataclass, field
from typing import Optional

import numpy as np


@dataclass
class Patch:
    """Where a shape lies (rows/cols slices), how opaque it is, and its local coordinates."""
    rows: slice
    cols: slice
    alpha: np.ndarray          # (h, w) in [0, 1]
    xx: np.ndarray             # (1, w) pixel x of each column
    yy: np.ndarray             # (h, 1) pixel y of each row
    extra: dict = field(default_factory=dict)   # shape-specific coordinates for shading/texture


class Canvas:
    def __init__(self, pixels: np.ndarray):
        self.pixels = pixels                   # float32 (h, w, 3), 0-1, painted in place
        self.height, self.width = pixels.shape[:2]
        self._xs = np.arange(self.width, dtype=np.float32) + 0.5   # pixel centres
        self._ys = np.arange(self.height, dtype=np.float32) + 0.5

    def window(self, x0, x1, y0, y1):
        c0, c1 = max(int(np.floor(x0)), 0), min(int(np.ceil(x1)) + 1, self.width)
        r0, r1 = max(int(np.floor(y0)), 0), min(int(np.ceil(y1)) + 1, self.height)
        if c0 >= c1 or r0 >= r1:
            return None
        return slice(r0, r1), slice(c0, c1), self._xs[None, c0:c1], self._ys[r0:r1, None]

    def paint(self, patch: Optional[Patch], colour, shade=None, opacity: float = 1.0) -> None:
        """Alpha-blend a flat colour (3,) or a texture (h, w, 3), optionally shaded (h, w)."""
        if patch is None:
            return
        colour = np.asarray(colour, dtype=np.float32)
        if shade is not None:
            colour = colour * shade[..., None]
        region = self.pixels[patch.rows, patch.cols]
        alpha = (patch.alpha * opacity)[..., None]
        region += alpha * (colour - region)


def _soft(inside_px):
    """Signed distance to the edge (positive inside) -> anti-aliased coverage."""
    return np.clip(inside_px + 0.5, 0.0, 1.0)


def ellipse(canvas: Canvas, cx, cy, rx, ry) -> Optional[Patch]:
    win = canvas.window(cx - rx, cx + rx, cy - ry, cy + ry)
    if win is None:
        return None
    rows, cols, xx, yy = win
    nx, ny = (xx - cx) / rx, (yy - cy) / ry
    radius = np.sqrt(nx * nx + ny * ny)
    alpha = _soft((1.0 - radius) * min(rx, ry))
    return Patch(rows, cols, alpha, xx, yy, {"nx": nx, "ny": ny, "r": radius})


def capsule(canvas: Canvas, x0, y0, x1, y1, radius) -> Optional[Patch]:
    """A limb: the segment (x0, y0)-(x1, y1) thickened by radius; extra t runs 0->1 along it."""
    win = canvas.window(min(x0, x1) - radius, max(x0, x1) + radius,
                        min(y0, y1) - radius, max(y0, y1) + radius)
    if win is None:
        return None
    rows, cols, xx, yy = win
    dx, dy = x1 - x0, y1 - y0
    length2 = max(dx * dx + dy * dy, 1e-6)
    t = np.clip(((xx - x0) * dx + (yy - y0) * dy) / length2, 0.0, 1.0)
    dist = np.hypot(xx - (x0 + t * dx), yy - (y0 + t * dy))
    return Patch(rows, cols, _soft(radius - dist), xx, yy, {"t": t, "d": dist / radius})


def trapezoid(canvas: Canvas, y_top, y_bottom, half_top, half_bottom, cx_top, cx_bottom) -> Optional[Patch]:
    """Rows y_top..y_bottom whose half-width and centre vary linearly (torso, coat, skirt)."""
    x_min = min(cx_top - half_top, cx_bottom - half_bottom)
    x_max = max(cx_top + half_top, cx_bottom + half_bottom)
    win = canvas.window(x_min, x_max, y_top, y_bottom)
    if win is None:
        return None
    rows, cols, xx, yy = win
    s = np.clip((yy - y_top) / max(y_bottom - y_top, 1e-6), 0.0, 1.0)
    half = half_top + s * (half_bottom - half_top)
    centre = cx_top + s * (cx_bottom - cx_top)
    across = (xx - centre) / np.maximum(half, 1e-6)          # -1..1 across the shape
    alpha = _soft(half - np.abs(xx - centre)) * _soft(np.minimum(yy - y_top, y_bottom - yy))
    return Patch(rows, cols, alpha, xx, yy, {"u": across, "s": s})


def rounded_box(canvas: Canvas, x0, y0, x1, y1, corner) -> Optional[Patch]:
    win = canvas.window(x0, x1, y0, y1)
    if win is None:
        return None
    rows, cols, xx, yy = win
    cx, cy, hx, hy = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
    corner = min(corner, hx, hy)
    qx = np.abs(xx - cx) - (hx - corner)
    qy = np.abs(yy - cy) - (hy - corner)
    outside = np.hypot(np.maximum(qx, 0.0), np.maximum(qy, 0.0)) + np.minimum(np.maximum(qx, qy), 0.0)
    alpha = _soft(corner - outside)
    return Patch(rows, cols, alpha, xx, yy, {"u": (xx - cx) / max(hx, 1e-6)})


def restrict(patch: Optional[Patch], mask) -> Optional[Patch]:
    """The same patch, only where mask (broadcastable to its alpha) is true or weights it."""
    if patch is None:
        return None
    return Patch(patch.rows, patch.cols, patch.alpha * mask, patch.xx, patch.yy, patch.extra)


def cylinder_shade(across, strength: float = 0.3):
    """Darken towards the sides of a roughly round body part (across in -1..1)."""
    return 1.0 - strength * np.clip(across, -1.0, 1.0) ** 2
