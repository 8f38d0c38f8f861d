"""Algorithm 1, step 1, once per epoch: extract target features, ask the configured backend
for pseudo-labels, re-initialise the target classifier from the cluster centres, and give
the step a new target loader over the inliers."""
import logging

import numpy as np
import torch
from fastreid.engine.train_loop import HookBase
from fastreid.utils import comm
from tqdm import tqdm

from ..data.target import build_pseudo_labelled_loader, build_target_feature_loader
from ..pseudo_labels import build_pseudo_labeler, pseudo_label_quality
from .rae_step import unwrap

logger = logging.getLogger(__name__)

class PseudoLabelHook(HookBase):
    def __init__(self, cfg, target_images):
        if cfg.RAE.PSEUDO_LABEL.FEATURE != "after":
            raise ValueError(f"RAE.PSEUDO_LABEL.FEATURE {cfg.RAE.PSEUDO_LABEL.FEATURE!r}: only "
                             "'after' (Enc's BN-necked feature) is implemented")
        self.cfg = cfg
        self.source_only_epochs = cfg.RAE.SOURCE_PRETRAIN.EPOCHS
        self.images = target_images
        self.labeler = build_pseudo_labeler(cfg)
        if self.labeler.provides_loss:
            raise ValueError(
                f"RAE.PSEUDO_LABEL.NAME {cfg.RAE.PSEUDO_LABEL.NAME!r} trains through its own memory "
                "loss, which the UDA trainer does not call yet; use dbscan, kmeans or jvtc")
        self.feature_loader = build_target_feature_loader(cfg, target_images)
        self.camids = np.array([image.camid for image in target_images])
        self.frames = np.array([image.frame for image in target_images])
        self.true_pids = np.array([image.true_pid for image in target_images])
        self.min_inliers = cfg.SOLVER.IMS_PER_BATCH
        # fastreid's identity sampler waits forever for a batch of P distinct identities
        self.min_clusters = max(2, cfg.SOLVER.IMS_PER_BATCH // cfg.DATALOADER.NUM_INSTANCE)
        self.labels = None

    @torch.no_grad()
    def _extract_features(self, model):
        was_training = model.training
        model.eval()
        features = []
        for batch in tqdm(self.feature_loader, desc="target features", leave=False,
                          disable=not comm.is_main_process()):
            features.append(unwrap(model).extract_features(batch, kind="encoder").float().cpu())
        model.train(was_training)
        return torch.cat(features).numpy()

    def before_epoch(self):
        step = self.trainer._trainer
        if self.trainer.epoch < self.source_only_epochs:  # source pre-training, Sec. III
            step.set_target_loader(None)
            return
        model = self.trainer.model
        features = self._extract_features(model)
        result = self.labeler.assign(features, camids=self.camids, frames=self.frames)
        self.labels = result.labels
        inliers = int((result.labels >= 0).sum())
        quality = pseudo_label_quality(result.labels, self.true_pids)
        storage = self.trainer.storage
        # tag with the coming step: the writers skip values of steps they already wrote
        storage.iter = self.trainer.iter
        storage.put_scalars(pseudo_clusters=result.num_clusters,
                            pseudo_outlier_share=result.num_outliers / len(result.labels),
                            pseudo_ari=quality["ari"], pseudo_precision=quality["precision"],
                            pseudo_recall=quality["recall"], smoothing_hint=False)
        logger.info(f"epoch {self.trainer.epoch}: {result.num_clusters} pseudo-identities, "
                    f"{result.num_outliers}/{len(result.labels)} outliers; against the "
                    f"target's hidden ids: ARI {quality['ari']:.3f}, pair precision "
                    f"{quality['precision']:.3f}, recall {quality['recall']:.3f}")

        if result.num_clusters < self.min_clusters or inliers < self.min_inliers:
            logger.warning(f"epoch {self.trainer.epoch}: {inliers} pseudo-labelled images in "
                           f"{result.num_clusters} clusters cannot fill a target batch of "
                           f"{self.min_clusters} identities x {self.cfg.DATALOADER.NUM_INSTANCE}"
                           "; this epoch trains on the source only")
            step.set_target_loader(None)
            return

        rae = unwrap(model)
        rae.reset_target_classifier(result.num_clusters,
                                    torch.as_tensor(result.centers, device=rae.device))
        for parameter in rae.target_classifier_parameters():  # stale momentum of old clusters
            step.optimizer.state.pop(parameter, None)
        step.set_target_loader(build_pseudo_labelled_loader(self.cfg, self.images, result.labels))
