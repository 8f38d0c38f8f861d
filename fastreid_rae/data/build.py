"""Loaders for the labelled source sets and the target test set, through the checked builder.

fastreid's own ``build_reid_*_loader(cfg)`` read the data root once, from $FASTREID_DATASETS
at import, and fail with bare errors on a wrong layout; here every dataset comes from
``build_dataset`` with ``DATASETS.ROOT`` and is handed to fastreid's loaders ready-made.
"""
import logging

from fastreid.data import build_reid_test_loader, build_reid_train_loader
from fastreid.data.common import CommDataset
from fastreid.data.transforms import build_transforms
from fastreid.utils import comm

from .datasets import build_dataset

logger = logging.getLogger(__name__)


def build_source_train_loader(cfg):
    """Identity-sampled loader over the labelled sets in ``DATASETS.NAMES``."""
    items = []
    for name in cfg.DATASETS.NAMES:
        dataset = build_dataset(name, cfg.DATASETS.ROOT, combineall=cfg.DATASETS.COMBINEALL)
        if comm.is_main_process():
            dataset.show_train()
        items.extend(dataset.train)
    train_set = CommDataset(items, build_transforms(cfg, is_train=True), relabel=True)
    return build_reid_train_loader(cfg, train_set=train_set)


def build_test_loader(cfg, dataset_name):
    """``(loader, num_query)`` over query + gallery of ``dataset_name``."""
    dataset = build_dataset(dataset_name, cfg.DATASETS.ROOT)
    if comm.is_main_process():
        dataset.show_test()
    test_set = CommDataset(dataset.query + dataset.gallery,
                           build_transforms(cfg, is_train=False), relabel=False)
    return build_reid_test_loader(test_set=test_set, test_batch_size=cfg.TEST.IMS_PER_BATCH,
                                  num_query=len(dataset.query),
                                  num_workers=cfg.DATALOADER.NUM_WORKERS)
