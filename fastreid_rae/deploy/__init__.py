"""A trained model at work on one's own camera network (docs/deploy.md): index an image
folder and search it (tools/search.py), or export the inference path to TorchScript / ONNX
(tools/export.py) to run without fastreid."""
from .errors import DeployError
from .export import FORMATS, export, load_exported
from .features import FeatureModel, ModelSignature, feature_name, sha256_of
from .image_folder import list_images
from .index import FeatureIndex, Hit
from .picture import draw_search_results
from .preprocessing import input_description, read_batch, read_image
from .search import build_index, query

__all__ = [
    "DeployError", "FORMATS", "FeatureIndex", "FeatureModel", "Hit", "ModelSignature", "build_index",
    "draw_search_results", "export", "feature_name", "input_description", "list_images", "load_exported",
    "query", "read_batch", "read_image", "sha256_of",
]
