"""CUHK03, camera pair 1, detected boxes: train on ``train/``, evaluate on ``val/``."""
from fastreid.data.datasets import DATASET_REGISTRY
from fastreid.data.datasets.bases import ImageDataset

from .layout import ImageFolder, Layout, scan_dataset
from .naming import CUHK03_NAME
from .protocol import as_train_items, split_query_gallery


@DATASET_REGISTRY.register()
class CUHK03Pair1(ImageDataset):
    """CUHK03 camera pair 1 (detected crops), ``<root>/cuhk03_detected/{train,val}/PPPP_SS.jpg``.

    Train: all of ``train/`` (743 people). Test: ``val/`` (100 other people; ids restart at
    0000), every camera-A image (slots 00-04) a query, every camera-B image (05-09) gallery.
    Not fastreid's ``CUHK03``, which reads the full ``cuhk-03.mat`` release.
    """
    dataset_name = "cuhk03pair1"
    layout = Layout(dataset="CUHK03Pair1", anchor="cuhk03_detected",
                    image_folders=(ImageFolder("cuhk03_detected/train", CUHK03_NAME),
                                   ImageFolder("cuhk03_detected/val", CUHK03_NAME)))

    def __init__(self, root="datasets", **kwargs):
        images = scan_dataset(root, [self.layout])
        train = as_train_items(self.dataset_name, images["cuhk03_detected/train"])
        query, gallery = split_query_gallery(images["cuhk03_detected/val"])
        super().__init__(train, query, gallery, **kwargs)
