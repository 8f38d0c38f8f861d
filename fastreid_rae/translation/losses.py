"""The translator's objective, CycleGAN's (Zhu et al. 2017), Eq. numbers from that paper.

G_s2t: source -> target style (CycleGAN's G), G_t2s: target -> source style (its F);
D_t judges target-style images, D_s source-style ones. All images are in [-1, 1].

* adversarial, Eq. (1), in the least-squares form CycleGAN trains with (its Sec. 4, after
  Mao et al.): ``LeastSquaresGANLoss`` of ``fastreid_rae/modeling/losses/gan.py``;
* cycle consistency, Eq. (2): ||G_t2s(G_s2t(x)) - x||_1 + ||G_s2t(G_t2s(y)) - y||_1;
* identity mapping (Sec. 5.2, after Taigman et al.): ||G_s2t(y) - y||_1 + ||G_t2s(x) - x||_1,
  which keeps colours when a generator is given an image already in its output style;
* full objective, Eq. (3): GAN + lambda_cyc cycle (+ lambda_identity x lambda_cyc identity,
  as CycleGAN's code weighs it).
"""
import torch
import torch.nn.functional as F

from ..modeling.losses.gan import LeastSquaresGANLoss

LSGAN = LeastSquaresGANLoss()


def cycle_consistency_loss(real: torch.Tensor, reconstructed: torch.Tensor) -> torch.Tensor:
    """One term of Eq. (2): mean absolute error between an image and its round trip."""
    return F.l1_loss(reconstructed, real)


def identity_mapping_loss(real: torch.Tensor, mapped: torch.Tensor) -> torch.Tensor:
    """One term of the identity loss: mean absolute error between an image already in a
    generator's output style and what the generator makes of it."""
    return F.l1_loss(mapped, real)


def discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Eq. (1), D's side, least squares, halved as CycleGAN does (its Sec. 4: "slows down the
    rate at which D learns, relative to the rate of G")."""
    return 0.5 * LSGAN.discriminator(real_scores, fake_scores)


def generator_adversarial_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """Eq. (1), G's side, least squares: its outputs scored as real."""
    return LSGAN.generator(fake_scores)
