"""CUHK01: one folder of 971 people, split by identity into train and test."""
from fastreid.data.datasets import DATASET_REGISTRY
from fastreid.data.datasets.bases import ImageDataset

from .layout import ImageFolder, Layout, scan_dataset
from .naming import CUHK01_NAME
from .protocol import as_train_items, split_identities, split_query_gallery


@DATASET_REGISTRY.register()
class CUHK01(ImageDataset):
    """CUHK01, ``<root>/cuhk01/campus/PPPPNNN.png``.

    No predefined split: the first 485 of the 971 sorted identities train, the other 486
    test; every camera-A image (slots 001-002) of a test person is a query, every camera-B
    image (003-004) gallery.
    """
    dataset_name = "cuhk01"
    layout = Layout(dataset="CUHK01", anchor="cuhk01",
                    image_folders=(ImageFolder("cuhk01/campus", CUHK01_NAME),))

    def __init__(self, root="datasets", **kwargs):
        images = scan_dataset(root, [self.layout])["cuhk01/campus"]
        train_images, test_images = split_identities(images)
        train = as_train_items(self.dataset_name, train_images)
        query, gallery = split_query_gallery(test_images)
        super().__init__(train, query, gallery, **kwargs)
