"""Planning one domain: who exists, where and when each picture is taken, and which split it is in.

Nothing is drawn here; the plan is a list of PlannedImage records that the world renders and
the layout names. Splits follow the real benchmarks: train and test identities are disjoint;
each test identity gives one query per camera it was seen in and the rest of its pictures to
the gallery; the gallery also gets distractors (Market: pid 0000 boxes and pid -1 junk; Duke:
people seen by a single camera; MSMT: a validation list carved out of train).
"""
from dataclasses import dataclass
from typing import Dict, List, NamedTuple, Tuple

from .cameras import CameraNetwork, build_camera_network, sample_walk
from .identities import Appearance, sample_appearance
from .presets import DomainSize, DomainStyle, check_size
from .seeding import Purpose, rng_for

SPLITS = ("train", "val", "query", "gallery")
IDENTITY_ROLES = ("train", "test", "distractor")


class PlannedImage(NamedTuple):   # a NamedTuple: millions of cheap _replace calls at full size
    split: str            # train / val / query / gallery
    kind: str             # person / junk / distractor
    world_id: int         # the person (>= 0), or -1 for junk and distractor boxes
    shot: int             # index among the person's pictures in walk order (extras: own index)
    visit: int            # camera visit along the walk (-1 for extras)
    camera: int           # 1-based
    session: int          # index into the style's sessions
    clock_s: float        # seconds since the domain clock started (sessions laid end to end)
    box: int              # detection index within its frame, written in Market/MSMT names
    pid: int = 0          # label in file names; set by the layout
    path: str = ""        # relative to the world root; set by the layout


@dataclass(frozen=True)
class DomainPlan:
    style: DomainStyle
    size: DomainSize
    seed: int
    network: CameraNetwork
    looks: Dict[int, Appearance]       # world_id -> appearance
    roles: Dict[int, str]              # world_id -> train / test / distractor
    images: Tuple[PlannedImage, ...]

    def clock_span_s(self) -> float:
        return max((im.clock_s for im in self.images), default=0.0)


def _roles(rng, size: DomainSize) -> Dict[int, str]:
    people = size.train_ids + size.test_ids + size.distractor_ids
    order = rng.permutation(people)
    roles = {}
    for rank, world_id in enumerate(order):
        roles[int(world_id)] = ("train" if rank < size.train_ids else
                                "test" if rank < size.train_ids + size.test_ids else "distractor")
    return roles


def _place_walk(rng, sightings, style: DomainStyle):
    """Start time (and session) on the domain clock; a walk never spans two sessions."""
    net = style.network
    if net.session_s <= 0:
        return 0, rng.uniform(0.0, net.recording_s), sightings
    session = int(rng.integers(len(net.sessions)))
    kept_visits = {s.visit for s in sightings if s.time_s <= net.session_s * 0.95} | {0, 1}
    sightings = [s for s in sightings if s.visit in kept_visits]
    duration = sightings[-1].time_s
    start = rng.uniform(0.0, max(net.session_s - duration, 0.0))
    return session, session * net.session_s + start, sightings


def _walk_images(seed: int, world_id: int, role: str, style: DomainStyle, size: DomainSize,
                 network: CameraNetwork) -> List[PlannedImage]:
    """The person's pictures in walk order; test people's split is decided afterwards."""
    rng = rng_for(seed, style.name, Purpose.WALK, world_id)
    visits = 1 if role == "distractor" else None
    sightings = sample_walk(rng, network, style.network, size.images_per_visit, visits)
    session, start, sightings = _place_walk(rng, sightings, style)
    split = {"train": "train", "distractor": "gallery"}.get(role, "")
    return [PlannedImage(split=split, kind="person", world_id=world_id, shot=shot, visit=s.visit,
                         camera=s.camera, session=session, clock_s=round(start + s.time_s, 3),
                         box=int(rng.integers(0, 8)))
            for shot, s in enumerate(sightings)]


def _split_test_identity(rng, images: List[PlannedImage]) -> List[PlannedImage]:
    """One query per camera the person was seen in; everything else goes to the gallery."""
    by_camera: Dict[int, List[int]] = {}
    for i, im in enumerate(images):
        by_camera.setdefault(im.camera, []).append(i)
    queries = {int(rng.choice(members)) for members in by_camera.values() if len(members) > 1}
    if len(by_camera) < 2:   # a query needs a match in another camera
        queries = set()
    return [im._replace(split="query" if i in queries else "gallery") for i, im in enumerate(images)]


def _extras(seed: int, style: DomainStyle, size: DomainSize, gallery_images: int,
            span_s: float) -> List[PlannedImage]:
    """Market's junk (-1) and distractor (0000) boxes, at random cameras and times."""
    counts = {kind: (max(1, int(round(fraction * gallery_images))) if fraction > 0 else 0)
              for kind, fraction in (("junk", size.junk_fraction),
                                     ("distractor", size.distractor_fraction))}
    extras = []
    for kind, count in counts.items():
        for _ in range(count):
            index = len(extras)
            rng = rng_for(seed, style.name, Purpose.SPLIT, 3, index)   # where/when; the look is drawn later
            extras.append(PlannedImage(
                split="gallery", kind=kind, world_id=-1, shot=index, visit=-1,
                camera=int(rng.integers(1, style.network.num_cameras + 1)), session=0,
                clock_s=round(float(rng.uniform(0.0, span_s)), 3), box=int(rng.integers(0, 8))))
    return extras


def _carve_validation(rng, images: List[PlannedImage], fraction: float) -> List[PlannedImage]:
    """MSMT17 keeps some train pictures apart in list_val.txt (same identities as train)."""
    if fraction <= 0:
        return images
    train = [i for i, im in enumerate(images) if im.split == "train"]
    count = max(1, int(round(fraction * len(train))))
    chosen = set(int(i) for i in rng.choice(train, size=count, replace=False))
    return [im._replace(split="val") if i in chosen else im for i, im in enumerate(images)]


def plan_domain(style: DomainStyle, size: DomainSize, seed: int) -> DomainPlan:
    check_size(style.name, size)
    network = build_camera_network(style, seed)
    roles = _roles(rng_for(seed, style.name, Purpose.SPLIT), size)
    looks = {wid: sample_appearance(style.clothing, rng_for(seed, style.name, Purpose.APPEARANCE, wid))
             for wid in roles}
    images: List[PlannedImage] = []
    for wid in sorted(roles):
        walk = _walk_images(seed, wid, roles[wid], style, size, network)
        if roles[wid] == "test":
            walk = _split_test_identity(rng_for(seed, style.name, Purpose.SPLIT, 1, wid), walk)
        images += walk
    images = _carve_validation(rng_for(seed, style.name, Purpose.SPLIT, 2), images, size.val_fraction)
    gallery_images = sum(im.split == "gallery" for im in images)
    span = max(im.clock_s for im in images)
    images += _extras(seed, style, size, gallery_images, span)
    return DomainPlan(style, size, seed, network, looks, roles, tuple(images))
