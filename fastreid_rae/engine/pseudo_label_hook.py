"""Algorithm 1, step 1, once per epoch: extract target features, ask the configured backend
for pseudo-labels, re-initialise the target classifiers from the cluster centres (Enc's from
Enc's features; the fusion head's from the fused features),
and give the step a new target stream over the inliers; nothing in the source pre-training
epochs. Each pseudo-labelling is logged (log.txt, metrics.json, tensorboard) with figures that
need no identities (cluster sizes, cameras per cluster, change from the last labels), and,
where the target's identities are known, with its agreement with them.

The epoch's labels are part of the checkpoint (``state_dict``): a run resumed mid-epoch
continues on them, without clustering again."""
import logging
from typing import Optional

import numpy as np
import torch
import torch.distributed as dist
from fastreid.engine.train_loop import HookBase
from fastreid.utils import comm
from tqdm import tqdm

from ..data.streams import derived_seed
from ..data.target import build_pseudo_labelled_loader, build_target_feature_loader
from ..pseudo_labels import (PseudoLabels, build_pseudo_labeler, cluster_centers,
                             label_free_quality, pseudo_label_quality)
from .distributed import average_buffers, unwrap
from .divergence import check_model_finite

logger = logging.getLogger(__name__)

TARGET_STREAM = 1  # the target streams' tag in derived_seed (the source stream is the run seed)


def _gather_features(features: torch.Tensor) -> torch.Tensor:
    """All ranks' shares of the target features, in dataset order (fastreid's inference
    sampler gives each rank a contiguous range)."""
    if comm.get_world_size() == 1:
        return features
    return torch.cat(comm.all_gather(features))


def _known(values) -> Optional[np.ndarray]:
    values = list(values)
    return None if any(value is None for value in values) else np.array(values)


