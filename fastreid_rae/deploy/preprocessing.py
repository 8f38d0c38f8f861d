"""What a deployed feature extractor is fed: an image file read the way fastreid's test loader
reads it, as plain numpy, so that search, export and any runtime without fastreid agree.

fastreid's test transforms (``build_transforms(cfg, is_train=False)``) are: PIL image ->
``Resize(INPUT.SIZE_TEST, interpolation=BICUBIC)`` -> ``ToTensor`` that keeps 0..255. The
mean/std normalisation (MODEL.PIXEL_MEAN / PIXEL_STD) is not a transform: it runs inside the
model's forward, so it is part of every exported graph. docs/deploy.md spells this out.
"""
from typing import Dict, Sequence, Tuple

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import DeployError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def test_size(cfg) -> Tuple[int, int]:
    """(height, width) the model's test images are resized to (INPUT.SIZE_TEST)."""
    size = tuple(cfg.INPUT.SIZE_TEST)
    if len(size) != 2 or min(size) < 1:
        raise DeployError(f"INPUT.SIZE_TEST must be [height, width] to deploy a model, got {list(size)}")
    return size


def read_image(path: str, size: Tuple[int, int]) -> np.ndarray:
    """The image at ``path`` as the model's input: 3 x height x width float32, RGB, 0..255,
    resized bicubically (PIL) as fastreid's test loader does. EXIF rotation is applied and
    grey or RGBA images become RGB (fastreid's loader passes RGBA through as 4 channels,
    which no model takes). An unreadable file raises DeployError naming it."""
    height, width = size
    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image).convert("RGB")
            image = image.resize((width, height), Image.BICUBIC)
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as error:
        raise DeployError(f"cannot read image '{path}': {error}") from None
    return np.ascontiguousarray(np.asarray(image, dtype=np.float32).transpose(2, 0, 1))


def read_batch(paths: Sequence[str], size: Tuple[int, int]) -> np.ndarray:
    """N x 3 x height x width float32 of :func:`read_image` for each of ``paths``."""
    return np.stack([read_image(path, size) for path in paths])


def input_description(cfg) -> Dict[str, object]:
    """The exported graph's input, exactly (written beside every export, docs/deploy.md)."""
    height, width = test_size(cfg)
    return {
        "name": "images",
        "shape": ["batch", 3, height, width],
        "dtype": "float32",
        "layout": "NCHW",
        "channels": "RGB",
        "range": [0.0, 255.0],
        "resize": f"PIL Image.BICUBIC to {width} x {height} (width x height), as fastreid's test loader",
        # applied inside the graph: do not normalise the input yourself
        "normalization_in_graph": {"pixel_mean": list(cfg.MODEL.PIXEL_MEAN), "pixel_std": list(cfg.MODEL.PIXEL_STD)},
    }
