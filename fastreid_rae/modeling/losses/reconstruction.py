"""Reconstruction loss of the pixel-transfer module, Eq. (12) (source) and Eq. (15) (target)."""
import torch
import torch.nn.functional as F


def reconstruction_loss(reconstructed: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The paper's L2 term ||I - I^||_2, read as the mean squared error over pixels and images:
    the per-image norm grows with the image size, which would re-weight it against the other
    terms of Eq. (11)/(14) whenever INPUT.SIZE_TRAIN changes."""
    return F.mse_loss(reconstructed, target)
