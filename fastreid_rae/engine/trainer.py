"""The UDA trainer: fastreid's ``DefaultTrainer`` with two-domain data."""
from fastreid.engine import DefaultTrainer

from ..data import build as data_build


class UDATrainer(DefaultTrainer):
    """Trains on the labelled sources of ``DATASETS.NAMES`` and evaluates on ``DATASETS.TESTS``.

    Overrides only how data is built (checked layouts, ``DATASETS.ROOT``); with no
    ``DATASETS.TARGET`` this is plain supervised training, i.e. direct transfer.
    """

    @classmethod
    def build_train_loader(cls, cfg):
        return data_build.build_source_train_loader(cfg)

    @classmethod
    def build_test_loader(cls, cfg, dataset_name):
        return data_build.build_test_loader(cfg, dataset_name)
