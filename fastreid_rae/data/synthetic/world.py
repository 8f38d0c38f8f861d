"""`generate_world`: plan, render and write a synthetic re-ID world, then its card.

Writing is arranged so that an interrupted run never leaves something that looks complete:
any old card is removed first, each dataset is written into a `.partial-*` folder and renamed
into place when finished, and `world_card.json` is written last (atomically). A root that
holds anything but (the remains of) a world is refused unless `overwrite=True`; even then only
the world's own entries are replaced.
"""
import csv
import json
import multiprocessing
import os
import shutil
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Sequence, Tuple, Union

import numpy as np
from PIL import Image
from tqdm import tqdm

from ...atomic import atomic_folder, atomic_open, is_partial_folder, is_temporary
from .cameras import Camera
from .identities import Appearance, sample_appearance
from .layouts import DATASET_DIRS, layout_for
from .plan import SPLITS, DomainPlan, PlannedImage, plan_domain
from .presets import DEFAULT_DOMAINS, DOMAIN_STYLES, DomainStyle, get_domain_style, get_preset
from .seeding import Purpose, rng_for
from .shots import render_shot, sample_shot

GENERATOR = "fastreid_rae.data.synthetic"
# Bump when the same (preset, seed) would produce different files.
GENERATOR_VERSION = "1.0.0"
CARD_NAME = "world_card.json"
MANIFEST_NAME = "world_manifest.csv"
WORLD_ENTRIES = (CARD_NAME, MANIFEST_NAME) + DATASET_DIRS
MANIFEST_COLUMNS = ("dataset", "split", "kind", "path", "world_id", "pid", "camera", "visit",
                    "shot", "session", "clock_s", "tick")
BATCH = 48   # pictures per worker task: large enough to amortise pickling, small for the bar

# (path inside the dataset folder, world_id, camera, session name, kind, random-stream key)
RenderJob = Tuple[str, int, int, str, str, Tuple[int, ...]]


# -- the root folder ---------------------------------------------------------------------------
def _is_world_entry(name: str) -> bool:
    return name in WORLD_ENTRIES or is_partial_folder(name) or is_temporary(name)


def _prepare_root(root: Path, overwrite: bool) -> None:
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(f"world root {root} exists and is not a folder")
    root.mkdir(parents=True, exist_ok=True)
    foreign = sorted(p.name for p in root.iterdir() if not _is_world_entry(p.name))
    is_world = (root / CARD_NAME).is_file()
    if foreign and not is_world and not overwrite:
        raise FileExistsError(
            f"world root {root} is not empty and is not a synthetic world (it holds e.g. "
            f"{foreign[0]!r}, and no {CARD_NAME}); pick an empty folder or pass --overwrite "
            f"(which replaces only the world's own entries: {', '.join(WORLD_ENTRIES)})")
    # The card goes first: from here until the new card is written the world is incomplete.
    (root / CARD_NAME).unlink(missing_ok=True)
    for entry in root.iterdir():
        if _is_world_entry(entry.name):
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


# -- rendering (runs in worker processes when workers > 1) -------------------------------------
def _worker_init() -> None:
    import cv2
    cv2.setNumThreads(1)   # one process per core already; cv2's own threads would oversubscribe


@dataclass(frozen=True)
class RenderBatch:
    """Everything a worker needs for a few dozen pictures (small to pickle: only their looks)."""
    style: DomainStyle
    seed: int
    out_dir: str
    cameras: Dict[int, Camera]
    looks: Dict[int, Appearance]
    jobs: Tuple[RenderJob, ...]


def _render_batch(batch: RenderBatch) -> int:
    style, seed = batch.style, batch.seed
    for path, world_id, camera_index, session, kind, key in batch.jobs:
        purpose = Purpose.SHOT if kind == "person" else Purpose.EXTRA_SHOT
        rng = rng_for(seed, style.name, purpose, *key)
        look = batch.looks.get(world_id)
        if look is None:   # junk / distractor boxes show some unregistered passer-by
            look = sample_appearance(style.clothing, rng)
        camera = batch.cameras[camera_index]
        shot = sample_shot(rng, camera, style, kind)
        pixels = render_shot(shot, look, camera, style, seed, session, rng)
        # Fixed quality and no metadata: same pixels -> same bytes.
        Image.fromarray(pixels).save(os.path.join(batch.out_dir, path), format="JPEG",
                                     quality=style.photo.jpeg_quality)
    return len(batch.jobs)


