"""Picture sheets of a world for the docs and for eyeballing a new style.

- `identity_grid`: rows = training identities, columns = their pictures spread over cameras
  (read back from a generated world, so it shows exactly what a loader gets).
- `viewpoint_sheet`: the same people drawn from the front, back, left and right under one
  neutral light (rendered directly), to show what each viewpoint reveals.
"""
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Dict, List, Sequence, Tuple, Union

from PIL import Image, ImageDraw

from .cameras import build_camera_network
from .identities import sample_appearance
from .presets import get_domain_style
from .render import VIEWS
from .seeding import Purpose, rng_for
from .shots import render_shot, sample_shot
from .world import read_manifest

CELL = (128, 64)   # rows, cols of one picture in a sheet (Market's crop size)
GAP = 2


def _sheet(cells: List[List[Image.Image]], labels: List[List[str]]) -> Image.Image:
    h, w = CELL
    rows, cols = len(cells), max(len(r) for r in cells)
    sheet = Image.new("RGB", (cols * (w + GAP) + GAP, rows * (h + GAP) + GAP), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for r, (row, row_labels) in enumerate(zip(cells, labels)):
        for c, (picture, label) in enumerate(zip(row, row_labels)):
            x, y = GAP + c * (w + GAP), GAP + r * (h + GAP)
            sheet.paste(picture.convert("RGB").resize((w, h), Image.BILINEAR), (x, y))
            if label:
                width = draw.textlength(label)
                draw.rectangle((x, y, x + width + 3, y + 11), fill=(0, 0, 0))
                draw.text((x + 2, y), label, fill=(255, 255, 255))
    return sheet


def identity_grid(root: Union[str, Path], domain: str, rows: int = 6, cols: int = 8) -> Image.Image:
    """Training identities seen by the most cameras; pictures taken round-robin over cameras."""
    by_person: Dict[int, Dict[int, List[str]]] = defaultdict(lambda: defaultdict(list))
    for row in read_manifest(root):
        if row["dataset"] == domain and row["split"] in ("train", "val"):
            by_person[int(row["world_id"])][int(row["camera"])].append(row["path"])
    if not by_person:
        raise ValueError(f"{root} holds no training pictures of domain {domain!r}")
    people = sorted(by_person, key=lambda wid: (-len(by_person[wid]), wid))[:rows]
    cells, labels = [], []
    for wid in people:
        per_camera = [(cam, sorted(paths)) for cam, paths in sorted(by_person[wid].items())]
        picked: List[Tuple[int, str]] = []
        depth = 0
        while len(picked) < cols and any(depth < len(p) for _, p in per_camera):
            picked += [(cam, paths[depth]) for cam, paths in per_camera if depth < len(paths)]
            depth += 1
        picked = picked[:cols]
        cells.append([Image.open(Path(root) / path) for _, path in picked])
        labels.append([f"c{cam}" for cam, _ in picked])
    return _sheet(cells, labels)


def viewpoint_sheet(domain: str, seed: int = 0, people: int = 4) -> Image.Image:
    """People of a domain (rows) from each viewpoint (columns), one camera, nothing in front."""
    style = get_domain_style(domain)
    camera = build_camera_network(style, seed).cameras[0]
    cells, labels = [], []
    for wid in range(people):
        look = sample_appearance(style.clothing, rng_for(seed, domain, Purpose.PREVIEW, wid))
        row = []
        for view in VIEWS:
            rng = rng_for(seed, domain, Purpose.PREVIEW, wid, 1 + VIEWS.index(view))
            shot = replace(sample_shot(rng, camera, style, "person", view=view), occluder=None)
            row.append(Image.fromarray(render_shot(shot, look, camera, style, seed, "", rng)))
        cells.append(row)
        labels.append(list(VIEWS))
    return _sheet(cells, labels)


def _save_png(picture: Image.Image, path: Path) -> Path:
    # A 256-colour palette keeps the doc pictures small; the crops are small JPEGs anyway.
    picture.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)
    return path


def save_previews(root: Union[str, Path], out_dir: Union[str, Path], domains: Sequence[str],
                  seed: int = 0) -> List[Path]:
    """synthetic_<domain>.png (identity grids) and synthetic_viewpoints.png under out_dir."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [_save_png(identity_grid(root, d), out_dir / f"synthetic_{d}.png") for d in domains]
    strips = [viewpoint_sheet(d, seed, people=2) for d in domains]
    width = max(s.width for s in strips)
    stacked = Image.new("RGB", (width, sum(s.height for s in strips)), (255, 255, 255))
    y = 0
    for strip in strips:
        stacked.paste(strip, (0, y))
        y += strip.height
    written.append(_save_png(stacked, out_dir / "synthetic_viewpoints.png"))
    return written
