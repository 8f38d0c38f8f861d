"""Independent random streams keyed by what they are for.

Every random decision draws from a generator seeded by (world seed, domain, purpose, index...),
never from a shared stream, so a picture does not change when other domains, other people or
the number of worker processes change: generation order cannot leak into the output.
"""
from enum import IntEnum
from functools import lru_cache

import numpy as np

# Stable codes: renumbering them would change every world generated so far.
DOMAIN_CODES = {"market": 1, "duke": 2, "msmt": 3}


class Purpose(IntEnum):
    CAMERAS = 1
    APPEARANCE = 2
    WALK = 3
    SPLIT = 4
    SHOT = 5          # one picture of a person: pose, crop, occluder, photo noise
    EXTRA_SHOT = 6    # a junk or distractor picture (no identity)
    LABELS = 7        # pid numbers written in file names
    SCENE = 8         # a camera's background panorama
    PREVIEW = 9


def rng_for(seed: int, domain: str, purpose: Purpose, *index: int) -> np.random.Generator:
    if seed < 0 or any(i < 0 for i in index):
        raise ValueError(f"seeds and indices must be >= 0; got seed={seed}, index={index}")
    key = [int(seed), DOMAIN_CODES[domain], int(purpose), *map(int, index)]
    return np.random.default_rng(np.random.SeedSequence(key))


@lru_cache(maxsize=None)
def _cumulative(weighted):
    weights = np.cumsum([w for _, w in weighted], dtype=float)
    return tuple(name for name, _ in weighted), weights / weights[-1]


def pick(rng: np.random.Generator, weighted):
    """One name from (name, weight) pairs (a tuple, so its cumulative weights are cached)."""
    names, cumulative = _cumulative(weighted)
    return names[min(int(np.searchsorted(cumulative, rng.random(), side="right")), len(names) - 1)]
