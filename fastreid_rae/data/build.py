"""Loaders for the labelled source sets and the target test set, through the checked builder.

fastreid's own ``build_reid_*_loader(cfg)`` read the data root once, from $FASTREID_DATASETS
at import, and fail with bare errors on a wrong layout; here every dataset comes from
``build_dataset`` with ``DATASETS.ROOT`` and is handed to fastreid's loaders ready-made.
"""
import logging

from fastreid.data import build_reid_test_loader
from fastreid.data.common import CommDataset
from fastreid.data.transforms import build_transforms
from fastreid.utils import comm

from ..translation.pre_pixel_transfer import source_train_root
from .datasets import build_dataset
from .streams import build_stream, build_stream_loader

logger = logging.getLogger(__name__)


def run_seed(cfg) -> int:
    """``SEED``, or one random seed shared by all processes when it is negative (the trainer
    keeps it in its checkpoints, so a resumed run continues the same streams)."""
    return cfg.SEED if cfg.SEED >= 0 else comm.shared_random_seed()


def build_source_train_loader(cfg):
    """Loader over the labelled sets in ``DATASETS.NAMES``: a resumable stream
    (``DATALOADER.SAMPLER_TRAIN``: identity-sampled P x K, or shuffled)."""
    items = []
    for name in cfg.DATASETS.NAMES:
        # pre mode (PT-hat): the translated copy of the source set
        dataset = build_dataset(name, source_train_root(cfg), combineall=cfg.DATASETS.COMBINEALL)
        if comm.is_main_process():
            dataset.show_train()
        items.extend(dataset.train)
    train_set = CommDataset(items, build_transforms(cfg, is_train=True), relabel=True)
    pids = [train_set.pid_dict[item[1]] for item in items]
    sampler = build_stream(cfg, pids, run_seed(cfg))
    return build_stream_loader(cfg, train_set, sampler)


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
