"""A dataset's training images as an unlabelled target domain.

The pseudo-label backends see each target image's camera and frame, never its identity;
the true identity is carried along only to measure pseudo-label quality. A dataset without a
file-name convention (``UnlabelledFolder``) knows its images' cameras itself and gives them
through ``target_images()``.
"""
from dataclasses import dataclass
from typing import List, Optional

from fastreid.data.datasets.bases import ImageDataset

from .naming import parse_image_name


@dataclass(frozen=True)
class TargetImage:
    path: str
    camid: int  # 0-based
    frame: Optional[int]  # see ImageName.frame (slot number for CUHK03 / CUHK01); None: unknown
    sequence: int
    # for evaluating pseudo-labels only; training must not read it. None: unknown (your own
    # cameras), so the labels' quality can only be watched label-free
    true_pid: Optional[int]


def unlabelled_target_images(dataset: ImageDataset) -> List[TargetImage]:
    """The train split of a built dataset, camera and frame parsed from each file name (or
    given by the dataset)."""
    if hasattr(dataset, "target_images"):
        return dataset.target_images()
    dataset_name = type(dataset).__name__  # the DATASET_REGISTRY name
    images = []
    for path, _, _ in dataset.train:
        name = parse_image_name(dataset_name, path)
        images.append(TargetImage(path=path, camid=name.camid, frame=name.frame,
                                  sequence=name.sequence, true_pid=name.pid))
    return images
