"""The three on-disk layouts, exactly as fastreid 1.4.0's loaders read them.

- Market-1501-v15.09.15/{bounding_box_train,bounding_box_test,query}/PPPP_cCsS_FFFFFF_BB.jpg
  (pid -1 = junk, 0000 = distractor; S = 1-hour video sequence, FFFFFF = frame in it at 25 fps)
- DukeMTMC-reID/{bounding_box_train,bounding_box_test,query}/PPPP_cC_fFFFFFFF.jpg
  (frames of one synchronised 60 fps clock across all 8 cameras)
- MSMT17_V1/{train,test}/PPPP/PPPP_SSS_CC_DDDDslot_FFFF_N.jpg + list_{train,val,query,gallery}.txt
  (SSS = the person's picture number, DDDDslot = recording session such as 0302noon, FFFF =
  frame at 2 fps within the session; list lines are 'PPPP/name label'; test pids restart at 0)

Each layout also reads its own names back into (pid, camera, clock tick) with the project's
one file-name parser (``data/datasets/naming.py``), as a camera-temporal method would; `tick` = frames of the layout's fps since the domain clock
started, so ticks of one person are monotone along its walk.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, NamedTuple, Tuple

import numpy as np

from ..datasets.naming import parse_image_name
from .plan import DomainPlan, PlannedImage
from .presets import DomainStyle


class ParsedName(NamedTuple):
    pid: int
    camera: int       # 1-based
    tick: int         # frames since the domain clock started


@dataclass(frozen=True)
class MarketLayout:
    style: DomainStyle
    dataset_dir = "Market-1501-v15.09.15"
    fastreid_dataset = "Market1501"
    fps = 25
    sequence_frames = 25 * 3600        # Market's 'sS' field: a new video file every hour
    split_dirs = {"train": "bounding_box_train", "query": "query", "gallery": "bounding_box_test"}

    def assign_pids(self, plan: DomainPlan, rng) -> Dict[int, int]:
        people = sorted(plan.roles)
        numbers = np.sort(rng.choice(np.arange(1, 1502), size=len(people), replace=False))
        return {wid: int(numbers[i]) for i, wid in enumerate(rng.permutation(people))}

    def relative_path(self, im: PlannedImage, pid: int) -> str:
        tick = int(im.clock_s * self.fps)
        seq, frame = divmod(tick, self.sequence_frames)
        pid = {"junk": "-1", "distractor": "0000"}.get(im.kind, f"{pid:04d}")
        return f"{self.dataset_dir}/{self.split_dirs[im.split]}/{pid}_c{im.camera}s{seq + 1}_{frame:06d}_{im.box:02d}.jpg"

    def parse(self, name: str) -> ParsedName:
        n = parse_image_name(self.fastreid_dataset, name)
        return ParsedName(n.pid, n.camid + 1, (n.sequence - 1) * self.sequence_frames + n.frame)

    def write_lists(self, dataset_root: Path, images: Iterable[PlannedImage]) -> None:
        """Market is read by globbing its folders; there is nothing else to write."""

    def describe(self) -> dict:
        return {"dataset_dir": self.dataset_dir, "fastreid_dataset": self.fastreid_dataset,
                "name_pattern": "PPPP_cCsS_FFFFFF_BB.jpg", "fps": self.fps,
                "clock_tick": "(S - 1) * sequence_frames + FFFFFF",
                "sequence_frames": self.sequence_frames}


@dataclass(frozen=True)
class DukeLayout:
    style: DomainStyle
    dataset_dir = "DukeMTMC-reID"
    fastreid_dataset = "DukeMTMC"
    fps = 60
    frame_offset = 5000                # the real clip numbering does not start at 0
    split_dirs = {"train": "bounding_box_train", "query": "query", "gallery": "bounding_box_test"}

    def assign_pids(self, plan: DomainPlan, rng) -> Dict[int, int]:
        people = sorted(plan.roles)
        numbers = np.sort(rng.choice(np.arange(1, max(7141, 2 * len(people))), size=len(people),
                                     replace=False))
        return {wid: int(numbers[i]) for i, wid in enumerate(rng.permutation(people))}

    def relative_path(self, im: PlannedImage, pid: int) -> str:
        frame = int(im.clock_s * self.fps) + self.frame_offset
        return f"{self.dataset_dir}/{self.split_dirs[im.split]}/{pid:04d}_c{im.camera}_f{frame:07d}.jpg"

    def parse(self, name: str) -> ParsedName:
        n = parse_image_name(self.fastreid_dataset, name)
        return ParsedName(n.pid, n.camid + 1, n.frame - self.frame_offset)

    def write_lists(self, dataset_root: Path, images: Iterable[PlannedImage]) -> None:
        """Duke is read by globbing its folders; there is nothing else to write."""

    def describe(self) -> dict:
        return {"dataset_dir": self.dataset_dir, "fastreid_dataset": self.fastreid_dataset,
                "name_pattern": "PPPP_cC_fFFFFFFF.jpg", "fps": self.fps,
                "clock_tick": "FFFFFFF - frame_offset", "frame_offset": self.frame_offset}


@dataclass(frozen=True)
class MSMTLayout:
    style: DomainStyle
    dataset_dir = "MSMT17_V1"
    fastreid_dataset = "MSMT17"
    fps = 2
    split_dirs = {"train": "train", "val": "train", "query": "test", "gallery": "test"}
    list_files = {"train": "list_train.txt", "val": "list_val.txt", "query": "list_query.txt",
                  "gallery": "list_gallery.txt"}

    @property
    def session_frames(self) -> int:
        return int(self.style.network.session_s * self.fps)

    def assign_pids(self, plan: DomainPlan, rng) -> Dict[int, int]:
        """MSMT numbers train and test people separately, each from 0."""
        pids = {}
        for role in ("train", "test"):
            members = sorted(wid for wid, r in plan.roles.items() if r == role)
            pids.update({wid: rank for rank, wid in enumerate(members)})
        return pids

    def relative_path(self, im: PlannedImage, pid: int) -> str:
        session = self.style.network.sessions[im.session]
        frame = int(im.clock_s * self.fps) - im.session * self.session_frames
        name = f"{pid:04d}_{im.shot:03d}_{im.camera:02d}_{session}_{frame:04d}_{im.box}.jpg"
        return f"{self.dataset_dir}/{self.split_dirs[im.split]}/{pid:04d}/{name}"

    def parse(self, name: str) -> ParsedName:
        n = parse_image_name(self.fastreid_dataset, name)
        session_index = self.style.network.sessions.index(n.session)
        return ParsedName(n.pid, n.camid + 1, session_index * self.session_frames + n.frame)

    def write_lists(self, dataset_root: Path, images: Iterable[PlannedImage]) -> None:
        lines: Dict[str, List[str]] = {split: [] for split in self.list_files}
        for im in sorted(images, key=lambda im: im.path):
            inside = im.path.split("/", 2)[2]          # 'PPPP/name.jpg' under train/ or test/
            lines[im.split].append(f"{inside} {im.pid}\n")
        for split, filename in self.list_files.items():
            (dataset_root / filename).write_text("".join(lines[split]))

    def describe(self) -> dict:
        return {"dataset_dir": self.dataset_dir, "fastreid_dataset": self.fastreid_dataset,
                "name_pattern": "PPPP_SSS_CC_DDDDslot_FFFF_N.jpg", "fps": self.fps,
                "clock_tick": "session_index * session_frames + FFFF",
                "sessions": list(self.style.network.sessions),
                "session_frames": self.session_frames}


LAYOUTS = {"market": MarketLayout, "duke": DukeLayout, "msmt": MSMTLayout}
DATASET_DIRS: Tuple[str, ...] = tuple(layout.dataset_dir for layout in LAYOUTS.values())


def layout_for(style: DomainStyle):
    return LAYOUTS[style.name](style)
