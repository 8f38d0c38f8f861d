"""The decoder Dec of the pixel-transfer module, Eq. (10): I^ = Dec(F)."""
from typing import Sequence

from fastreid.layers import get_norm
from torch import nn

from .registry import DECODER_REGISTRY, build_from_registry


@DECODER_REGISTRY.register()
class TransposedConvDecoder(nn.Sequential):
    """Sec. IV-B: three fractional-strided convolutions; BN + ReLU after each but the last,
    tanh after the last so I^ lies in [-1, 1].

    Every layer doubles H and W (stride 2, padding and output padding chosen for that), so a
    map at input/16 (ResNet with last stride 1) becomes an image at input/2.
    """

    def __init__(self, *, in_channels: int, channels: Sequence[int], kernel_size: int, norm: str,
                 out_channels: int = 3):
        if len(channels) != 2:
            raise ValueError(
                f"RAE.PIXEL_TRANSFER.DECODER.CHANNELS must list 2 widths (the paper's decoder has three "
                f"layers, the last outputs RGB), got {list(channels)}"
            )
        padding = (kernel_size - 1) // 2
        output_padding = kernel_size % 2  # makes out = 2 * in for odd kernels too
        widths = [in_channels, *channels, out_channels]
        layers = []
        for index, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:])):
            is_last = index == len(widths) - 2
            layers.append(
                nn.ConvTranspose2d(c_in, c_out, kernel_size, stride=2, padding=padding,
                                   output_padding=output_padding, bias=is_last)  # BN has the bias
            )
            if is_last:
                layers.append(nn.Tanh())
            else:
                layers.extend([get_norm(norm, c_out), nn.ReLU(inplace=True)])
        super().__init__(*layers)


def build_decoder(cfg) -> nn.Module:
    decoder_cfg = cfg.RAE.PIXEL_TRANSFER.DECODER
    return build_from_registry(
        DECODER_REGISTRY, decoder_cfg.NAME, "RAE.PIXEL_TRANSFER.DECODER.NAME",
        in_channels=cfg.MODEL.BACKBONE.FEAT_DIM,
        channels=list(decoder_cfg.CHANNELS),
        kernel_size=decoder_cfg.KERNEL_SIZE,
        norm=decoder_cfg.NORM,
    )
