from .classifier import ResizableClassifier, classify
from .embedding_head import RAEEmbeddingHead
