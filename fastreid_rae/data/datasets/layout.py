"""Expected on-disk layouts, checked before a loader reads anything.

fastreid's own loaders fail on a wrong root with a bare RuntimeError or AssertionError and
silently skip files they cannot parse; a ``Layout`` check instead collects every problem
(missing root or folder, empty folder, misnamed file, bad list-file line) into one
``DatasetLayoutError`` that names the paths and the expected layout. Our own loaders read
their images through the same scan, so checking and loading cannot disagree.
"""
import os
import re
from dataclasses import dataclass
from typing import Dict, List, NoReturn, Optional, Sequence, Tuple

from .errors import DatasetLayoutError
from .naming import FileNamePattern, ImageName

# Files that image-viewers and file systems drop into folders; never images, never reported.
KNOWN_JUNK_FILES = frozenset({"Thumbs.db", "desktop.ini"})
_MAX_NAMES_REPORTED = 10

ScannedImage = Tuple[str, ImageName]  # (image path, what its name says)


def is_known_junk(file_name: str) -> bool:
    # Hidden files cover .DS_Store and macOS "._*" resource forks.
    return file_name in KNOWN_JUNK_FILES or file_name.startswith(".")


@dataclass(frozen=True)
class ImageFolder:
    path: str  # relative to the dataset root
    pattern: FileNamePattern
    recursive: bool = False  # MSMT17 keeps each identity's images in a sub-folder


@dataclass(frozen=True)
class ListFile:
    """A text file of ``relative/path.jpg label`` lines naming images of ``image_folder``."""
    path: str
    image_folder: str


@dataclass(frozen=True)
class Layout:
    dataset: str  # DATASET_REGISTRY name
    # Folder (relative to the root) whose presence says the data uses this layout; lets one
    # dataset accept alternatives, as fastreid does (MSMT17_V1 or MSMT17_V2).
    anchor: str
    image_folders: Tuple[ImageFolder, ...]
    list_files: Tuple[ListFile, ...] = ()
    # A loader that parses identity and camera by searching its regex in the WHOLE path
    # (fastreid's Market1501 and DukeMTMC) mislabels every image when the root itself matches.
    root_must_not_match: Optional[re.Pattern] = None

    def describe(self) -> str:
        folders = ", ".join(f"{folder.path}/{'<identity>/' if folder.recursive else ''}"
                            for folder in self.image_folders)
        templates = sorted({folder.pattern.template for folder in self.image_folders})
        lines = [f"image folders: {folders}", f"image names: {' | '.join(templates)}"]
        lines += [f"list file: {list_file.path} (lines '<path under {list_file.image_folder}/> "
                  f"<label>')" for list_file in self.list_files]
        return "\n".join(f"    {line}" for line in lines)


def _describe_all(layouts: Sequence[Layout]) -> str:
    return "\n  or\n".join(layout.describe() for layout in layouts)


def _fail(layouts: Sequence[Layout], root: str, problems: List[str]) -> NoReturn:
    raise DatasetLayoutError(
        f"{layouts[0].dataset}: dataset under root '{root}' is missing or malformed:\n"
        + "\n".join(f"  - {problem}" for problem in problems)
        + f"\nExpected layout under '{root}':\n{_describe_all(layouts)}")


def _names_listed(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_MAX_NAMES_REPORTED])
    more = len(names) - _MAX_NAMES_REPORTED
    return shown + (f" (and {more} more)" if more > 0 else "")


def _image_files(folder_path: str, recursive: bool) -> List[str]:
    if not recursive:
        return sorted(entry.path for entry in os.scandir(folder_path) if entry.is_file())
    return sorted(os.path.join(dir_path, name)
                  for dir_path, _, names in os.walk(folder_path) for name in names)


def _scan_folder(root: str, folder: ImageFolder, problems: List[str]) -> List[ScannedImage]:
    folder_path = os.path.join(root, folder.path)
    if not os.path.isdir(folder_path):
        problems.append(f"folder '{folder_path}' not found")
        return []
    images, misnamed = [], []
    for path in _image_files(folder_path, folder.recursive):
        file_name = os.path.basename(path)
        if is_known_junk(file_name):
            continue
        image_name = folder.pattern.parse(file_name)
        if image_name is None:
            misnamed.append(os.path.relpath(path, folder_path))
        else:
            images.append((path, image_name))
    if misnamed:
        problems.append(f"{len(misnamed)} file(s) in '{folder_path}' not named "
                        f"{folder.pattern.template}: {_names_listed(misnamed)}")
    elif not images:
        problems.append(f"folder '{folder_path}' has no images named {folder.pattern.template}")
    return images


_LIST_LINE = re.compile(r"(\S+) -?\d+\s*")  # fastreid splits on the single space


def _check_list_file(root: str, list_file: ListFile, problems: List[str]) -> None:
    list_path = os.path.join(root, list_file.path)
    if not os.path.isfile(list_path):
        problems.append(f"list file '{list_path}' not found")
        return
    with open(list_path) as lines:
        entries = [(number, line) for number, line in enumerate(lines, start=1)]
    bad_lines = [f"line {number}: {line.rstrip()!r}" for number, line in entries
                 if not _LIST_LINE.fullmatch(line)]
    if bad_lines:
        problems.append(f"list file '{list_path}' has lines not of the form "
                        f"'<path> <label>': {_names_listed(bad_lines)}")
        return
    image_folder = os.path.join(root, list_file.image_folder)
    missing = [line.split(" ")[0] for _, line in entries
               if not os.path.isfile(os.path.join(image_folder, line.split(" ")[0]))]
    if missing:
        problems.append(f"list file '{list_path}' names images missing from "
                        f"'{image_folder}': {_names_listed(missing)}")


def _check_root_hazard(root: str, layout: Layout, problems: List[str]) -> None:
    anchor_path = os.path.join(root, layout.anchor)
    match = layout.root_must_not_match and layout.root_must_not_match.search(anchor_path)
    if match:
        problems.append(f"path '{anchor_path}' contains '{match.group()}', which the loader "
                        f"would read as every image's identity and camera; rename that folder")


def scan_dataset(root: str, layouts: Sequence[Layout]) -> Dict[str, List[ScannedImage]]:
    """Check ``root`` against the first layout whose anchor exists; return its images.

    Returns the parsed images of each image folder (keyed by its relative path, sorted by
    path). Raises one DatasetLayoutError listing every problem found.
    """
    if not os.path.isdir(root):
        _fail(layouts, root, [f"dataset root '{root}' is not an existing folder"])
    chosen = next((layout for layout in layouts
                   if os.path.isdir(os.path.join(root, layout.anchor))), None)
    if chosen is None:
        anchors = " or ".join(f"'{os.path.join(root, layout.anchor)}'" for layout in layouts)
        _fail(layouts, root, [f"{anchors} not found"])
    problems: List[str] = []
    _check_root_hazard(root, chosen, problems)
    images = {folder.path: _scan_folder(root, folder, problems) for folder in chosen.image_folders}
    for list_file in chosen.list_files:
        _check_list_file(root, list_file, problems)
    if problems:
        _fail([chosen], root, problems)
    return images
