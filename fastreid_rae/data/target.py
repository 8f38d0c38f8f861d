"""The unlabelled target domain: its images, a loader to extract their features, and the
identity-sampled loader over one epoch's pseudo-labels (Algorithm 1, step 1)."""
import numpy as np
from fastreid.data import build_reid_test_loader
from fastreid.data.common import CommDataset
from fastreid.data.transforms import build_transforms

from .datasets import build_dataset, dataset_arguments, unlabelled_target_images
from .streams import build_stream, build_stream_loader


def build_target_images(cfg):
    """``TargetImage``s of the ``DATASETS.TARGET`` training split (camera and frame parsed)."""
    dataset = build_dataset(cfg.DATASETS.TARGET, cfg.DATASETS.ROOT,
                            **dataset_arguments(cfg, cfg.DATASETS.TARGET))
    images = unlabelled_target_images(dataset)
    if not images:
        raise ValueError(f"DATASETS.TARGET {cfg.DATASETS.TARGET!r} has no training images under "
                         f"{cfg.DATASETS.ROOT or '$FASTREID_DATASETS'}")
    return images


def build_target_feature_loader(cfg, images):
    """Test-time transforms, fixed order: one feature per target image, in ``images`` order."""
    items = [(image.path, 0, image.camid) for image in images]
    dataset = CommDataset(items, build_transforms(cfg, is_train=False), relabel=False)
    loader, _ = build_reid_test_loader(test_set=dataset, test_batch_size=cfg.TEST.IMS_PER_BATCH,
                                       num_query=0, num_workers=cfg.DATALOADER.NUM_WORKERS)
    return loader


def build_pseudo_labelled_loader(cfg, images, labels, seed, sampler_name=""):
    """A resumable stream over the inliers (label >= 0; outliers leave this epoch's target
    set): P x K over pseudo-identities, or as ``sampler_name`` says. Batch ``"indices"`` are
    positions in ``images``."""
    labels = np.asarray(labels)
    items = [(image.path, int(label), image.camid) for image, label in zip(images, labels)]
    dataset = CommDataset(items, build_transforms(cfg, is_train=True), relabel=False)
    return build_stream_loader(cfg, dataset, build_stream(cfg, labels, seed, sampler_name))
