"""Your own camera network: a folder tree of pedestrian crops as an unlabelled target domain.

No identities and no query / gallery: a backend only needs each crop's camera (and, for
JVTC's camera-temporal term, its frame). They come from a regular expression searched in
each crop's path relative to the folder (named groups ``camid`` and, optionally, ``frame``),
or from a CSV of ``path,camid[,frame]`` rows. Evaluation on such a target is impossible;
DATASETS.TESTS names a labelled set instead (docs/datasets.md, "Your own camera network").
"""
import csv
import os
import re
import shutil
from typing import List, NoReturn, Optional, Sequence, Tuple

from fastreid.data.datasets import DATASET_REGISTRY
from fastreid.data.datasets.bases import ImageDataset

from .errors import DatasetLayoutError
from .layout import is_known_junk
from .unlabelled import TargetImage

# What a crop can be stored as; other files (a README, the camera CSV itself) are skipped.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
CAMERA_GROUP, FRAME_GROUP = "camid", "frame"
CSV_HEADER = ("path", CAMERA_GROUP, FRAME_GROUP)
# the names write_unlabelled_copy gives, and the CAMERA_PATTERN that reads them
UNLABELLED_COPY_PATTERN = r"_c(?P<camid>\d+)\.\w+$"
_MAX_NAMES_REPORTED = 5


def camera_pattern_problem(pattern: str) -> Optional[str]:
    """Why ``pattern`` cannot give each crop its camera; None when it can (or is empty)."""
    if not pattern:
        return None
    try:
        groups = re.compile(pattern).groupindex
    except re.error as error:
        return f"not a regular expression ({error})"
    if CAMERA_GROUP not in groups:
        return f"no named group (?P<{CAMERA_GROUP}>...) for the camera"
    return None


def _first_few(names: Sequence[str]) -> str:
    more = len(names) - _MAX_NAMES_REPORTED
    return ", ".join(names[:_MAX_NAMES_REPORTED]) + (f" (and {more} more)" if more > 0 else "")


def _fail(message: str) -> NoReturn:
    raise DatasetLayoutError(message)


def crop_files(folder: str) -> List[str]:
    """Image files under ``folder`` (any depth), as sorted '/'-separated relative paths."""
    if not os.path.isdir(folder):
        _fail(f"DATASETS.FOLDER.PATH '{folder}' is not an existing folder; expected the folder "
              f"of pedestrian crops")
    found = []
    for dir_path, _, names in os.walk(folder):
        for name in names:
            if name.lower().endswith(IMAGE_EXTENSIONS) and not is_known_junk(name):
                found.append(os.path.relpath(os.path.join(dir_path, name), folder))
    if not found:
        _fail(f"DATASETS.FOLDER.PATH '{folder}' holds no images; expected pedestrian crops "
              f"({', '.join(IMAGE_EXTENSIONS)}) in it or its sub-folders")
    return sorted(path.replace(os.sep, "/") for path in found)


def _non_negative_int(text: str) -> Optional[int]:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() else None


def images_from_pattern(folder: str, pattern: str) -> List[TargetImage]:
    """Camera (and frame) of every crop under ``folder``, from ``pattern``'s named groups."""
    regex = re.compile(pattern)
    images, unmatched = [], []
    for relative_path in crop_files(folder):
        match = regex.search(relative_path)
        if match is None or match[CAMERA_GROUP] is None:
            unmatched.append(relative_path)
            continue
        numbers = {group: _non_negative_int(match[group] or "") for group in
                   (CAMERA_GROUP, FRAME_GROUP) if group in regex.groupindex}
        for group, number in numbers.items():
            if number is None:
                _fail(f"{os.path.join(folder, relative_path)}: DATASETS.FOLDER.CAMERA_PATTERN "
                      f"'{pattern}' reads {group} {match[group]!r}; expected a non-negative integer")
        images.append(TargetImage(path=os.path.join(folder, relative_path),
                                  camid=numbers[CAMERA_GROUP], frame=numbers.get(FRAME_GROUP),
                                  sequence=0, true_pid=None))
    if unmatched:
        how_many = "none" if not images else f"only {len(images)}"
        _fail(f"DATASETS.FOLDER.CAMERA_PATTERN '{pattern}' matches {how_many} of the "
              f"{len(unmatched) + len(images)} images under '{folder}' (not: "
              f"{_first_few(unmatched)}); expected it to find the camera of every crop's path")
    return images


def _csv_rows(csv_path: str) -> List[Tuple[int, List[str]]]:
    if not os.path.isfile(csv_path):
        _fail(f"DATASETS.FOLDER.CAMERA_CSV '{csv_path}' not found; expected a CSV file of "
              f"path,camid[,frame] rows")
    with open(csv_path, newline="") as lines:
        rows = [(number, [field.strip() for field in row])
                for number, row in enumerate(csv.reader(lines), start=1) if any(row)]
    if rows and tuple(rows[0][1]) == CSV_HEADER[:len(rows[0][1])]:
        rows = rows[1:]
    if not rows:
        _fail(f"DATASETS.FOLDER.CAMERA_CSV '{csv_path}' lists no images; expected path,camid"
              f"[,frame] rows")
    return rows