def _batches(plan: DomainPlan, out_dir: Path) -> Iterator[RenderBatch]:
    cameras = {c.index: c for c in plan.network.cameras}
    sessions = plan.style.network.sessions
    for start in range(0, len(plan.images), BATCH):
        jobs = []
        for im in plan.images[start:start + BATCH]:
            key = (im.world_id, im.shot) if im.kind == "person" else (im.shot,)
            jobs.append((im.path.split("/", 1)[1], im.world_id, im.camera, sessions[im.session],
                         im.kind, key))
        looks = {j[1]: plan.looks[j[1]] for j in jobs if j[1] in plan.looks}
        yield RenderBatch(plan.style, plan.seed, str(out_dir), cameras, looks, tuple(jobs))


class _Renderer:
    """Runs render batches in this process or in a pool of worker processes."""
    IN_FLIGHT_PER_WORKER = 4   # bounded queue: a full-size world never sits pickled in memory

    def __init__(self, workers: int):
        self.pool, self.workers = None, workers
        if workers > 1:
            # forkserver: workers fork from a clean server that imported only this package,
            # never from a caller that may hold threads (torch, a test runner).
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([__name__])
            self.pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_init)

    def run(self, batches: Iterable[RenderBatch], bar) -> None:
        if self.pool is None:
            for batch in batches:
                bar.update(_render_batch(batch))
            return
        pending = set()
        for batch in batches:
            pending.add(self.pool.submit(_render_batch, batch))
            if len(pending) >= self.IN_FLIGHT_PER_WORKER * self.workers:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                bar.update(sum(f.result() for f in done))
        bar.update(sum(f.result() for f in pending))

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)


# -- one dataset ------------------------------------------------------------------------------
def _name_images(plan: DomainPlan, layout) -> DomainPlan:
    pids = layout.assign_pids(plan, rng_for(plan.seed, plan.style.name, Purpose.LABELS))
    named, used = [], set()
    for im in plan.images:
        pid = pids.get(im.world_id, 0)
        path = layout.relative_path(im, pid)
        # Thousands of junk/distractor boxes at random times can land on the same camera frame
        # and box number; a real detector would number them apart, so take the next box.
        while path in used and im.kind != "person":
            im = im._replace(box=im.box + 1)
            path = layout.relative_path(im, pid)
        if path in used:
            raise RuntimeError(f"{plan.style.name}: two pictures of one person got the same file "
                               f"name {path!r}; this is a generator bug")
        used.add(path)
        named.append(im._replace(pid=pid, path=path))
    return replace(plan, images=tuple(named))


def _write_dataset(root: Path, plan: DomainPlan, layout, renderer: _Renderer, bar) -> None:
    with atomic_folder(root / layout.dataset_dir) as partial:
        for folder in sorted({os.path.dirname(im.path) for im in plan.images}):
            (partial / folder.split("/", 1)[1]).mkdir(parents=True, exist_ok=True)
        for folder in layout.split_dirs.values():   # empty splits still exist, as loaders expect
            (partial / folder).mkdir(parents=True, exist_ok=True)
        bar.set_description(plan.style.name)
        renderer.run(_batches(plan, partial), bar)
        layout.write_lists(partial, plan.images)


# -- card and manifest ------------------------------------------------------------------------
def _split_counts(images: Iterable[PlannedImage]) -> Dict[str, dict]:
    counts = {}
    for split in SPLITS:
        members = [im for im in images if im.split == split]
        if not members:
            continue
        entry = {"ids": len({im.world_id for im in members if im.kind == "person"}),
                 "images": len(members),
                 "cameras": len({im.camera for im in members})}
        for kind in ("junk", "distractor"):
            n = sum(im.kind == kind for im in members)
            if n:
                entry[f"{kind}_images"] = n
        counts[split] = entry
    return counts


