"""Identity classifiers of the per-domain heads (Eq. (3), (6), (22), (23))."""
from typing import Optional

import torch
import torch.nn.functional as F
from fastreid.layers import any_softmax
from torch import nn


def classify(neck_features: torch.Tensor, weight: torch.Tensor, cls_layer: nn.Module,
             labels: torch.Tensor) -> dict:
    """Logits as fastreid's EmbeddingHead computes them (cosine logits for the margin-based
    CLS_LAYERs), for any weight, so source and target classifiers share one definition."""
    if type(cls_layer) is any_softmax.Linear:
        logits = F.linear(neck_features, weight)
    else:
        logits = F.linear(F.normalize(neck_features), F.normalize(weight))
    return {
        # clone: fastreid's cls_layers modify the logits in place
        "cls_outputs": cls_layer(logits.clone(), labels),
        "pred_class_logits": logits * cls_layer.s,
    }


class ResizableClassifier(nn.Module):
    """A bias-free classifier whose number of classes changes: the target-domain classifier,
    re-created at every epoch for that epoch's pseudo-identities (Algorithm 1, step 1).

    ``weight`` stays the same ``nn.Parameter`` object across :meth:`reset` (only its data is
    replaced), so an optimizer built once keeps updating it; the optimizer's per-parameter state
    (e.g. SGD momentum) has the old shape and must be dropped by the caller.

    Checkpoints: while it has no classes (before the first pseudo-labelling) the weight is left
    out of the state dict, so that fastreid's Checkpointer - which drops entries whose shape
    differs from the model's - hands a saved, sized weight to :meth:`_load_from_state_dict`,
    which resizes this classifier to it.
    """

    def __init__(self, feat_dim: int, cls_type: str, scale: float, margin: float, num_classes: int = 0):
        super().__init__()
        self.feat_dim = feat_dim
        self.weight = nn.Parameter(torch.empty(num_classes, feat_dim))
        self.cls_layer = getattr(any_softmax, cls_type)(num_classes, scale, margin)
        self.reset(num_classes)

    @property
    def num_classes(self) -> int:
        return self.weight.shape[0]

    @torch.no_grad()
    def reset(self, num_classes: int, centers: Optional[torch.Tensor] = None) -> None:
        """Re-create the weight for ``num_classes`` classes: from ``centers`` (num_classes x
        feat_dim cluster centres of the features this classifier reads, L2-normalised so the
        initial logits scale with the feature norm, not its square) or, without centres,
        N(0, 0.01^2) like fastreid's EmbeddingHead."""
        if centers is None:
            weight = torch.empty(num_classes, self.feat_dim, device=self.weight.device,
                                 dtype=self.weight.dtype).normal_(std=0.01)
        else:
            if tuple(centers.shape) != (num_classes, self.feat_dim):
                raise ValueError(
                    f"cluster centres must have shape (num_classes, feat_dim) = "
                    f"({num_classes}, {self.feat_dim}), got {tuple(centers.shape)}"
                )
            weight = F.normalize(centers.to(self.weight), dim=1)
        self._set_weight(weight)

    def _set_weight(self, weight: torch.Tensor) -> None:
        self.weight.data = weight.contiguous()
        self.weight.grad = None
        self.cls_layer.num_classes = weight.shape[0]

    def forward(self, neck_features: torch.Tensor, labels: torch.Tensor) -> dict:
        if self.num_classes == 0:
            raise RuntimeError(
                "the target classifier has no classes yet: call "
                "model.reset_target_classifier(num_pseudo_identities, centers) after pseudo-labelling"
            )
        return classify(neck_features, self.weight, self.cls_layer, labels)

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        if self.num_classes > 0:
            super()._save_to_state_dict(destination, prefix, keep_vars)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        key = prefix + "weight"
        if key in state_dict:
            saved = state_dict[key]
            if saved.dim() == 2 and saved.shape[1] == self.feat_dim and saved.shape[0] != self.num_classes:
                self._set_weight(self.weight.data.new_empty(saved.shape))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)
        if key not in state_dict and key in missing_keys:
            # a checkpoint saved before the first pseudo-labelling: nothing to load, not an error
            missing_keys.remove(key)

    def extra_repr(self) -> str:
        return f"num_classes={self.num_classes}, feat_dim={self.feat_dim}"
