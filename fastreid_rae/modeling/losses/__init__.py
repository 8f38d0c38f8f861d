from .gan import LeastSquaresGANLoss, NonSaturatingGANLoss, build_gan_loss
from .identity import identity_loss_kwargs, identity_losses
from .reconstruction import reconstruction_loss
