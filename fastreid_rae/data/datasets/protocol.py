"""Camera-A-query / camera-B-gallery protocol shared by the CUHK03 pair-1 and CUHK01 loaders.

Both datasets film each person with exactly two cameras, so evaluation asks: given a
camera-A image, find the same person among camera-B images. Every camera-A image of a test
identity is a query and every camera-B image is in the gallery (docs/datasets.md says why).
"""
from typing import List, Sequence, Tuple

from .layout import ScannedImage

Item = Tuple[str, object, object]  # fastreid's (img_path, pid, camid)

QUERY_CAMERA = 0  # camera A
GALLERY_CAMERA = 1  # camera B


def as_train_items(dataset_name: str, images: Sequence[ScannedImage]) -> List[Item]:
    # fastreid prefixes train ids and cameras with the dataset name so that training on
    # several datasets at once never merges two people who share a number.
    return [(path, f"{dataset_name}_{name.pid}", f"{dataset_name}_{name.camid}")
            for path, name in images]


def split_query_gallery(images: Sequence[ScannedImage]) -> Tuple[List[Item], List[Item]]:
    query = [(path, name.pid, name.camid) for path, name in images if name.camid == QUERY_CAMERA]
    gallery = [(path, name.pid, name.camid) for path, name in images
               if name.camid == GALLERY_CAMERA]
    return query, gallery


def split_identities(images: Sequence[ScannedImage]) -> Tuple[List[ScannedImage],
                                                              List[ScannedImage]]:
    """First half (rounded down) of the sorted identities for training, the rest for test.

    For CUHK01's 971 people this is the literature's 485 / 486 split, fixed rather than
    drawn at random so that every run and every user evaluates on the same people.
    """
    pids = sorted({name.pid for _, name in images})
    train_pids = set(pids[:len(pids) // 2])
    train = [image for image in images if image[1].pid in train_pids]
    test = [image for image in images if image[1].pid not in train_pids]
    return train, test
