"""Algorithm 1 end to end on the tiny world: a few iterations per backend, alone and with RAE."""
import math

import pytest
import torch
import torch.nn.functional as F

import fastreid_rae  # noqa: F401
from fastreid.config import get_cfg

from fastreid_rae.config import add_rae_config
from fastreid_rae.engine import UDATrainer
from fastreid_rae.evaluation import read_final_metrics
from fastreid_rae.pseudo_labels import cluster_centers

from .conftest import REPO_ROOT
from .test_model import SHUFFLENET

RAE_OFF = ["RAE.FEATURE_TRANSFER.ENABLED", False, "RAE.PIXEL_TRANSFER.ENABLED", False,
           "RAE.FUSION.ENABLED", False]


def _cfg(world, output_dir, *overrides):
    cfg = get_cfg()
    add_rae_config(cfg)
    cfg.merge_from_file(str(REPO_ROOT / "configs/RAE/synthetic/duke2market.yml"))
    cfg.merge_from_list(["DATASETS.ROOT", str(world), "OUTPUT_DIR", str(output_dir),
                         "SOLVER.MAX_EPOCH", 2, "SOLVER.WARMUP_ITERS", 0,
                         "SOLVER.CHECKPOINT_PERIOD", 2, "TEST.EVAL_PERIOD", 2,
                         "DATALOADER.NUM_WORKERS", 0, "SOLVER.IMS_PER_BATCH", 16,
                         "RAE.PSEUDO_LABEL.KMEANS.NUM_CLUSTERS", 8,
                         "RAE.SOURCE_PRETRAIN.EPOCHS", 1, *overrides])  # epoch 0: source only
    cfg.freeze()
    return cfg


def _train(cfg, iterations=3):
    trainer = UDATrainer(cfg)
    trainer.iters_per_epoch = iterations  # keep the test short: epochs of a few steps
    trainer.max_iter = trainer.max_epoch * iterations
    trainer.resume_or_load(resume=False)
    trainer.train()
    return trainer


@pytest.mark.parametrize("backend", ["kmeans", "dbscan", "jvtc", "mmcl", "memory_contrast"])
@pytest.mark.parametrize("with_rae", [True, False], ids=["rae", "alone"])
def test_backend_trains_end_to_end(tiny_world, tmp_path, backend, with_rae):
    overrides = ["RAE.PSEUDO_LABEL.NAME", backend] + ([] if with_rae else RAE_OFF)
    trainer = _train(_cfg(tiny_world, tmp_path, *overrides))

    hook = next(h for h in trainer._hooks if type(h).__name__ == "PseudoLabelHook")
    assert hook.labels is not None and len(hook.labels) == len(hook.images)
    assert {"pseudo_ari", "pseudo_clusters", "pseudo_outlier_share"} <= set(trainer.storage.histories())
    assert '"pseudo_ari"' in (tmp_path / "metrics.json").read_text()  # reaches fastreid's writers
    if backend == "kmeans":  # always clusters, so the target classifier was resized
        rae = trainer.model
        assert rae.heads.target_classifier.weight.shape[0] == 8
    histories = trainer.storage.histories()
    # the neighbour search's recall check is logged wherever a backend searches neighbours
    check = {"knn_recall", "knn_exact_fallback"}
    searches = backend in ("dbscan", "jvtc", "memory_contrast")
    assert check & set(histories) == (check if searches else set())
    # mmcl's loss trains on multi-labels, not on its per-image labels: they are scored too
    assert ("pseudo_positive_precision" in histories) == (backend == "mmcl")
    if backend == "mmcl":  # every image its own class: its memory loss trains the target
        assert "loss_memory_target" in histories and "loss_cls_target" not in histories
        assert hook.labeler.memory.shape[0] == len(hook.images)
    has_dis = with_rae and trainer._trainer.discriminator_optimizer is not None
    assert has_dis == with_rae
    metrics = read_final_metrics(tmp_path)["Market1501"]
    assert 0 <= metrics["mAP"] <= 100


def test_shufflenet_trains_every_rae_module_end_to_end(tiny_world, tmp_path):
    # mmcl gives every target image its own class, so the target batch and every RAE term
    # train even though a barely trained ShuffleNetV2's eval-mode features are collapsed
    # (cosine 1.0 between any two images until its BN running statistics settle: fastreid
    # initialises it with tiny weights and it has no residual path), which leaves k-means or
    # DBSCAN one cluster after a few steps
    cfg = _cfg(tiny_world, tmp_path, "RAE.PSEUDO_LABEL.NAME", "mmcl", *SHUFFLENET)
    trainer = _train(cfg)
    assert type(trainer.model.backbone).__name__ == "ShuffleNetV2"
    histories = trainer.storage.histories()
    terms = ["loss_cls_source", "loss_memory_target", "loss_feat_gan", "loss_reconst_target",
             "loss_pix_gan_target", "loss_fusion_cls_source", "loss_feat_dis", "loss_pix_dis"]
    assert all(math.isfinite(histories[term].latest()) for term in terms)
    assert all(0 <= histories[f"{gan}_dis_accuracy"].latest() <= 1 for gan in ("feat", "pix"))
    assert 0 <= read_final_metrics(tmp_path)["Market1501"]["mAP"] <= 100


def test_too_few_clusters_for_a_batch_falls_back_to_source_only(tiny_world, tmp_path):
    # 3 clusters cannot fill a batch of 16 // 4 = 4 identities: fastreid's sampler would spin
    # forever, so the epoch trains on the source alone
    cfg = _cfg(tiny_world, tmp_path, "RAE.PSEUDO_LABEL.NAME", "kmeans",
               "RAE.PSEUDO_LABEL.KMEANS.NUM_CLUSTERS", 3, *RAE_OFF)
    trainer = _train(cfg, iterations=2)
    assert trainer._trainer._target_iter is None
    assert "loss_cls_target" not in trainer.storage.histories()
    assert trainer.storage.histories()["pseudo_clusters"].latest() == 3


def test_fusion_target_classifier_starts_from_the_fused_cluster_centres(tiny_world, tmp_path):
    # Algorithm 1 step 1 for both target classifiers: Enc's from the centres of Enc's
    # features, the fusion head's (Eq. (23)) from those of the fused features of the same
    # clusters
    cfg = _cfg(tiny_world, tmp_path, "RAE.PSEUDO_LABEL.NAME", "kmeans")
    trainer = _train(cfg, iterations=2)
    hook = next(h for h in trainer._hooks if type(h).__name__ == "PseudoLabelHook")
    rae = trainer.model
    hook._assign(trainer.epoch)  # as at the next epoch's start, on the trained model

    rae.eval()
    fused = torch.cat([rae.extract_features(b, kind="fusion") for b in hook.feature_loader]).numpy()
    rae.train()
    centers = F.normalize(torch.as_tensor(cluster_centers(fused, hook.labels, 8)), dim=1)
    weight = rae.fusion.head.target_classifier.weight.detach()
    assert weight.shape == (8, cfg.RAE.FUSION.OUT_DIM)
    torch.testing.assert_close(weight, centers, rtol=1e-4, atol=1e-5)
    assert hook.feature_kinds == ["encoder", "fusion"]
