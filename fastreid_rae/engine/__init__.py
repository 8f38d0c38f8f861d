from .trainer import UDATrainer

__all__ = ["UDATrainer"]
