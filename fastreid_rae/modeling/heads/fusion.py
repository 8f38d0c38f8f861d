"""The fusion module, Sec. III-C: factorised bilinear pooling of F and F^x2s, Eq. (19)-(23)."""
from typing import Callable, Collection, Dict, Optional

import torch
import torch.nn.functional as F
from fastreid.config import configurable
from fastreid.modeling.heads import REID_HEADS_REGISTRY
from torch import nn

from .embedding_head import RAEEmbeddingHead


def _signed_sqrt_l2(z: torch.Tensor) -> torch.Tensor:
    # eps keeps the gradient of sqrt finite at 0
    return F.normalize(torch.sign(z) * torch.sqrt(z.abs() + 1e-12), dim=1)


# How the pooled bilinear feature is normalised (RAE.FUSION.NORMALIZATION). Eq. (19)-(20) have
# none, but the product of two projections grows with the square of the features' scale;
# [55] bounds it with tanh, MFB (Yu et al. 2017) with power + L2 normalisation (docs/model.md).
FUSED_FEATURE_NORMALIZATIONS: Dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "none": lambda z: z,
    "l2": lambda z: F.normalize(z, dim=1),
    "power_l2": _signed_sqrt_l2,
}


class FactorizedBilinearPooling(nn.Module):
    """z = GAP(P(F1, F2)) with P(F1, F2) = Q^T (U^T F1 o V^T F2) at every spatial location,
    Eq. (19) and Eq. (20); U, V: c x d, Q: d x o, o = Hadamard product; then normalised
    (see FUSED_FEATURE_NORMALIZATIONS).

    Q is applied after the global average pooling: both are linear, so
    GAP(Q^T x) = Q^T GAP(x) exactly, and Q then costs one matrix product per image instead of
    one per location.
    """

    def __init__(self, in_channels: int, rank: int, out_dim: int, normalization: str = "none"):
        super().__init__()
        if normalization not in FUSED_FEATURE_NORMALIZATIONS:
            raise ValueError(f"RAE.FUSION.NORMALIZATION must be one of {sorted(FUSED_FEATURE_NORMALIZATIONS)}, "
                             f"got {normalization!r}")
        self.left_projection = nn.Conv2d(in_channels, rank, 1, bias=False)  # U
        self.right_projection = nn.Conv2d(in_channels, rank, 1, bias=False)  # V
        self.output_projection = nn.Linear(rank, out_dim, bias=False)  # Q
        self.normalization = normalization
        self._normalize = FUSED_FEATURE_NORMALIZATIONS[normalization]

    def forward(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        """(N, c, h, w) x 2 -> (N, o)."""
        joint = self.left_projection(first) * self.right_projection(second)  # Eq. (19), per location
        fused = self.output_projection(joint.mean(dim=(2, 3)))  # Eq. (20): GAP, then Q (see above)
        return self._normalize(fused)

    def extra_repr(self) -> str:
        return f"normalization={self.normalization!r}"


@REID_HEADS_REGISTRY.register()
class BilinearFusionHead(nn.Module):
    """Fuses Enc's map F with the map F^x2s = Enc(Dec(F)) of its reconstruction (Eq. (20)) and
    learns the fused feature with CE + triplet on both domains (Eq. (21)-(23)).

    The fused feature z goes through an RAEEmbeddingHead (BN-neck, source and target
    classifiers) without pooling (z is already pooled) and without dropout (the paper puts
    dropout on the encoder's pool5 only). In evaluation it returns the BN-necked z, as the
    encoder's head returns its BN-necked feature, so both plug into fastreid's evaluator alike.
    """

    @configurable
    def __init__(self, *, pooling: FactorizedBilinearPooling, head: RAEEmbeddingHead):
        """NOTE: this interface is experimental."""
        super().__init__()
        self.pooling = pooling
        self.head = head

    @classmethod
    def from_config(cls, cfg):
        out_dim = cfg.RAE.FUSION.OUT_DIM
        return {
            "pooling": FactorizedBilinearPooling(cfg.MODEL.BACKBONE.FEAT_DIM, cfg.RAE.FUSION.RANK, out_dim,
                                                 cfg.RAE.FUSION.NORMALIZATION),
            "head": RAEEmbeddingHead(cfg, feat_dim=out_dim, embedding_dim=0, pool_type="Identity", dropout=0.0),
        }

    def reset_target_classifier(self, num_classes: int, centers: Optional[torch.Tensor] = None) -> None:
        self.head.reset_target_classifier(num_classes, centers)

    def forward(self, first: torch.Tensor, second: torch.Tensor,
                labels: Optional[Dict[str, torch.Tensor]] = None,
                classified: Optional[Collection[str]] = None):
        fused = self.pooling(first, second)
        return self.head(fused[..., None, None], labels, classified)
