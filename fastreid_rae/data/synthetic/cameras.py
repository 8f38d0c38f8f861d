"""The camera network of a domain and people's walks through it.

Cameras are placed on a campus plan and linked to their nearest neighbours. A walk starts at a
busy camera and moves along links; the time between two sightings is the walking distance
(straight line x tortuosity) over the person's speed, sometimes plus a stop. Times are seconds
from the walk's start; the world places each walk on the domain clock, and the layout turns
clock time into the frame numbers written in file names. Neighbouring cameras therefore see the
same person a predictable time apart: the camera-temporal signal that JVTC-style methods use.
"""
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np

from .presets import DomainStyle, NetworkStyle
from .seeding import Purpose, pick, rng_for

# How a camera's optical axis meets the main walking direction decides which sides it sees.
VIEW_BIASES = {                      # probabilities of front, back, left, right
    "along": (0.42, 0.42, 0.08, 0.08),
    "across": (0.1, 0.1, 0.4, 0.4),
    "oblique": (0.3, 0.3, 0.2, 0.2),
}
MIN_SHOT_GAP_S = 0.6  # two pictures of one visit are at least this far apart (distinct frames)


@dataclass(frozen=True)
class Camera:
    index: int                            # 1-based, as written in file names
    position_m: Tuple[float, float]
    indoor: bool
    scene: str
    horizon: float                        # where the ground starts in its panorama (0-1)
    view_bias: str                        # key of VIEW_BIASES
    gains: Tuple[float, float, float]     # RGB gains: the domain's cast times the camera's own
    brightness: float
    contrast: float
    saturation: float
    light_slope: float                    # left-to-right illumination gradient (sun side)
    blur_sigma: float
    noise_sigma: float
    detail: float                         # render resolution factor before resizing (optics)
    crop_height: float                    # typical crop height of this camera (pixels)
    occlusion_prob: float
    traffic: float                        # relative chance that a walk starts here
    dwell_scale: float                    # how long people stay in view (field of view size)


@dataclass(frozen=True)
class CameraNetwork:
    cameras: Tuple[Camera, ...]
    links: Tuple[Tuple[int, ...], ...]    # 0-based neighbours of each camera

    def distance_m(self, a: int, b: int) -> float:
        pa, pb = self.cameras[a].position_m, self.cameras[b].position_m
        return float(np.hypot(pa[0] - pb[0], pa[1] - pb[1]))


@dataclass(frozen=True)
class Sighting:
    camera: int        # 1-based
    visit: int         # 0-based position of the camera visit along the walk
    time_s: float      # seconds since the walk started


def _positions(rng, net: NetworkStyle) -> np.ndarray:
    """Camera positions: spread over the campus; indoor cameras share one building."""
    width, depth = net.area_m
    outdoor = net.num_cameras - net.indoor_cameras
    min_gap = 0.35 * np.sqrt(width * depth / net.num_cameras)
    points: List[np.ndarray] = []
    while len(points) < outdoor:
        p = rng.uniform((0, 0), (width, depth))
        if all(np.hypot(*(p - q)) >= min_gap for q in points) or rng.random() < 0.02:
            points.append(p)
    building = rng.uniform((0.3 * width, 0.3 * depth), (0.7 * width, 0.7 * depth))
    points += [building + rng.normal(0, 15, 2) for _ in range(net.indoor_cameras)]
    return np.array(points)


def _links(positions: np.ndarray, k: int = 2) -> Tuple[Tuple[int, ...], ...]:
    """Each camera's k nearest neighbours, made symmetric, then joined into one component."""
    n = len(positions)
    dist = np.hypot(*(positions[:, None, :] - positions[None, :, :]).transpose(2, 0, 1))
    edges = {tuple(sorted((i, int(j)))) for i in range(n) for j in np.argsort(dist[i])[1:k + 1]}
    while True:
        reached, frontier = {0}, [0]
        while frontier:
            i = frontier.pop()
            for a, b in edges:
                for u, v in ((a, b), (b, a)):
                    if u == i and v not in reached:
                        reached.add(v)
                        frontier.append(v)
        if len(reached) == n:
            break
        outside = [j for j in range(n) if j not in reached]
        i, j = min(((i, j) for i in reached for j in outside), key=lambda e: dist[e])
        edges.add(tuple(sorted((i, j))))
    return tuple(tuple(sorted({b for a, b in edges if a == i} | {a for a, b in edges if b == i}))
                 for i in range(n))


