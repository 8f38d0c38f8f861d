"""One iteration of Algorithm 1 (steps 2-4): a generator step on Enc, Dec and the fusion head,
then a discriminator step on Dis_f and Dis_p, with separate optimizers."""
import time

from fastreid.engine.train_loop import SimpleTrainer
from fastreid.utils.events import get_event_storage


def unwrap(model):
    """The model itself, under a DistributedDataParallel wrapper or not."""
    return model.module if hasattr(model, "module") else model


class RAEStep(SimpleTrainer):
    def __init__(self, model, source_loader, optimizer, discriminator_optimizer=None):
        super().__init__(model, source_loader, optimizer, param_wrapper=None)
        self.discriminator_optimizer = discriminator_optimizer
        self._target_iter = None

    def set_target_loader(self, loader):
        """None: source-only steps (direct transfer, or an epoch without usable clusters)."""
        self._target_iter = iter(loader) if loader is not None else None

    def run_step(self):
        assert self.model.training, "[RAEStep] model was changed to eval mode!"
        start = time.perf_counter()
        source = next(self._data_loader_iter)
        target = next(self._target_iter) if self._target_iter is not None else None
        data_time = time.perf_counter() - start

        # Eq. (9), (17), (21), already weighted; a plain fastreid model takes one batch
        losses = self.model(source) if target is None else self.model(source, target)
        self.optimizer.zero_grad()
        sum(losses.values()).backward()
        self._write_metrics(losses, data_time)
        self.optimizer.step()

        if self.discriminator_optimizer is not None:
            discriminator_losses = unwrap(self.model).discriminator_losses()  # Eq. (8), (13)
            if discriminator_losses:
                self.discriminator_optimizer.zero_grad()
                sum(discriminator_losses.values()).backward()
                self.discriminator_optimizer.step()
                get_event_storage().put_scalars(**{k: v.item() for k, v in discriminator_losses.items()})
