"""A saved feature index of an image folder, searched by the model that built it.

An index is a folder:

    index.faiss     the features (faiss; exact search, inner product on L2-normalised
                    features for TEST.METRIC cosine, L2 for euclidean)
    manifest.json   the image paths (row i of the index is images[i]), the metric and the
                    signature of the model (weights sha256, feature, its size, input size)
    config.yaml     the model's full config, to rebuild the model for queries

Exact (flat) search: 100k features of 512 dimensions answer a query in milliseconds on two
cores (docs/performance.md); an approximate faiss index would only pay off far beyond that.
"""
import json
import os
from dataclasses import dataclass
from typing import List, Sequence

import faiss
import numpy as np

from ..atomic import atomic_open
from .errors import DeployError
from .features import ModelSignature

INDEX_FILE = "index.faiss"
MANIFEST_FILE = "manifest.json"
CONFIG_FILE = "config.yaml"
FORMAT = 1
METRICS = ("cosine", "euclidean")


@dataclass(frozen=True)
class Hit:
    rank: int  # 1 = nearest
    image: str
    score: float  # cosine similarity (higher is nearer) or euclidean distance (lower is nearer)


def check_metric(metric: str) -> str:
    if metric not in METRICS:
        raise DeployError(f"TEST.METRIC {metric!r} cannot be searched by a faiss index; use one of {list(METRICS)}")
    return metric


def _prepared(features: np.ndarray, metric: str) -> np.ndarray:
    """float32 rows as faiss takes them; unit rows for cosine (normalised on a copy: the
    caller's array is left as it was)."""
    if metric != "cosine":
        return np.ascontiguousarray(features, dtype=np.float32)
    features = np.array(features, dtype=np.float32, order="C", copy=True)
    faiss.normalize_L2(features)
    return features


class FeatureIndex:
    def __init__(self, index: "faiss.Index", images: Sequence[str], metric: str, signature: ModelSignature,
                 config_yaml: str, weights: str):
        self.index = index
        self.images = list(images)
        self.metric = metric
        self.signature = signature
        self.config_yaml = config_yaml
        self.weights = weights  # where the weights were when indexing: the queries' default

    @classmethod
    def build(cls, features: np.ndarray, images: Sequence[str], metric: str, signature: ModelSignature,
              config_yaml: str, weights: str) -> "FeatureIndex":
        check_metric(metric)
        if len(features) != len(images):
            raise ValueError(f"{len(features)} features for {len(images)} images")
        if not len(images):
            raise DeployError("an index needs at least one image")
        index = faiss.IndexFlatIP(features.shape[1]) if metric == "cosine" else faiss.IndexFlatL2(features.shape[1])
        index.add(_prepared(features, metric))
        return cls(index, images, metric, signature, config_yaml, weights)

    def __len__(self) -> int:
        return self.index.ntotal

    # ---- files -------------------------------------------------------------------------------

    def save(self, folder: str) -> str:
        """Write the index into ``folder`` (created), each file atomically; the manifest last."""
        os.makedirs(folder, exist_ok=True)
        manifest = {"format": FORMAT, "metric": self.metric, "model": self.signature.to_dict(),
                    "weights": self.weights, "images": self.images}
        contents = ((INDEX_FILE, faiss.serialize_index(self.index).tobytes()),
                    (CONFIG_FILE, self.config_yaml.encode()),
                    (MANIFEST_FILE, json.dumps(manifest, indent=1).encode()))
        for name, data in contents:
            with atomic_open(os.path.join(folder, name)) as file:
                file.write(data)
        return folder

    @classmethod
    def load(cls, folder: str) -> "FeatureIndex":
        """The index saved in ``folder``; a missing or corrupt one raises DeployError naming
        the file at fault."""
        if not os.path.isdir(folder):
            raise DeployError(f"index '{folder}' not found (build one with tools/search.py index)")
        paths = {name: os.path.join(folder, name) for name in (MANIFEST_FILE, INDEX_FILE, CONFIG_FILE)}
        for path in paths.values():
            if not os.path.isfile(path):
                raise DeployError(f"index '{folder}' is incomplete: '{path}' is missing (rebuild it)")
        manifest_path = paths[MANIFEST_FILE]
        try:
            with open(manifest_path) as file:
                manifest = json.load(file)
            if manifest.get("format") != FORMAT:
                raise DeployError(f"'{manifest_path}' has format {manifest.get('format')!r}; this version "
                                  f"reads format {FORMAT} (rebuild the index)")
            metric = check_metric(manifest["metric"])
            signature = ModelSignature.from_dict(manifest["model"])
            weights = str(manifest["weights"])
            images = [str(image) for image in manifest["images"]]
        except (ValueError, KeyError, TypeError, AttributeError) as error:  # JSONDecodeError is a ValueError
            if isinstance(error, DeployError):
                raise
            raise DeployError(f"'{manifest_path}' is corrupt ({type(error).__name__}: {error}); rebuild the index") from None
        try:
            index = faiss.read_index(paths[INDEX_FILE])
        except RuntimeError as error:  # faiss reports a bad file as a C++ exception
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else "unreadable"
            raise DeployError(f"'{paths[INDEX_FILE]}' is corrupt ({first_line}); rebuild the index") from None
        if index.ntotal != len(images) or index.d != signature.dim:
            raise DeployError(f"index '{folder}' is corrupt: {INDEX_FILE} holds {index.ntotal} features of "
                              f"{index.d} dimensions, {MANIFEST_FILE} {len(images)} images of {signature.dim}")
        with open(paths[CONFIG_FILE]) as file:
            config_yaml = file.read()
        return cls(index, images, metric, signature, config_yaml, weights)

    # ---- queries -----------------------------------------------------------------------------

    def check_serves(self, model: ModelSignature, where: str = "the index") -> None:
        """Refuse a model whose features cannot be compared with the index's."""
        mine = self.signature
        if model.weights_sha256 != mine.weights_sha256:
            raise DeployError(f"{where} was built by another model: its weights have sha256 "
                              f"{mine.weights_sha256[:12]}..., the query model's {model.weights_sha256[:12]}... "
                              f"(query with the weights it was built with, or rebuild it)")
        if model.feature != mine.feature:
            raise DeployError(f"{where} holds {mine.feature!r} features, the query model gives {model.feature!r} "
                              f"(RAE.TEST_FEATURE must be what the index was built with)")
        if model.dim != mine.dim:
            raise DeployError(f"{where} holds {mine.dim}-d features, the query model gives {model.dim}-d ones")
        if tuple(model.input_size) != tuple(mine.input_size):
            raise DeployError(f"{where} was built at INPUT.SIZE_TEST {list(mine.input_size)}, the query model "
                              f"reads {list(model.input_size)}")

    def search(self, features: np.ndarray, top_k: int) -> List[List[Hit]]:
        """The ``top_k`` nearest indexed images of each row of ``features``, nearest first."""
        if features.ndim != 2 or features.shape[1] != self.index.d:
            raise DeployError(f"queries of shape {tuple(features.shape)}; the index holds {self.index.d}-d features")
        scores, rows = self.index.search(_prepared(features, self.metric), min(top_k, len(self)))
        if self.metric == "euclidean":
            scores = np.sqrt(np.maximum(scores, 0))  # faiss gives squared distances
        return [[Hit(rank, self.images[row], float(score))
                 for rank, (row, score) in enumerate(zip(query_rows, query_scores), start=1)]
                for query_rows, query_scores in zip(rows, scores)]
