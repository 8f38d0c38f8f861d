"""RAE's model parts. Importing this package registers them:

META_ARCH_REGISTRY: RAE; REID_HEADS_REGISTRY: RAEEmbeddingHead, BilinearFusionHead;
DECODER_REGISTRY: TransposedConvDecoder; DISCRIMINATOR_REGISTRY: StridedConvDiscriminator;
GAN_LOSS_REGISTRY: NonSaturatingGANLoss, LeastSquaresGANLoss;
BACKBONE_REGISTRY: build_shufflenetv2_last_stride_backbone, build_mobilenetv2_last_stride_backbone.
"""
from .registry import DECODER_REGISTRY, DISCRIMINATOR_REGISTRY, GAN_LOSS_REGISTRY
from .backbones import build_mobilenetv2_last_stride_backbone, build_shufflenetv2_last_stride_backbone
from .decoder import TransposedConvDecoder, build_decoder
from .discriminators import StridedConvDiscriminator, build_feature_discriminator, build_pixel_discriminator
from .heads import BilinearFusionHead, FactorizedBilinearPooling, RAEEmbeddingHead, ResizableClassifier
from .losses import LeastSquaresGANLoss, NonSaturatingGANLoss
from .pixels import PixelSpace
from .meta_arch import RAE, check_rae_config
