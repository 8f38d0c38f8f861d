"""The UDA trainer on the tiny world: checked data building, results kept beside the run."""
import re

import pytest
import torch

import fastreid_rae  # noqa: F401
from fastreid.config import get_cfg

from fastreid_rae.config import add_rae_config
from fastreid_rae.data.datasets import DatasetLayoutError
from fastreid_rae.engine import UDATrainer
from fastreid_rae.evaluation import read_final_metrics

from .conftest import REPO_ROOT


def _direct_transfer_cfg(root, output_dir):
    cfg = get_cfg()
    add_rae_config(cfg)
    cfg.merge_from_file(str(REPO_ROOT / "configs/Supervised/synthetic_duke2market_direct.yml"))
    cfg.merge_from_list(["DATASETS.ROOT", str(root), "OUTPUT_DIR", str(output_dir),
                         "SOLVER.MAX_EPOCH", 1, "SOLVER.IMS_PER_BATCH", 16,
                         "DATALOADER.NUM_WORKERS", 0, "TEST.EVAL_PERIOD", 1])
    return cfg


def test_direct_transfer_trains_and_writes_results(tiny_world, tmp_path):
    cfg = _direct_transfer_cfg(tiny_world, tmp_path)
    cfg.freeze()
    trainer = UDATrainer(cfg)
    trainer.resume_or_load(resume=False)
    trainer.train()

    metrics = read_final_metrics(tmp_path)["Market1501"]
    assert set(metrics) >= {"Rank-1", "Rank-5", "mAP", "mINP"}
    assert all(0 <= metrics[k] <= 100 for k in ("Rank-1", "mAP"))
    assert (tmp_path / "model_final.pth").is_file()


def test_chunked_evaluation_gives_the_same_metrics(tiny_world, tmp_path):
    from fastreid.modeling import build_model

    results = {}
    for chunked in (False, True):
        cfg = _direct_transfer_cfg(tiny_world, tmp_path / str(chunked))
        cfg.merge_from_list(["MODEL.BACKBONE.PRETRAIN", False, "TEST.CHUNKED.ENABLED", chunked,
                             "TEST.CHUNKED.QUERY_CHUNK", 5])
        torch.manual_seed(0)
        model = build_model(cfg)
        results[chunked] = UDATrainer.test(cfg, model)
    for key in ("Rank-1", "Rank-5", "mAP", "mINP"):
        assert results[True][key] == pytest.approx(results[False][key], abs=1e-9), key


def test_wrong_data_root_is_reported_before_training(tmp_path):
    cfg = _direct_transfer_cfg(tmp_path / "empty", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetLayoutError, match="DukeMTMC-reID"):
        UDATrainer.build_train_loader(cfg)
    assert not (tmp_path / "out").exists()


def test_read_final_metrics_names_the_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="results.json"):
        read_final_metrics(tmp_path)


def test_eval_only_reproduces_the_metrics_of_training_beside_the_run(tiny_world, tmp_path):
    import importlib.util

    from fastreid_rae.checkpoint_files import CheckpointLoadError

    run = tmp_path / "train"
    cfg = _direct_transfer_cfg(tiny_world, run)
    cfg.freeze()
    trainer = UDATrainer(cfg)
    trainer.resume_or_load(resume=False)
    trainer.train()
    trained = read_final_metrics(run)["Market1501"]
    run_files = {path.name: path.read_bytes() for path in run.iterdir() if path.name != "log.txt"}

    spec = importlib.util.spec_from_file_location("train_net", REPO_ROOT / "tools/train_net.py")
    train_net = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train_net)

    def evaluate(*overrides):
        args = train_net.argument_parser().parse_args([
            "--config-file", str(REPO_ROOT / "configs/Supervised/synthetic_duke2market_direct.yml"),
            "--eval-only", "DATASETS.ROOT", str(tiny_world), "OUTPUT_DIR", str(run),
            "DATALOADER.NUM_WORKERS", "0", "MODEL.WEIGHTS", str(run / "model_final.pth"), *overrides])
        return train_net.main(args)

    # another architecture than the weights': refused by name, nothing written (issue 29)
    with pytest.raises(CheckpointLoadError, match=re.escape(
            f"checkpoint '{run / 'model_final.pth'}' does not fit the model built from the "
            f"config: missing: backbone.layer1.2.")):
        evaluate("MODEL.BACKBONE.DEPTH", "34x")
    assert not (run / "eval_model_final" / "config.yaml").exists()

    evaluate()
    evaluated = read_final_metrics(run / "eval_model_final")["Market1501"]
    for key in ("Rank-1", "Rank-5", "mAP", "mINP"):
        assert evaluated[key] == pytest.approx(trained[key], abs=1e-6), key
    # the training run's own results.json and config.yaml are never replaced
    assert {path.name: path.read_bytes() for path in run.iterdir()
            if path.is_file() and path.name != "log.txt"} == run_files


