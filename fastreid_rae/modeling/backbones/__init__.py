"""Backbones fastreid lacks, registered in its BACKBONE_REGISTRY (``MODEL.BACKBONE.NAME``)."""
from .shufflenet import build_shufflenetv2_last_stride_backbone
