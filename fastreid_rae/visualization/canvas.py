"""Shared drawing helpers: matplotlib figures rendered off-screen (Agg) and an exact pixel
grid of image cells, so a picture's size and every cell's position follow from its layout."""
import os
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

DPI = 100
BACKGROUND = (255, 255, 255)


def new_figure(width_px: int, height_px: int) -> Figure:
    """A figure of exactly ``width_px`` x ``height_px`` pixels, drawn by Agg: no pyplot, so no
    global backend state and no display is ever needed."""
    figure = Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI, facecolor="white")
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure: Figure, path: str) -> str:
    """Write ``figure`` as PNG to ``path`` (folders created) at its own size; returns the path.
    No ``bbox_inches="tight"``: it would crop to the drawn content and break the layout size."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    figure.savefig(path, dpi=DPI, format="png", facecolor=figure.get_facecolor())
    return path


def resized(image: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """``image`` (H x W x 3 uint8) resized to ``size`` = (height, width)."""
    height, width = size
    if image.shape[:2] == (height, width):
        return image
    return np.asarray(Image.fromarray(image).resize((width, height), Image.BILINEAR))


def read_image(path: str) -> np.ndarray:
    """The RGB pixels (H x W x 3 uint8) of the image file at ``path``."""
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def framed(image: np.ndarray, size: Tuple[int, int], color: Sequence[int], thickness: int) -> np.ndarray:
    """``image`` shrunk to fit inside a ``thickness``-pixel border of ``color``, the whole
    ``size`` = (height, width). The border frames the picture instead of covering its edges."""
    height, width = size
    cell = np.empty((height, width, 3), dtype=np.uint8)
    cell[:] = np.asarray(color, dtype=np.uint8)
    inner = (height - 2 * thickness, width - 2 * thickness)
    cell[thickness:height - thickness, thickness:width - thickness] = resized(image, inner)
    return cell


@dataclass(frozen=True)
class GridLayout:
    """Rows of image cells in column groups (e.g. query | model A's top-k | model B's top-k).

    All in pixels. Across: margin, the groups (``cells`` per group, ``pad`` between cells,
    ``group_gap`` between groups), margin. Down: margin, a ``header`` band for the group
    titles, the rows (``pad`` between them), margin.
    """
    rows: int
    groups: Tuple[int, ...]
    cell_size: Tuple[int, int] = (128, 64)  # (height, width): a person crop's 2:1
    pad: int = 4
    group_gap: int = 24
    margin: int = 8
    header: int = 24

    def group_width(self, group: int) -> int:
        cells = self.groups[group]
        return cells * self.cell_size[1] + (cells - 1) * self.pad

    @property
    def width(self) -> int:
        groups = sum(self.group_width(g) for g in range(len(self.groups)))
        return 2 * self.margin + groups + (len(self.groups) - 1) * self.group_gap

    @property
    def height(self) -> int:
        rows = self.rows * self.cell_size[0] + (self.rows - 1) * self.pad
        return 2 * self.margin + self.header + rows

    def group_left(self, group: int) -> int:
        return self.margin + sum(self.group_width(g) + self.group_gap for g in range(group))

    def cell_origin(self, row: int, group: int, column: int) -> Tuple[int, int]:
        """(top, left) pixel of a cell, counted from the picture's top-left corner."""
        top = self.margin + self.header + row * (self.cell_size[0] + self.pad)
        left = self.group_left(group) + column * (self.cell_size[1] + self.pad)
        return top, left


class ImageGrid:
    """A figure laid out by a :class:`GridLayout`: ``put`` places a cell's pixels unresampled
    at its exact position, ``title`` writes a group's name in the header band."""

    def __init__(self, layout: GridLayout):
        self.layout = layout
        self.figure = new_figure(layout.width, layout.height)

    def put(self, row: int, group: int, column: int, image: np.ndarray) -> None:
        top, left = self.layout.cell_origin(row, group, column)
        cell = resized(image, self.layout.cell_size)
        # figimage counts y from the bottom edge to the image's lower edge
        self.figure.figimage(cell, xo=left, yo=self.layout.height - top - cell.shape[0], origin="upper")

    def title(self, group: int, text: str, column: Optional[int] = None, fontsize: float = 9) -> None:
        """``text`` centred above a group, or above one ``column`` of it."""
        layout = self.layout
        if column is None:
            center = layout.group_left(group) + layout.group_width(group) / 2
        else:
            center = layout.cell_origin(0, group, column)[1] + layout.cell_size[1] / 2
        middle = layout.margin + layout.header / 2
        self.figure.text(center / layout.width, 1 - middle / layout.height, text, fontsize=fontsize,
                         ha="center", va="center")

    def save(self, path: str) -> str:
        return save_figure(self.figure, path)