@pytest.mark.parametrize("weights, expected", [
    ("", ["encoder", "encoder", "decoder", "adapt"]),
    # a source-trained Enc is loaded: the pre-training epochs may all train Dec
    ("source_model.pth", ["decoder", "decoder", "decoder", "adapt"]),
])
def test_training_stages_of_source_pretraining(weights, expected):
    from fastreid_rae.engine.training_stage import training_stage

    cfg = get_cfg()
    add_rae_config(cfg)
    cfg.merge_from_list(["MODEL.WEIGHTS", weights, "RAE.SOURCE_PRETRAIN.EPOCHS", 3,
                         "RAE.SOURCE_PRETRAIN.DECODER_EPOCHS", 1 if not weights else 5])
    assert [training_stage(cfg, epoch, has_decoder=True) for epoch in range(4)] == expected
    assert training_stage(cfg, 0, has_decoder=False) == "encoder"


def test_heads_lr_factor_scales_the_rate_of_encs_heads_alone():
    from .test_model import rae_cfg, rae_model

    model = rae_model()
    groups = model.param_groups()

    def rates(*overrides):
        cfg = rae_cfg("SOLVER.BASE_LR", 0.5, "RAE.SOLVER.ENCODER_LR", 0.05, *overrides)
        optimizer, _ = UDATrainer.build_optimizer(cfg, model)
        return [(group["lr"], {id(p) for p in group["params"]}) for group in optimizer.param_groups]

    ids = {name: {id(p) for p in params} for name, params in groups.items()}
    # fastreid's default 1.0: the heads share the other parts' group, the layout of older checkpoints
    assert rates() == [(0.05, ids["encoder"]), (0.5, ids["heads"] | ids["others"])]
    assert rates("SOLVER.HEADS_LR_FACTOR", 0.1) == [
        (0.05, ids["encoder"]), (pytest.approx(0.05), ids["heads"]), (0.5, ids["others"])]


@pytest.mark.parametrize("opt", ["SGD", "Adam"])
def test_fused_optimizer_takes_the_same_steps_as_the_per_tensor_one(opt):
    from .test_model import rae_cfg, rae_model

    def optimizer_and_params(fused):
        model = rae_model()
        cfg = rae_cfg("SOLVER.OPT", opt, "RAE.SOLVER.FUSED", fused)
        optimizer, _ = UDATrainer.build_optimizer(cfg, model)
        return optimizer, list(model.backbone.parameters())

    fused, fused_params = optimizer_and_params(True)
    plain, plain_params = optimizer_and_params(False)
    assert fused.defaults["fused"] and not plain.defaults.get("fused")
    # the paper's two rates (Sec. IV-B) survive the switch
    assert [g["lr"] for g in fused.param_groups] == [g["lr"] for g in plain.param_groups]
    for step in range(3):
        grads = [torch.randn_like(p, generator=torch.Generator().manual_seed(step)) for p in plain_params]
        for optimizer, params in ((fused, fused_params), (plain, plain_params)):
            for p, g in zip(params, grads):
                p.grad = g.clone()
            optimizer.step()
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(fused_params, plain_params))
    assert any(not torch.equal(a, b) for a, b in zip(fused_params, rae_model().backbone.parameters()))


def test_a_lone_loss_is_logged_under_its_own_name():
    """fastreid's step logs a single loss as total_loss only; a Dec-first stage without the
    pixel GAN has just one (loss_reconst_source), which the curves look up by name."""
    from fastreid.utils.events import EventStorage

    from fastreid_rae.engine.rae_step import RAEStep

    step = RAEStep.__new__(RAEStep)  # _write_metrics needs no model or loader
    with EventStorage() as storage:
        step._write_metrics({"loss_reconst_source": torch.tensor(2.5)}, data_time=0.0)
        assert storage.latest()["loss_reconst_source"][0] == pytest.approx(2.5)
        step._write_metrics({"loss_a": torch.tensor(1.0), "loss_b": torch.tensor(2.0)}, data_time=0.0)
        assert storage.latest()["total_loss"][0] == pytest.approx(3.0)
