from .classifier import ResizableClassifier, classify
from .embedding_head import RAEEmbeddingHead
from .fusion import BilinearFusionHead, FactorizedBilinearPooling
