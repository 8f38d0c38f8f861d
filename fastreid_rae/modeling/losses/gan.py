"""GAN objectives for Eq. (8) (features), Eq. (13) and Eq. (16) (pixels).

The paper writes the objectives with log Dis(.) terms; docs/design.md, "GAN objective", reads
them as the standard real/fake game: Dis learns real = source, fake = target (Eq. 8) or
reconstructed (Eq. 13), and the generator (Enc for Eq. 8, Dec for Eq. 13/16) is trained to make
its output be scored real.
"""
import torch
import torch.nn.functional as F

from ..registry import GAN_LOSS_REGISTRY, build_from_registry


@GAN_LOSS_REGISTRY.register()
class NonSaturatingGANLoss:
    """Binary cross-entropy on logits; the generator maximises log D(fake) (the non-saturating
    form) instead of minimising log(1 - D(fake)), whose gradient vanishes while D wins."""

    decision_threshold = 0.0  # a logit above it is scored real

    def generator(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))

    def discriminator(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))


@GAN_LOSS_REGISTRY.register()
class LeastSquaresGANLoss:
    """LSGAN (Mao et al. 2017): squared distance of the logit to 1 (real) / 0 (fake)."""

    decision_threshold = 0.5

    def generator(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return (fake_logits - 1.0).pow(2).mean()

    def discriminator(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return (real_logits - 1.0).pow(2).mean() + fake_logits.pow(2).mean()


def build_gan_loss(cfg):
    return build_from_registry(GAN_LOSS_REGISTRY, cfg.RAE.GAN.LOSS, "RAE.GAN.LOSS")