def _domain_card(plan: DomainPlan, layout) -> dict:
    return {
        "layout": layout.describe(),
        "counts": _split_counts(plan.images),
        "identities": {role: sum(r == role for r in plan.roles.values())
                       for role in ("train", "test", "distractor")},
        "clock_span_s": plan.clock_span_s(),
        "size": asdict(plan.size),
        "style": asdict(plan.style),
        "cameras": [asdict(c) | {"links": [plan.network.cameras[j].index for j in links]}
                    for c, links in zip(plan.network.cameras, plan.network.links)],
    }


def _manifest_rows(plan: DomainPlan, layout):
    for im in plan.images:
        yield (plan.style.name, im.split, im.kind, im.path, im.world_id, im.pid, im.camera,
               im.visit, im.shot, im.session, f"{im.clock_s:.3f}", layout.parse(im.path).tick)


def _write_manifest(root: Path, rows: List[tuple]) -> None:
    with atomic_open(root / MANIFEST_NAME, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(MANIFEST_COLUMNS)
        writer.writerows(rows)


# -- the entry points --------------------------------------------------------------------------
def plan_dataset(domain: str, preset: str, seed: int):
    """(plan with pids and file names, layout) of one domain, without drawing anything."""
    style = get_domain_style(domain)
    layout = layout_for(style)
    return _name_images(plan_domain(style, get_preset(preset).size_of(domain), seed), layout), layout


def generate_world(root: Union[str, Path], preset: str = "small", seed: int = 0,
                   domains: Sequence[str] = DEFAULT_DOMAINS, overwrite: bool = False,
                   workers: int = 1, progress: bool = True) -> dict:
    """Write the datasets of `domains` under `root` and return the world card (also on disk).

    preset: tiny / small / full (see presets.PRESETS); seed: any integer >= 0; the same
    (preset, seed) gives byte-identical files whatever `domains` order or `workers` count.
    root: empty, missing, or an earlier world (replaced); anything else needs overwrite=True.
    workers > 1 renders in a process pool (forkserver): as with any multiprocessing, a script
    calling this must guard its entry point with `if __name__ == "__main__":`.
    """
    get_preset(preset)   # an unknown preset fails here, before the root is touched
    names = [get_domain_style(name).name for name in dict.fromkeys(domains)]
    if not names:
        raise ValueError(f"no domain given; valid domains: {', '.join(DOMAIN_STYLES)}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0; got {seed!r}")
    plans = [plan_dataset(name, preset, int(seed)) for name in names]

    root = Path(root)
    _prepare_root(root, overwrite)
    renderer = _Renderer(max(1, int(workers)))
    total = sum(len(plan.images) for plan, _ in plans)
    try:
        with tqdm(total=total, unit="img", disable=not progress, dynamic_ncols=True) as bar:
            for plan, layout in plans:
                _write_dataset(root, plan, layout, renderer, bar)
    finally:
        renderer.close()

    # Sorted by path, so the manifest does not depend on the order domains were asked for.
    _write_manifest(root, sorted((row for plan, layout in plans for row in _manifest_rows(plan, layout)),
                                 key=lambda row: row[3]))
    card = {
        "generator": GENERATOR,
        "generator_version": GENERATOR_VERSION,
        "preset": preset,
        "seed": int(seed),
        "domains": {plan.style.name: _domain_card(plan, layout) for plan, layout in plans},
        "manifest": MANIFEST_NAME,
    }
    with atomic_open(root / CARD_NAME, "w") as f:
        f.write(json.dumps(card, indent=2, sort_keys=True) + "\n")
    return card


def load_world_card(root: Union[str, Path]) -> dict:
    path = Path(root) / CARD_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: {root} is not a (completely written) synthetic "
                                f"world; generate one with tools/make_synthetic.py")
    return json.loads(path.read_text())


def read_manifest(root: Union[str, Path]) -> List[dict]:
    """One dict per picture (values as strings; see MANIFEST_COLUMNS)."""
    load_world_card(root)   # a manifest without a card belongs to an unfinished world
    with open(Path(root) / MANIFEST_NAME, newline="") as f:
        return list(csv.DictReader(f))
