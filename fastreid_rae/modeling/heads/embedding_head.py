"""The encoder's head: pool5, BN-neck, dropout and one classifier per domain."""
from typing import Collection, Dict, Optional

import torch
from fastreid.config import configurable
from fastreid.modeling.heads import REID_HEADS_REGISTRY, EmbeddingHead
from torch import nn

from .classifier import ResizableClassifier, classify


@REID_HEADS_REGISTRY.register()
class RAEEmbeddingHead(EmbeddingHead):
    """fastreid's EmbeddingHead (pooling, BN-neck, source classifier ``weight``, so a fastreid
    Baseline checkpoint loads into it) plus

    * dropout on the pooled feature (Sec. IV-B: "dropout with 0.5 on pool5"), placed after the
      BN-neck, on the classifier path only: the BN-neck's running statistics then see the
      same distribution in training and evaluation, and the triplet feature is not noised;
    * a target-domain classifier over pseudo-identities (Eq. (6)), resized by
      :meth:`reset_target_classifier` whenever pseudo-labels are re-assigned.

    Training: ``forward(features, labels)`` with ``labels = {"source": y_s, "target": y_t}``
    (any subset, in the order the batches are concatenated in ``features``) returns
    ``{"features": {...}, "neck_features": {...}, "cls_outputs": {...}, "pred_class_logits":
    {...}}`` keyed by domain; "features" is the triplet feature chosen by MODEL.HEADS.NECK_FEAT,
    "neck_features" the BN-necked one. ``classified`` names the domains that get classifier
    outputs (default: all): a memory backend's target batch has no pseudo-identities.
    Evaluation: ``forward(features)`` returns the BN-necked pooled feature, as fastreid's head.
    """

    @configurable
    def __init__(self, *, dropout: float, target_num_classes: int = 0, **embedding_head_kwargs):
        super().__init__(**embedding_head_kwargs)
        self.dropout = nn.Dropout(dropout)
        feat_dim = self.weight.shape[1]  # after the optional embedding layer
        cls_type = type(self.cls_layer).__name__
        self.target_classifier = ResizableClassifier(
            feat_dim, cls_type, self.cls_layer.s, self.cls_layer.m, target_num_classes
        )

    @classmethod
    def from_config(cls, cfg):
        return {**super().from_config(cfg), "dropout": cfg.RAE.ENCODER.DROPOUT}

    def reset_target_classifier(self, num_classes: int, centers: Optional[torch.Tensor] = None) -> None:
        self.target_classifier.reset(num_classes, centers)

    def forward(self, features: torch.Tensor, labels: Optional[Dict[str, torch.Tensor]] = None,
                classified: Optional[Collection[str]] = None):
        pool_feat = self.pool_layer(features)
        neck_feat = self.bottleneck(pool_feat)[..., 0, 0]
        if not self.training:
            return neck_feat
        if not isinstance(labels, dict):
            raise TypeError("in training, RAEEmbeddingHead needs labels as {domain: tensor}, "
                            f"e.g. {{'source': y_s, 'target': y_t}}; got {type(labels).__name__}")

        triplet_feat = {"before": pool_feat[..., 0, 0], "after": neck_feat}.get(self.neck_feat)
        if triplet_feat is None:
            raise KeyError(f"MODEL.HEADS.NECK_FEAT must be 'before' or 'after', got {self.neck_feat!r}")

        sizes = [len(y) for y in labels.values()]
        dropped = self.dropout(neck_feat).split(sizes)
        outputs = {"features": dict(zip(labels, triplet_feat.split(sizes))),
                   "neck_features": dict(zip(labels, neck_feat.split(sizes))),
                   "cls_outputs": {}, "pred_class_logits": {}}
        for domain, domain_feat, domain_labels in zip(labels, dropped, labels.values()):
            if classified is not None and domain not in classified:
                continue
            if domain == "source":
                domain_out = classify(domain_feat, self.weight, self.cls_layer, domain_labels)
            elif domain == "target":
                domain_out = self.target_classifier(domain_feat, domain_labels)
            else:
                raise KeyError(f"unknown domain {domain!r}; expected 'source' or 'target'")
            for name, value in domain_out.items():
                outputs[name][domain] = value
        return outputs
