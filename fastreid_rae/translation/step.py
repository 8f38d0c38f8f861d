"""One CycleGAN iteration: a generator step on G_s2t and G_t2s, then a discriminator step on
D_s and D_t, each with its own Adam (Zhu et al. 2017, Sec. 4: lr 2e-4, betas (0.5, 0.999))."""
from typing import Dict, Tuple

import torch

from ..modeling.partial_updates import frozen
from .image_pool import ImagePool
from .losses import (cycle_consistency_loss, discriminator_loss, generator_adversarial_loss,
                     identity_mapping_loss)
from .translator import CycleGANTranslator


class CycleGANStep:
    def __init__(self, translator: CycleGANTranslator, *, lambda_cyc: float, lambda_identity: float,
                 lr: float, betas: Tuple[float, float], pool_size: int):
        self.translator = translator
        self.lambda_cyc = lambda_cyc
        # CycleGAN's code weighs the identity loss lambda_identity x lambda_cyc (0.5 x 10)
        self.lambda_id = lambda_identity * lambda_cyc
        generator_params = [p for g in translator.generators() for p in g.parameters()]
        discriminator_params = [p for d in translator.discriminators() for p in d.parameters()]
        self.generator_optimizer = torch.optim.Adam(generator_params, lr=lr, betas=tuple(betas))
        self.discriminator_optimizer = torch.optim.Adam(discriminator_params, lr=lr, betas=tuple(betas))
        # one history per discriminator, each of the images it judges as fake
        self.fake_source_pool = ImagePool(pool_size, seed=0)
        self.fake_target_pool = ImagePool(pool_size, seed=1)

    @classmethod
    def from_config(cls, cfg, translator: CycleGANTranslator) -> "CycleGANStep":
        keys = cfg.RAE.TRANSLATOR
        return cls(translator, lambda_cyc=keys.LAMBDA_CYC, lambda_identity=keys.LAMBDA_IDENTITY,
                   lr=keys.BASE_LR, betas=keys.BETAS, pool_size=keys.POOL_SIZE)

    def optimizers(self) -> Dict[str, torch.optim.Optimizer]:
        return {"generator_optimizer": self.generator_optimizer,
                "discriminator_optimizer": self.discriminator_optimizer}

    def pools(self) -> Dict[str, ImagePool]:
        return {"fake_source_pool": self.fake_source_pool, "fake_target_pool": self.fake_target_pool}

    def generator_losses(self, real_source: torch.Tensor, real_target: torch.Tensor):
        """Weighted generator losses (their sum is Eq. (3), G's side) and the two fakes."""
        t = self.translator
        fake_target = t.generator_s2t(real_source)
        fake_source = t.generator_t2s(real_target)
        with frozen(*t.discriminators()):
            losses = {
                # Eq. (1): each generator's output scored as real by the other domain's D
                "loss_gan_s2t": generator_adversarial_loss(t.discriminator_target(fake_target)),
                "loss_gan_t2s": generator_adversarial_loss(t.discriminator_source(fake_source)),
            }
        # Eq. (2), forward and backward cycles
        cycle, identity = self.lambda_cyc, self.lambda_id
        losses["loss_cycle_source"] = cycle * cycle_consistency_loss(real_source, t.generator_t2s(fake_target))
        losses["loss_cycle_target"] = cycle * cycle_consistency_loss(real_target, t.generator_s2t(fake_source))
        if identity > 0:  # 0 removes the two extra generator passes, not only the loss
            losses["loss_identity_target"] = identity * identity_mapping_loss(real_target, t.generator_s2t(real_target))
            losses["loss_identity_source"] = identity * identity_mapping_loss(real_source, t.generator_t2s(real_source))
        return losses, fake_source.detach(), fake_target.detach()

    def discriminator_losses(self, real_source, real_target, fake_source, fake_target) -> Dict[str, torch.Tensor]:
        """Eq. (1), D's side: D_s on real vs generated source-style images, D_t likewise, the
        generated ones drawn through the image pools."""
        t = self.translator
        return {
            "loss_dis_source": discriminator_loss(t.discriminator_source(real_source),
                                                  t.discriminator_source(self.fake_source_pool.query(fake_source))),
            "loss_dis_target": discriminator_loss(t.discriminator_target(real_target),
                                                  t.discriminator_target(self.fake_target_pool.query(fake_target))),
        }

    def run_step(self, real_source: torch.Tensor, real_target: torch.Tensor) -> Dict[str, float]:
        losses, fake_source, fake_target = self.generator_losses(real_source, real_target)
        self.generator_optimizer.zero_grad()
        sum(losses.values()).backward()
        self.generator_optimizer.step()

        dis_losses = self.discriminator_losses(real_source, real_target, fake_source, fake_target)
        self.discriminator_optimizer.zero_grad()
        sum(dis_losses.values()).backward()
        self.discriminator_optimizer.step()
        return {name: value.item() for name, value in {**losses, **dis_losses}.items()}
