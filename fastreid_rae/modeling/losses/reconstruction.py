"""Reconstruction loss of the pixel-transfer module, Eq. (12) (source) and Eq. (15) (target),
chosen by RAE.PIXEL_TRANSFER.RECONSTRUCTION_LOSS."""
import torch
import torch.nn.functional as F

from ..registry import RECONSTRUCTION_LOSS_REGISTRY, get_registered


@RECONSTRUCTION_LOSS_REGISTRY.register()
def l2_norm(reconstructed: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Eq. (12) as printed, ||I - I^||_2: each image's L2 norm, averaged over the batch. Its
    size against lambda_pix_gan x the pixel-GAN term is the paper's balance (docs/model.md,
    "Reconstruction loss")."""
    return torch.linalg.vector_norm((reconstructed - target).flatten(1), dim=1).mean()


@RECONSTRUCTION_LOSS_REGISTRY.register()
def mse(reconstructed: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error over pixels and images: independent of the image size, but about
    1 / 30 of the pixel-GAN term at lambda_pix_gan 10, which then dominates Dec."""
    return F.mse_loss(reconstructed, target)


def build_reconstruction_loss(cfg):
    return get_registered(RECONSTRUCTION_LOSS_REGISTRY, cfg.RAE.PIXEL_TRANSFER.RECONSTRUCTION_LOSS,
                          "RAE.PIXEL_TRANSFER.RECONSTRUCTION_LOSS")
