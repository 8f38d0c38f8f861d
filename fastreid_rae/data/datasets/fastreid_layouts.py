"""Expected layouts of the datasets fastreid itself loads (Market1501, DukeMTMC, MSMT17).

Mirrors the folders fastreid 1.4.0's loaders open, so ``build_dataset`` can check a root
before handing it to them.
"""
import re

from .layout import ImageFolder, Layout, ListFile
from .naming import DUKEMTMC_NAME, MARKET1501_NAME, MSMT17_NAME

# fastreid's Market1501 and DukeMTMC loaders run this search on the full image path.
_FASTREID_PID_CAMERA_SEARCH = re.compile(r"([-\d]+)_c(\d)")


def _market1501(base: str, anchor: str) -> Layout:
    return Layout(
        dataset="Market1501", anchor=anchor, root_must_not_match=_FASTREID_PID_CAMERA_SEARCH,
        image_folders=tuple(ImageFolder(f"{base}{split}", MARKET1501_NAME)
                            for split in ("bounding_box_train", "bounding_box_test", "query")))


def _msmt17(version: str, train: str, test: str) -> Layout:
    return Layout(
        dataset="MSMT17", anchor=version,
        image_folders=(ImageFolder(f"{version}/{train}", MSMT17_NAME, recursive=True),
                       ImageFolder(f"{version}/{test}", MSMT17_NAME, recursive=True)),
        list_files=(ListFile(f"{version}/list_train.txt", f"{version}/{train}"),
                    ListFile(f"{version}/list_val.txt", f"{version}/{train}"),
                    ListFile(f"{version}/list_query.txt", f"{version}/{test}"),
                    ListFile(f"{version}/list_gallery.txt", f"{version}/{test}")))


# Keyed by DATASET_REGISTRY name; alternatives in the order fastreid tries them.
FASTREID_LAYOUTS = {
    # fastreid still accepts the split folders directly under the root, with a warning.
    "Market1501": (_market1501("Market-1501-v15.09.15/", anchor="Market-1501-v15.09.15"),
                   _market1501("", anchor="bounding_box_train")),
    "DukeMTMC": (Layout(
        dataset="DukeMTMC", anchor="DukeMTMC-reID",
        root_must_not_match=_FASTREID_PID_CAMERA_SEARCH,
        image_folders=tuple(ImageFolder(f"DukeMTMC-reID/{split}", DUKEMTMC_NAME)
                            for split in ("bounding_box_train", "bounding_box_test", "query"))),),
    "MSMT17": (_msmt17("MSMT17_V1", "train", "test"),
               _msmt17("MSMT17_V2", "mask_train_v2", "mask_test_v2")),
}
