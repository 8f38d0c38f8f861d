"""A dataset's training images as an unlabelled target domain.

The pseudo-label backends see each target image's camera and frame, never its identity;
the true identity is carried along only to measure pseudo-label quality.
"""
from dataclasses import dataclass
from typing import List

from fastreid.data.datasets.bases import ImageDataset

from .naming import parse_image_name


@dataclass(frozen=True)
class TargetImage:
    path: str
    camid: int  # 0-based
    frame: int  # see ImageName.frame: the slot number for CUHK03 / CUHK01
    sequence: int
    true_pid: int  # for evaluating pseudo-labels only; training must not read it


def unlabelled_target_images(dataset: ImageDataset) -> List[TargetImage]:
    """The train split of a built dataset, camera and frame parsed from each file name."""
    dataset_name = type(dataset).__name__  # the DATASET_REGISTRY name
    images = []
    for path, _, _ in dataset.train:
        name = parse_image_name(dataset_name, path)
        images.append(TargetImage(path=path, camid=name.camid, frame=name.frame,
                                  sequence=name.sequence, true_pid=name.pid))
    return images
