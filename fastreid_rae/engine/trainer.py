"""The UDA trainer: fastreid's ``DefaultTrainer`` with two-domain data."""
from fastreid.engine import DefaultTrainer
from fastreid.utils import comm

from ..data import build as data_build
from ..evaluation import write_results


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

    @classmethod
    def test(cls, cfg, model):
        results = super().test(cfg, model)
        # fastreid returns the inner dict when there is one test set
        per_dataset = results if len(cfg.DATASETS.TESTS) > 1 else {cfg.DATASETS.TESTS[0]: results}
        if comm.is_main_process() and cfg.OUTPUT_DIR:
            write_results(cfg.OUTPUT_DIR, per_dataset)
        return results