class PseudoLabelHook(HookBase):
    def __init__(self, cfg, target_images, run_seed: int):
        self.cfg = cfg
        self.run_seed = run_seed
        self.images = target_images
        self.labeler = build_pseudo_labeler(cfg).to(torch.device(cfg.MODEL.DEVICE))
        # the kinds of target feature each pseudo-labelling extracts: Enc's (clustered), and
        # the fused one, whose centres start the fusion head's target classifier
        self.feature_kinds = ["encoder"]
        if cfg.RAE.FUSION.ENABLED and not self.labeler.provides_loss:
            self.feature_kinds.append("fusion")
        self.feature_loader = build_target_feature_loader(cfg, target_images)
        self.camids = np.array([image.camid for image in target_images])
        # None where the target does not know them (your own cameras): frames are optional,
        # and without identities only the label-free figures are logged
        self.frames = _known(image.frame for image in target_images)
        self.true_pids = _known(image.true_pid for image in target_images)
        self.min_inliers = cfg.SOLVER.IMS_PER_BATCH
        # an identity-sampled batch needs P distinct identities
        self.min_clusters = max(2, cfg.SOLVER.IMS_PER_BATCH // cfg.DATALOADER.NUM_INSTANCE)
        self.labels = None
        self.labels_epoch = -1  # the epoch self.labels were assigned for

    # ---- checkpoint ----------------------------------------------------------------------

    def state_dict(self):
        labels = torch.as_tensor(self.labels if self.labels is not None else np.zeros(0, np.int64))
        return {"labels": labels, "epoch": self.labels_epoch}

    def load_state_dict(self, state):
        self.labels_epoch = int(state["epoch"])
        self.labels = state["labels"].numpy() if self.labels_epoch >= 0 else None

    # ---- per epoch -----------------------------------------------------------------------

    def before_epoch(self):
        epoch = self.trainer.epoch
        step = self.trainer._trainer
        if step.stage != "adapt":  # source pre-training, Sec. III (set by TrainingStageHook)
            step.set_target_loader(None)
            return
        if self.labels_epoch != epoch:  # else: resumed mid-epoch, the labels are restored
            self._assign(epoch)
        self._start_target_stream(epoch)

    @torch.no_grad()
    def _extract_features(self, model) -> dict:
        """``{kind: N x D array}`` of the target images for each of ``self.feature_kinds``."""
        was_training = model.training
        average_buffers(model)  # every rank's share of the features from the same model
        model.eval()
        features = {kind: [] for kind in self.feature_kinds}
        for batch in tqdm(self.feature_loader, desc="target features", leave=False,
                          disable=not comm.is_main_process()):
            for kind, batch_features in unwrap(model).extract_feature_kinds(batch, self.feature_kinds).items():
                features[kind].append(batch_features.float())
        model.train(was_training)
        return {kind: _gather_features(torch.cat(parts)).cpu().numpy() for kind, parts in features.items()}

    def _assign(self, epoch: int) -> None:
        # NaN features would fail in the k-NN search, with an error blaming its settings
        check_model_finite(self.trainer.model, f"before pseudo-labelling epoch {epoch}",
                           self.trainer.checkpointer)
        features = self._extract_features(self.trainer.model)
        result = self._shared_assignment(features["encoder"])
        previous = self.labels
        self.labels, self.labels_epoch = result.labels, epoch
        self._log(epoch, result, previous)
        if result.num_clusters >= self.min_clusters and not self.labeler.provides_loss:
            rae = unwrap(self.trainer.model)
            fusion_centers = None
            if "fusion" in features:
                fusion_centers = torch.as_tensor(
                    cluster_centers(features["fusion"], result.labels, result.num_clusters), device=rae.device)
            rae.reset_target_classifier(result.num_clusters,
                                        torch.as_tensor(result.centers, device=rae.device), fusion_centers)
            optimizer = self.trainer._trainer.optimizer
            for parameter in rae.target_classifier_parameters():  # stale momentum of old clusters
                optimizer.state.pop(parameter, None)

    def _shared_assignment(self, features: np.ndarray) -> PseudoLabels:
        """Rank 0 assigns; every rank gets its labels (and the backend its memory), so all
        ranks train on the same pseudo-identities."""
        if comm.get_world_size() == 1:
            return self.labeler.assign(features, camids=self.camids, frames=self.frames)
        shared = [None]
        if comm.is_main_process():
            result = self.labeler.assign(features, camids=self.camids, frames=self.frames)
            shared = [(result, {k: v.cpu() for k, v in self.labeler.state_dict().items()})]
        dist.broadcast_object_list(shared, src=0)
        result, labeler_state = shared[0]
        if not comm.is_main_process():
            self.labeler.load_state_dict(labeler_state)
        return result

    def _log(self, epoch: int, result: PseudoLabels, previous: Optional[np.ndarray] = None) -> None:
        figures = label_free_quality(result.labels, self.camids, previous)
        scalars = {f"pseudo_{name}": value for name, value in figures.items()}
        message = (f"epoch {epoch}: {figures['clusters']} pseudo-identities, "
                   f"{result.num_outliers}/{len(result.labels)} outliers; cluster sizes "
                   f"{figures['size_min']} / {figures['size_median']:g} / {figures['size_max']} "
                   f"(min / median / max), {figures['singleton_share']:.1%} singletons, the "
                   f"largest {figures['largest_share']:.1%} of the images; "
                   f"{figures['multi_camera_share']:.1%} span several cameras")
        if "ari_to_previous" in figures:
            message += f"; ARI {figures['ari_to_previous']:.3f} against the last labels"
        if self.true_pids is not None:
            quality = pseudo_label_quality(result.labels, self.true_pids)
            scalars.update(pseudo_ari=quality["ari"], pseudo_precision=quality["precision"],
                           pseudo_recall=quality["recall"])
            message += (f"; against the target's hidden ids: ARI {quality['ari']:.3f}, pair "
                        f"precision {quality['precision']:.3f}, recall {quality['recall']:.3f}")
        if result.neighbor_search is not None:  # the k-NN search's own check, never silent
            scalars.update(result.neighbor_search.scalars())
            message += f"; {result.neighbor_search.summary()}"
        positives = None if self.true_pids is None else self.labeler.positive_pair_quality(self.true_pids)
        if positives is not None:
            scalars.update(pseudo_positive_precision=positives["precision"],
                           pseudo_positive_recall=positives["recall"])
            message += (f"; the loss's positive pairs: precision {positives['precision']:.3f}, "
                        f"recall {positives['recall']:.3f}")
        storage = self.trainer.storage
        # tag with the coming step: the writers skip values of steps they already wrote
        storage.iter = self.trainer.iter
        storage.put_scalars(**scalars, smoothing_hint=False)
        logger.info(message)

    def _start_target_stream(self, epoch: int) -> None:
        step = self.trainer._trainer
        inliers = int((self.labels >= 0).sum())
        num_clusters = int(self.labels.max()) + 1 if inliers else 0
        if num_clusters < self.min_clusters or inliers < self.min_inliers:
            logger.warning(f"epoch {epoch}: {inliers} pseudo-labelled images in {num_clusters} "
                           f"clusters cannot fill a target batch of {self.min_clusters} "
                           f"identities x {self.cfg.DATALOADER.NUM_INSTANCE}; this epoch "
                           "trains on the source only")
            step.set_target_loader(None)
            return
        loader = build_pseudo_labelled_loader(self.cfg, self.images, self.labels,
                                              derived_seed(self.run_seed, TARGET_STREAM, epoch),
                                              self.labeler.target_sampler)
        # a resumed run skips the batches this epoch already trained on
        done = self.trainer.iter - epoch * self.trainer.iters_per_epoch
        loader.batch_sampler.sampler.start = done * self.cfg.SOLVER.IMS_PER_BATCH
        target_loss = self._memory_loss if self.labeler.provides_loss else None
        step.set_target_loader(loader, target_loss)

    def _memory_loss(self, features: torch.Tensor, target_inputs: dict) -> torch.Tensor:
        return self.labeler.loss(features, target_inputs["indices"])
