"""fastreid's ShuffleNetV2 with ``MODEL.BACKBONE.LAST_STRIDE``.

fastreid's own ``build_shufflenetv2_backbone`` always downsamples 32x. RAE's Dec (Eq. 10)
and the CPU configs are sized for the input/16 map that re-ID ResNets give with last
stride 1, so this builder takes fastreid's network and sets the stride of the last stage's
first block. On 2 CPU cores it trains ~3x faster than ResNet-18 (docs/performance.md); from
scratch on the synthetic world it gave weaker models, so the CPU configs keep ResNet-18
(docs/archive/experiment_log.md, "ShuffleNetV2 as the CPU backbone").
"""
from fastreid.modeling.backbones import BACKBONE_REGISTRY
from torch import nn


def set_last_stride(network: nn.Module, stride: int) -> None:
    """Give the down-sampling block of the last stage (both of its depthwise branches) ``stride``."""
    last_stage_entry = [block for block in network.features if block.stride == 2][-1]
    depthwise = [last_stage_entry.branch_main[3], last_stage_entry.branch_proj[0]]
    for conv in depthwise:
        if conv.groups != conv.in_channels:
            raise TypeError(f"expected a depthwise conv in fastreid's ShuffleV2Block, found {conv}")
        conv.stride = (stride, stride)


@BACKBONE_REGISTRY.register()
def build_shufflenetv2_last_stride_backbone(cfg):
    """``MODEL.BACKBONE.DEPTH`` is the width ('0.5x', '1.0x', '1.5x', '2.0x'), as in fastreid."""
    if cfg.MODEL.BACKBONE.LAST_STRIDE not in (1, 2):
        raise ValueError(f"MODEL.BACKBONE.LAST_STRIDE must be 1 or 2 for ShuffleNetV2, "
                         f"got {cfg.MODEL.BACKBONE.LAST_STRIDE}")
    network = BACKBONE_REGISTRY.get("build_shufflenetv2_backbone")(cfg)
    set_last_stride(network, cfg.MODEL.BACKBONE.LAST_STRIDE)
    return network
