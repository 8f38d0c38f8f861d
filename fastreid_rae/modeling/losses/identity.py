"""Identity losses: cross-entropy + lambda_tri * triplet on one domain's labels.

One function serves Eq. (2)-(4) (source labels), Eq. (5)-(7) (target pseudo-labels) and
Eq. (22)/(23) (the fused feature); the loss terms themselves are fastreid's.
"""
from typing import Dict

import torch
from fastreid.modeling.losses import cross_entropy_loss, triplet_loss


def identity_loss_kwargs(cfg) -> Dict[str, dict]:
    """fastreid's CE / triplet hyper-parameters (MODEL.LOSSES.CE / .TRI). Their SCALE keys
    are not used: RAE weights its terms with RAE.LOSS.LAMBDA_TRI (lambda_tri)."""
    ce, tri = cfg.MODEL.LOSSES.CE, cfg.MODEL.LOSSES.TRI
    return {
        "ce": {"eps": ce.EPSILON, "alpha": ce.ALPHA},
        "tri": {"margin": tri.MARGIN, "norm_feat": tri.NORM_FEAT, "hard_mining": tri.HARD_MINING},
    }


def identity_losses(cls_outputs: torch.Tensor, features: torch.Tensor, labels: torch.Tensor, *,
                    loss_kwargs: Dict[str, dict], lambda_tri: float) -> Dict[str, torch.Tensor]:
    """{"cls": L_cls, "triplet": lambda_tri * L_tri} for one domain, e.g. Eq. (2)."""
    ce, tri = loss_kwargs["ce"], loss_kwargs["tri"]
    return {
        "cls": cross_entropy_loss(cls_outputs, labels, ce["eps"], ce["alpha"]),
        "triplet": lambda_tri * triplet_loss(features, labels, tri["margin"], tri["norm_feat"], tri["hard_mining"]),
    }
