"""A run folder (config.yaml + model_final.pth) of an untrained RAE with every module on, for
the search and export tests: they need the real architecture and a fixed set of weights,
not a good model, so no training is spent on it."""
from pathlib import Path

import numpy as np
import torch
from fastreid.modeling import build_model
from PIL import Image

from fastreid_rae.visualization.loading import default_config

from .conftest import REPO_ROOT

# a quarter of the CPU configs' pixels; no loader workers (each is a process start-up)
SMALL = ["INPUT.SIZE_TRAIN", [32, 16], "INPUT.SIZE_TEST", [32, 16], "MODEL.HEADS.NUM_CLASSES", 4,
         "DATALOADER.NUM_WORKERS", 0, "MODEL.BACKBONE.PRETRAIN", False, "TEST.IMS_PER_BATCH", 16]


def make_run(folder: Path, seed: int = 0) -> Path:
    """``folder`` holding the synthetic duke2market config (Algorithm 2's fused test feature)
    and seeded, freshly initialised weights as model_final.pth."""
    cfg = default_config()
    cfg.merge_from_file(str(REPO_ROOT / "configs/RAE/synthetic/duke2market.yml"))
    cfg.merge_from_list(SMALL + ["OUTPUT_DIR", str(folder)])
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = build_model(cfg)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(cfg.dump())
    torch.save({"model": model.state_dict()}, folder / "model_final.pth")
    return folder


def write_images(folder: Path, count: int, seed: int = 0) -> list:
    """``count`` seeded random RGB images of varied sizes (so every one is resized), as PNG."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        height, width = int(rng.integers(40, 90)), int(rng.integers(20, 45))
        # smooth blobs rather than white noise: resizing then matters, as for a real crop
        coarse = rng.integers(0, 256, (4, 2, 3), dtype=np.uint8)
        image = Image.fromarray(coarse).resize((width, height), Image.BILINEAR)
        path = folder / f"image_{i:03d}.png"
        image.save(path)
        paths.append(str(path))
    return paths
