"""Writes the PT-hat source set: every source training image through G_s2t, under a new root,
with the same relative paths and file names, so fastreid's own loader reads it unchanged.

Layout of ``out_root``: every file of the source set's training split is replaced by its
translation (same name, same pixel size); everything else under the original root (the
source's query / gallery, list files, other datasets) is a symbolic link to the original,
because fastreid's loaders check that those folders exist. The tree is built in a hidden
``.partial-<name>`` folder beside it and renamed when complete (``atomic.atomic_folder``), so
a folder named ``out_root`` is never half-written. ``translation.json`` records what made it.
"""
import json
import logging
import os
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Iterable, List, Optional, Sequence

import torch
from fastreid.data.data_utils import read_image
from PIL import Image
from tqdm import tqdm

from ..atomic import atomic_folder
from ..data.datasets import resolve_root
from ..errors import ConfigError
from .data import single_source_name, to_translator_space, train_image_paths

logger = logging.getLogger(__name__)
MANIFEST_NAME = "translation.json"


def _mirror(source_dir: str, out_dir: str, written: Iterable[str]) -> None:
    """Symlink every entry of ``source_dir`` into ``out_dir`` except the ``written`` paths
    (relative to ``source_dir``); folders holding written paths are recreated, not linked."""
    inside = defaultdict(list)  # first path component -> the written paths below it
    for relative in written:
        head, _, rest = relative.partition(os.sep)
        inside[head].append(rest)
    os.makedirs(out_dir, exist_ok=True)
    for entry in os.scandir(source_dir):
        if entry.name not in inside:
            os.symlink(os.path.abspath(entry.path), os.path.join(out_dir, entry.name))
        elif entry.is_dir():
            _mirror(entry.path, os.path.join(out_dir, entry.name), [r for r in inside[entry.name] if r])


@torch.no_grad()
def _translate_files(generator, paths: List[str], root: str, out_dir: str, size, device, batch_size: int,
                     progress: bool) -> None:
    to_input = to_translator_space(size)
    for start in tqdm(range(0, len(paths), batch_size), desc="translating", disable=not progress, dynamic_ncols=True):
        images = [read_image(path, "RGB") for path in paths[start:start + batch_size]]
        outputs = generator(torch.stack([to_input(image) for image in images]).to(device))
        pixels = ((outputs.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()
        for path, image, translated in zip(paths[start:start + batch_size], images, pixels):
            # back to the file's own pixel size: the training loader resizes every source image
            # to INPUT.SIZE_TRAIN itself, so the tree reads like the original dataset
            translated = Image.fromarray(translated).resize(image.size, Image.BICUBIC)
            target = os.path.join(out_dir, os.path.relpath(path, root))
            jpeg = target.lower().endswith((".jpg", ".jpeg"))
            translated.save(target, **({"quality": 95} if jpeg else {}))  # PIL's default 75 blurs


def _inside(path, folder) -> bool:
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(folder))


def check_translated_root(cfg, out_root, overwrite: bool, keep: Sequence[str] = ()) -> None:
    """``out_root`` may receive a translated set: outside DATASETS.ROOT (the mirror of the
    root would contain the tree being written); and, since an existing one is deleted first,
    only with ``overwrite`` and only when it is a translated set itself (translation.json),
    holding neither DATASETS.ROOT nor a folder of ``keep`` (the translator's own run)."""
    root = resolve_root(cfg.DATASETS.ROOT)
    flag = "--translate"
    if _inside(out_root, root):
        raise ConfigError(f"{flag} '{out_root}' lies inside DATASETS.ROOT '{root}'; expected a folder "
                          f"outside it")
    for folder, what in [(root, "DATASETS.ROOT"), *((folder, "--output-dir") for folder in keep)]:
        if _inside(folder, out_root):
            raise ConfigError(f"{flag} '{out_root}' holds {what} '{folder}', which replacing it would "
                              f"delete; expected a folder of its own")
    if not os.path.exists(out_root):
        return
    if not overwrite:
        raise ConfigError(f"{flag} '{out_root}' exists; pass --overwrite to replace it (overwrite=True)")
    if not os.path.isfile(os.path.join(out_root, MANIFEST_NAME)):
        raise ConfigError(f"{flag} '{out_root}' exists and is not a translated set (no {MANIFEST_NAME}); "
                          f"--overwrite replaces only a folder this tool wrote: expected a new folder")


def translate_source_train_set(cfg, generator, out_root, *, checkpoint: Optional[str] = None,
                               batch_size: int = 32, overwrite: bool = False, progress: bool = True) -> Path:
    """Translate DATASETS.NAMES[0]'s training split (under DATASETS.ROOT) into ``out_root``
    with ``generator`` (G_s2t) at INPUT.SIZE_TRAIN; returns ``out_root``.

    Use it as RAE.TRANSLATOR.TRANSLATED_ROOT for RAE.PIXEL_TRANSFER.MODE pre."""
    name = single_source_name(cfg)
    root = resolve_root(cfg.DATASETS.ROOT)
    out_root = Path(out_root)
    check_translated_root(cfg, out_root, overwrite)
    if out_root.exists():
        shutil.rmtree(out_root)

    paths = train_image_paths(name, root)
    relative = [os.path.relpath(path, root) for path in paths]
    outside = [path for path, rel in zip(paths, relative) if rel.startswith(os.pardir)]
    if outside:
        raise ValueError(f"{name}'s training images must lie under DATASETS.ROOT {root}; e.g. {outside[0]}")
    manifest = {"dataset": name, "source_root": os.path.abspath(root), "images": len(paths),
                "size": list(cfg.INPUT.SIZE_TRAIN), "checkpoint": checkpoint and os.path.abspath(checkpoint)}
    with atomic_folder(out_root) as partial:
        _mirror(root, str(partial), relative)
        was_training = generator.training
        try:
            _translate_files(generator.eval(), paths, root, str(partial), cfg.INPUT.SIZE_TRAIN,
                             next(generator.parameters()).device, batch_size, progress)
        finally:
            generator.train(was_training)
        # unlink first: translating a translated tree mirrors its manifest as a link to the original
        (partial / MANIFEST_NAME).unlink(missing_ok=True)
        (partial / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
    logger.info("translated %d %s training images into %s", len(paths), name, out_root)
    return out_root
