"""Backbones fastreid lacks, registered in its BACKBONE_REGISTRY (``MODEL.BACKBONE.NAME``),
and the ImageNet weights Enc starts from (``imagenet.py``)."""
from .imagenet import ImageNetWeightsError, check_imagenet_weights, resnet_imagenet_state_dict
from .mobilenet import build_mobilenetv2_last_stride_backbone
from .shufflenet import build_shufflenetv2_last_stride_backbone
