"""Which stage each epoch trains: Sec. III's source pre-training (Enc, then Dec, on labelled
source images), then Algorithm 1's adaptation."""
from fastreid.engine.train_loop import HookBase

from .distributed import unwrap


def training_stage(cfg, epoch: int, has_decoder: bool) -> str:
    """"encoder" / "decoder" for the source pre-training epochs (Enc, then Dec), then "adapt".
    Dec is trained on a trained Enc: from scratch at least the first epoch trains Enc; with
    MODEL.WEIGHTS (a source-trained Enc) every pre-training epoch may train Dec."""
    pretrain = cfg.RAE.SOURCE_PRETRAIN
    if epoch >= pretrain.EPOCHS:
        return "adapt"
    encoder_epochs = 0 if cfg.MODEL.WEIGHTS else 1
    decoder_epochs = min(pretrain.DECODER_EPOCHS, pretrain.EPOCHS - encoder_epochs) if has_decoder else 0
    return "decoder" if epoch >= pretrain.EPOCHS - decoder_epochs else "encoder"


class TrainingStageHook(HookBase):
    """Sets the step's stage at each epoch start, before the pseudo-labelling hook reads it.
    A source-only run (direct transfer) has stages too: with RAE.PIXEL_TRANSFER on, its last
    DECODER_EPOCHS train Dec on the frozen Enc. A run with a Dec that adapts a
    source model (MODEL.WEIGHTS) spends all its pre-training epochs on Dec."""

    def __init__(self, cfg):
        self.cfg = cfg

    def before_epoch(self):
        step = self.trainer._trainer
        has_decoder = unwrap(self.trainer.model).decoder is not None
        step.stage = training_stage(self.cfg, self.trainer.epoch, has_decoder)