def _camera(rng, style: DomainStyle, index: int, position, indoor: bool) -> Camera:
    photo, net = style.photo, style.network
    scene = pick(rng, net.indoor_scenes if indoor else net.outdoor_scenes)
    cast = np.array(photo.colour_cast) * np.exp(rng.normal(0.0, photo.camera_cast_std, 3))
    if indoor:   # warm artificial light, no sun gradient
        cast = cast * np.array([1.08, 1.0, 0.86])
    low_quality = index in photo.low_quality_cameras
    detail = rng.uniform(*photo.detail)
    return Camera(
        index=index,
        position_m=(round(float(position[0]), 2), round(float(position[1]), 2)),
        indoor=indoor,
        scene=scene,
        horizon=float(rng.uniform(0.3, 0.55)),
        view_bias=pick(rng, (("along", 0.45), ("oblique", 0.35), ("across", 0.2))),
        gains=tuple(round(float(g), 4) for g in cast),
        brightness=float(photo.brightness * np.exp(rng.normal(0.0, 0.08))),
        contrast=float(photo.contrast * np.exp(rng.normal(0.0, 0.08))),
        saturation=float(photo.saturation * np.exp(rng.normal(0.0, 0.08))),
        light_slope=0.0 if indoor else float(rng.uniform(-0.25, 0.25)),
        blur_sigma=float(rng.uniform(*photo.blur_sigma)) + (0.6 if low_quality else 0.0),
        noise_sigma=float(rng.uniform(*photo.noise_sigma)) * (1.6 if low_quality else 1.0),
        detail=float(detail * (0.55 if low_quality else 1.0)),
        crop_height=float(photo.image_height * np.exp(rng.normal(0.0, photo.height_jitter * 0.6))),
        occlusion_prob=float(np.clip(photo.occlusion_prob * rng.uniform(0.5, 1.5), 0.0, 0.6)),
        traffic=float(rng.uniform(0.5, 1.5)),
        dwell_scale=float(rng.uniform(0.7, 1.4)),
    )


def build_camera_network(style: DomainStyle, seed: int) -> CameraNetwork:
    rng = rng_for(seed, style.name, Purpose.CAMERAS)
    net = style.network
    positions = _positions(rng, net)
    first_indoor = net.num_cameras - net.indoor_cameras
    cameras = tuple(_camera(rng, style, i + 1, positions[i], i >= first_indoor)
                    for i in range(net.num_cameras))
    return CameraNetwork(cameras, _links(positions))


def _visit_times(rng, start: float, dwell: float, count: int) -> np.ndarray:
    """`count` sorted times within [start, start + dwell], at least MIN_SHOT_GAP_S apart."""
    slack = max(dwell - (count - 1) * MIN_SHOT_GAP_S, 0.0)
    return start + np.sort(rng.uniform(0.0, slack, count)) + MIN_SHOT_GAP_S * np.arange(count)


def sample_walk(rng: np.random.Generator, network: CameraNetwork, net: NetworkStyle,
                images_per_visit: Tuple[int, int], visits: Optional[int] = None) -> List[Sighting]:
    """One person's sightings in walk order (times relative to the walk's start)."""
    cams = network.cameras
    visits = visits or int(rng.integers(net.cams_per_id[0], net.cams_per_id[1] + 1))
    speed = rng.uniform(*net.walk_speed)
    traffic = np.array([c.traffic for c in cams])
    current = int(rng.choice(len(cams), p=traffic / traffic.sum()))
    previous, clock, sightings, seen = None, 0.0, [], {current}
    for visit in range(visits):
        if visit:
            options = [j for j in network.links[current] if j != previous] or list(network.links[current])
            # People mostly walk on through the campus rather than loop back to a camera.
            weights = traffic[options] * np.array([0.25 if j in seen else 1.0 for j in options])
            previous, current = current, int(options[rng.choice(len(options), p=weights / weights.sum())])
            seen.add(current)
            clock += network.distance_m(previous, current) * rng.uniform(*net.tortuosity) / speed
            if rng.random() < 0.15:   # a stop on the way (a shop, a chat): noise on transit times
                clock += rng.uniform(20.0, 240.0)
        count = int(rng.integers(images_per_visit[0], images_per_visit[1] + 1))
        dwell = rng.uniform(*net.dwell_s) * cams[current].dwell_scale
        dwell = max(dwell, (count - 1) * MIN_SHOT_GAP_S + 0.5)
        for t in _visit_times(rng, clock, dwell, count):
            sightings.append(Sighting(cams[current].index, visit, float(t)))
        clock += dwell
    return sightings
