"""File-name conventions of the supported datasets: identity, camera and frame from a name.

One parser serves every convention: a regular expression with named groups plus a small
function turning the match into an ``ImageName``. Loaders use it to read names; the
pseudo-label backends use it to get each target image's camera and frame.
"""
import os
import re
from dataclasses import dataclass
from typing import Callable, Optional

from .errors import DatasetLayoutError


@dataclass(frozen=True)
class ImageName:
    """What a file name says about its image. ``camid`` is 0-based, as fastreid counts."""
    pid: int
    camid: int
    # Frame number within its recording; for CUHK03/CUHK01 (no video) the slot number.
    frame: int
    # Market-1501 frames restart in each sequence ``sS``; 0 where a name has no sequence.
    sequence: int = 0
    # MSMT17 frames restart in each recording session (e.g. "0302noon"); "" elsewhere.
    session: str = ""


@dataclass(frozen=True)
class FileNamePattern:
    template: str  # human-readable form, shown in error messages
    regex: re.Pattern
    to_image_name: Callable[[re.Match], ImageName]

    def parse(self, file_name: str) -> Optional[ImageName]:
        """The ImageName of a base name, or None when the name does not follow the pattern."""
        match = self.regex.fullmatch(file_name)
        return self.to_image_name(match) if match else None


def _one_based_camera(match: re.Match) -> ImageName:
    # Market-1501, DukeMTMC-reID and MSMT17 number cameras from 1.
    groups = match.groupdict()
    return ImageName(pid=int(groups["pid"]), camid=int(groups["camera"]) - 1,
                     frame=int(groups["frame"]), sequence=int(groups.get("sequence") or 0),
                     session=groups.get("session") or "")


def _camera_from_slot(first_camera_b_slot: int) -> Callable[[re.Match], ImageName]:
    # CUHK03 and CUHK01 store each person's images in numbered slots, the first ones seen by
    # camera A and the rest by camera B; the slot doubles as the frame index.
    def to_image_name(match: re.Match) -> ImageName:
        slot = int(match["slot"])
        return ImageName(pid=int(match["pid"]), camid=0 if slot < first_camera_b_slot else 1,
                         frame=slot)
    return to_image_name


MARKET1501_NAME = FileNamePattern(
    "PPPP_cCsS_FFFFFF_BB.jpg (PPPP identity, 0000 distractor, -1 junk; C camera 1-6; "
    "S sequence; FFFFFF frame; BB box)",
    re.compile(r"(?P<pid>-1|\d{4})_c(?P<camera>[1-6])s(?P<sequence>\d)"
               r"_(?P<frame>\d{6})_\d{2}\.jpg"),
    _one_based_camera)

DUKEMTMC_NAME = FileNamePattern(
    "PPPP_cC_fFFFFFFF.jpg (PPPP identity, C camera 1-8, FFFFFFF frame)",
    re.compile(r"(?P<pid>\d{4})_c(?P<camera>[1-8])_f(?P<frame>\d{7})\.jpg"),
    _one_based_camera)

MSMT17_NAME = FileNamePattern(
    "PPPP_III_CC_DDDD{morning,noon,afternoon}_FFFF_N[_ex].jpg (PPPP identity, III image "
    "index, CC camera 01-15, DDDD date, FFFF frame)",
    re.compile(r"(?P<pid>\d{4})_\d{3}_(?P<camera>0[1-9]|1[0-5])_(?P<session>\d{4}(?:morning|noon|afternoon))"
               r"_(?P<frame>\d{4})_\d+(?:_ex)?\.jpg"),
    _one_based_camera)

CUHK03_NAME = FileNamePattern(
    "PPPP_SS.jpg (PPPP identity, SS slot 00-09: 00-04 camera A, 05-09 camera B)",
    re.compile(r"(?P<pid>\d{4})_(?P<slot>0\d)\.jpg"),
    _camera_from_slot(first_camera_b_slot=5))

CUHK01_NAME = FileNamePattern(
    "PPPPNNN.png (PPPP identity, NNN slot 001-004: 001-002 camera A, 003-004 camera B)",
    re.compile(r"(?P<pid>\d{4})(?P<slot>00[1-4])\.png"),
    _camera_from_slot(first_camera_b_slot=3))

# Keyed by DATASET_REGISTRY name.
NAME_PATTERNS = {
    "Market1501": MARKET1501_NAME,
    "DukeMTMC": DUKEMTMC_NAME,
    "MSMT17": MSMT17_NAME,
    "CUHK03Pair1": CUHK03_NAME,
    "CUHK01": CUHK01_NAME,
}


def parse_image_name(dataset_name: str, img_path: str) -> ImageName:
    """Identity, camera and frame of one image of a registered dataset, read from its name."""
    if dataset_name not in NAME_PATTERNS:
        raise KeyError(f"no file-name convention known for dataset {dataset_name!r}; "
                       f"known: {sorted(NAME_PATTERNS)}")
    pattern = NAME_PATTERNS[dataset_name]
    image_name = pattern.parse(os.path.basename(img_path))
    if image_name is None:
        raise DatasetLayoutError(
            f"{img_path}: name does not follow {dataset_name}'s {pattern.template}")
    return image_name
