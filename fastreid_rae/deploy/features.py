"""A trained model as a feature extractor of image files, and the signature that ties a saved
index or an exported graph to it: which weights (sha256), which feature, its size and input.

Features come from the model's own eval-mode forward, ``model(images)``: for RAE that is
``extract_features(kind=RAE.TEST_FEATURE)`` (Algorithm 2's fused feature, or Enc's), for a
fastreid Baseline its test feature. Nothing of the model's inside is re-implemented here,
so a change to the inference path carries over to search and export."""
import hashlib
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from tqdm import tqdm

from ..visualization.loading import ModelSource, load_model
from .preprocessing import read_batch, test_size

_CHUNK = 1 << 20  # bytes read at a time while hashing weights


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def feature_name(cfg) -> str:
    """What an eval-mode forward of ``cfg``'s model returns: "fusion" (Algorithm 2) or
    "encoder" for RAE, from RAE.TEST_FEATURE ("final" is the fusion when RAE.FUSION.ENABLED);
    "baseline" for any other meta-architecture."""
    if cfg.MODEL.META_ARCHITECTURE != "RAE":
        return "baseline"
    if cfg.RAE.TEST_FEATURE == "final":
        return "fusion" if cfg.RAE.FUSION.ENABLED else "encoder"
    return cfg.RAE.TEST_FEATURE


@dataclass(frozen=True)
class ModelSignature:
    """What must match between a model and features it is compared with."""
    weights_sha256: str
    feature: str
    dim: int
    input_size: Tuple[int, int]  # (height, width), INPUT.SIZE_TEST

    def to_dict(self) -> dict:
        return {"weights_sha256": self.weights_sha256, "feature": self.feature, "dim": self.dim,
                "input_size": list(self.input_size)}

    @classmethod
    def from_dict(cls, values: dict) -> "ModelSignature":
        return cls(str(values["weights_sha256"]), str(values["feature"]), int(values["dim"]),
                   tuple(int(v) for v in values["input_size"]))


class FeatureModel:
    """A model in eval mode with its config and weights: features of images and files."""

    def __init__(self, model: torch.nn.Module, cfg, weights: str):
        self.model = model.eval()
        self.cfg = cfg
        self.weights = weights
        self.input_size = test_size(cfg)
        self._signature: Optional[ModelSignature] = None

    @classmethod
    def load(cls, source: ModelSource, opts: Sequence[str] = ()) -> "FeatureModel":
        cfg = source.config(opts)
        return cls(load_model(cfg, source.weights), cfg, source.weights)

    @torch.no_grad()
    def features_of_images(self, images: np.ndarray) -> np.ndarray:
        """N x D float32 features of N x 3 x H x W RGB 0..255 images (preprocessing.py)."""
        return self.model(torch.from_numpy(images)).float().cpu().numpy()

    def features_of_files(self, paths: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        batches = range(0, len(paths), batch_size)
        chunks = [self.features_of_images(read_batch(paths[start:start + batch_size], self.input_size))
                  for start in tqdm(batches, desc="features", disable=not progress, leave=False)]
        return np.concatenate(chunks) if chunks else np.zeros((0, self.signature.dim), np.float32)

    @property
    def signature(self) -> ModelSignature:
        if self._signature is None:
            # the feature size is what the forward returns, whatever the config says
            probe = np.zeros((1, 3) + tuple(self.input_size), np.float32)
            dim = self.features_of_images(probe).shape[1]
            self._signature = ModelSignature(sha256_of(self.weights), feature_name(self.cfg), dim, self.input_size)
        return self._signature
