"""Unpaired image streams for the translator: source and target training images in [-1, 1].

The image lists come from the checked dataset builder (``build_dataset``, DATASETS.ROOT); the
two domains are sampled independently (CycleGAN needs no pairs and no labels).
"""
from typing import Iterator, List, Sequence, Tuple

import torch
import torchvision.transforms as T
from fastreid.data.data_utils import read_image
from torch.utils.data import BatchSampler, DataLoader, Dataset

from ..data.datasets import build_dataset, dataset_arguments
from ..data.streams import SeededSamples, ShuffledStreamSampler
from ..errors import ConfigError


def single_source_name(cfg) -> str:
    if len(cfg.DATASETS.NAMES) != 1:
        raise ConfigError(f"PT-hat translates one source set: DATASETS.NAMES must hold one name, "
                          f"got {list(cfg.DATASETS.NAMES)}")
    return cfg.DATASETS.NAMES[0]


def domain_names(cfg) -> Tuple[str, str]:
    """(source, target): the sets the translator learns to map between."""
    if not cfg.DATASETS.TARGET:
        raise ConfigError("the PT-hat translator learns source -> target style: DATASETS.TARGET is "
                          "empty; expected the target dataset, e.g. Market1501")
    return single_source_name(cfg), cfg.DATASETS.TARGET


def check_fills_a_batch(cfg, name: str, paths: Sequence[str]) -> None:
    batch = cfg.RAE.TRANSLATOR.IMS_PER_BATCH
    if len(paths) < batch:
        raise ConfigError(f"RAE.TRANSLATOR.IMS_PER_BATCH is {batch}, but {name} under DATASETS.ROOT "
                          f"{cfg.DATASETS.ROOT!r} has {len(paths)} training images; lower it")


def train_image_paths(name: str, root: str, **dataset_kwargs) -> List[str]:
    """File paths of ``name``'s training split, in the dataset's order (``dataset_kwargs``:
    what the dataset reads from the config, ``dataset_arguments``)."""
    return [item[0] for item in build_dataset(name, root, **dataset_kwargs).train]


def to_translator_space(size: Sequence[int], flip: bool = False) -> T.Compose:
    """PIL image -> 3 x H x W tensor in [-1, 1] at ``size`` (H, W); ``flip``: random
    horizontal flip, CycleGAN's only augmentation that keeps the image's content."""
    steps = [T.Resize(tuple(size), interpolation=T.InterpolationMode.BICUBIC)]
    if flip:
        steps.append(T.RandomHorizontalFlip())
    return T.Compose(steps + [T.ToTensor(), T.Normalize([0.5] * 3, [0.5] * 3)])


class ImageFiles(Dataset):
    def __init__(self, paths: Sequence[str], transform):
        self.paths = list(paths)
        self.transform = transform

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, index):
        return {"images": self.transform(read_image(self.paths[index], "RGB"))}


def endless_batches(paths: Sequence[str], size, batch_size: int, num_workers: int, seed: int,
                    start: int = 0) -> Iterator[torch.Tensor]:
    """Shuffled, flipped batches forever, a new order each pass, as a resumable stream
    (data/streams.py): the n-th batch and its flips depend only on ``seed`` and n, so a
    resumed translator skips the ``start`` images it had already drawn and continues with the
    very batches it would have drawn."""
    sampler = ShuffledStreamSampler([0] * len(paths), batch_size, seed)
    sampler.start = start
    loader = DataLoader(SeededSamples(ImageFiles(paths, to_translator_space(size, flip=True))),
                        batch_sampler=BatchSampler(sampler, batch_size, drop_last=True), num_workers=num_workers)
    for batch in loader:
        yield batch["images"]


def first_images(paths: Sequence[str], size, count: int) -> torch.Tensor:
    """The first ``count`` images of ``paths``, unflipped, as one batch in [-1, 1] (the same
    pictures every time, so grids of successive checkpoints compare)."""
    to_input = to_translator_space(size)
    return torch.stack([to_input(read_image(path, "RGB")) for path in paths[:count]])


def build_unpaired_streams(cfg, start: int = 0):
    """``(source, target)`` endless batch iterators over the training images of
    DATASETS.NAMES[0] and DATASETS.TARGET, at INPUT.SIZE_TRAIN, each past its first ``start``
    images."""
    keys, size = cfg.RAE.TRANSLATOR, cfg.INPUT.SIZE_TRAIN
    workers = cfg.DATALOADER.NUM_WORKERS
    source_name, target_name = domain_names(cfg)
    source = train_image_paths(source_name, cfg.DATASETS.ROOT)
    target = train_image_paths(target_name, cfg.DATASETS.ROOT, **dataset_arguments(cfg, target_name))
    for name, paths in ((source_name, source), (target_name, target)):
        check_fills_a_batch(cfg, name, paths)
    return (endless_batches(source, size, keys.IMS_PER_BATCH, workers, seed=0, start=start),
            endless_batches(target, size, keys.IMS_PER_BATCH, workers, seed=1, start=start))
