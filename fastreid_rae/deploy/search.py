"""Index an image folder with a model, and search it with query images (tools/search.py)."""
import os
from typing import List, Sequence

from .features import FeatureModel
from .index import FeatureIndex, Hit, check_metric


def build_index(model: FeatureModel, images: Sequence[str], batch_size: int = 64,
                progress: bool = False) -> FeatureIndex:
    """A :class:`FeatureIndex` of ``images`` (e.g. :func:`list_images` of a folder), searched
    with the model's TEST.METRIC; the model's config travels with it."""
    metric = check_metric(model.cfg.TEST.METRIC)  # before hours of feature extraction
    features = model.features_of_files(images, batch_size, progress)
    return FeatureIndex.build(features, images, metric, model.signature, model.cfg.dump(),
                              os.path.abspath(model.weights))


def query(index: FeatureIndex, model: FeatureModel, images: Sequence[str], top_k: int,
          index_name: str = "the index", batch_size: int = 64) -> List[List[Hit]]:
    """The ``top_k`` nearest indexed images of each query image; a model whose features
    cannot be compared with the index's is refused before any image is read."""
    index.check_serves(model.signature, where=index_name)
    return index.search(model.features_of_files(list(images), batch_size), top_k)
