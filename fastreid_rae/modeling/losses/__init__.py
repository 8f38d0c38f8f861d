from .gan import LeastSquaresGANLoss, NonSaturatingGANLoss, build_gan_loss
from .identity import identity_loss_kwargs, identity_losses
from .reconstruction import build_reconstruction_loss, l2_norm, mse