def images_from_csv(folder: str, csv_path: str) -> List[TargetImage]:
    """The crops ``csv_path`` lists (paths relative to ``folder``), with their cameras."""
    images = []
    rows = _csv_rows(csv_path)
    with_frames = len(rows[0][1]) == 3
    for number, fields in rows:
        where = f"DATASETS.FOLDER.CAMERA_CSV '{csv_path}' row {number}"
        if len(fields) != len(rows[0][1]) or len(fields) not in (2, 3):
            _fail(f"{where}: {','.join(fields)!r} has {len(fields)} field(s); expected "
                  f"{'path,camid,frame' if with_frames else 'path,camid'}, as the first row")
        path = os.path.join(folder, fields[0])
        if not os.path.isfile(path):
            _fail(f"{where}: image '{path}' not found; expected a path relative to "
                  f"DATASETS.FOLDER.PATH '{folder}'")
        camid = _non_negative_int(fields[1])
        if camid is None:
            _fail(f"{where}: camid {fields[1]!r} is not a non-negative integer")
        frame = _non_negative_int(fields[2]) if with_frames else None
        if with_frames and frame is None:
            _fail(f"{where}: frame {fields[2]!r} is not a non-negative integer")
        images.append(TargetImage(path=path, camid=camid, frame=frame, sequence=0, true_pid=None))
    return images


@DATASET_REGISTRY.register()
class UnlabelledFolder(ImageDataset):
    """Crops under ``DATASETS.FOLDER.PATH`` (relative paths are under the dataset root), each
    with a camera from ``DATASETS.FOLDER.CAMERA_PATTERN`` or ``DATASETS.FOLDER.CAMERA_CSV``.

    Only a target (``DATASETS.TARGET``): its train split is every crop, query and gallery
    are empty. Every crop's identity is unknown (fastreid's pid -1).
    """
    dataset_name = "unlabelledfolder"
    # no identities: pre-flight refuses it as a source or a test set
    unlabelled = True

    def __init__(self, root="datasets", folder="", camera_pattern="", camera_csv="",
                 min_size=(0, 0), **kwargs):
        folder = os.path.normpath(os.path.join(root, folder))  # an absolute one stays
        if camera_csv:
            self.images = images_from_csv(folder, os.path.join(folder, camera_csv))
        else:
            self.images = images_from_pattern(folder, camera_pattern)
        # (height, width) below which a crop is refused by pre-flight's image check
        self.min_image_size = tuple(min_size)
        train = [(image.path, -1, image.camid) for image in self.images]
        super().__init__(train, [], [], **kwargs)

    @classmethod
    def from_config(cls, cfg) -> dict:
        """The keyword arguments DATASETS.FOLDER gives; a ValueError names a missing key."""
        keys = cfg.DATASETS.FOLDER
        if not keys.PATH:
            raise ValueError("DATASETS.TARGET UnlabelledFolder needs DATASETS.FOLDER.PATH, the "
                             "folder of pedestrian crops")
        if bool(keys.CAMERA_PATTERN) == bool(keys.CAMERA_CSV):
            raise ValueError("DATASETS.TARGET UnlabelledFolder needs exactly one of "
                             "DATASETS.FOLDER.CAMERA_PATTERN (a regex with (?P<camid>...)) and "
                             "DATASETS.FOLDER.CAMERA_CSV (path,camid[,frame] rows); got "
                             f"{'both' if keys.CAMERA_PATTERN else 'neither'}")
        return dict(folder=keys.PATH, camera_pattern=keys.CAMERA_PATTERN,
                    camera_csv=keys.CAMERA_CSV, min_size=tuple(keys.MIN_SIZE))

    def target_images(self) -> List[TargetImage]:
        return list(self.images)


def write_unlabelled_copy(images: Sequence[TargetImage], folder: str) -> str:
    """Copy ``images`` into ``folder`` (new, or empty) as a camera network hands its crops over:
    no identities, only each crop's camera in its name, ``<index>_c<camera><extension>`` in
    ``images`` order. Returns the ``DATASETS.FOLDER.CAMERA_PATTERN`` that reads them back.
    A labelled set made unlabelled this way is a stand-in for your own cameras whose
    pseudo-labels can still be checked against the identities it hid."""
    if os.path.isdir(folder) and os.listdir(folder):
        raise FileExistsError(f"'{folder}' is not empty; expected a new or empty folder for the unlabelled copy")
    os.makedirs(folder, exist_ok=True)
    for index, image in enumerate(images):
        extension = os.path.splitext(image.path)[1].lower()
        shutil.copyfile(image.path, os.path.join(folder, f"{index:06d}_c{image.camid}{extension}"))
    return UNLABELLED_COPY_PATTERN
