"""Degenerate training states: clusterings that cannot fill a target batch, and non-finite
losses. Each must leave the run alive (or stop it with a clear error), never hang."""
import numpy as np
import pytest
import torch
from fastreid.engine.train_loop import HookBase

from fastreid_rae.engine import UDATrainer
from fastreid_rae.engine.divergence import DivergedError, saving_finite_models_only
from fastreid_rae.engine.rae_step import NonFiniteLossError
from fastreid_rae.modeling.meta_arch.rae import RAE
from fastreid_rae.pseudo_labels import PSEUDO_LABEL_REGISTRY, PseudoLabeler, PseudoLabels

from .test_uda_training import RAE_OFF, _cfg, _train

ASSIGNMENT = {}  # "of": the assignment function the running test gives the target set


class _FixedLabeler(PseudoLabeler):
    def _assign(self, features, camids, frames):
        return PseudoLabels.from_assignment(features, ASSIGNMENT["of"](len(features)))


def fixed_for_tests(cfg):
    return _FixedLabeler()


@pytest.fixture
def fixed_backend():
    """``fixed_for_tests`` in the registry for one test only (other tests list the registry)."""
    PSEUDO_LABEL_REGISTRY.register(fixed_for_tests)
    yield
    del PSEUDO_LABEL_REGISTRY._obj_map["fixed_for_tests"]  # fastreid's Registry has no unregister


CASES = {
    "only_outliers": lambda n: np.full(n, -1),
    "single_cluster": lambda n: np.zeros(n, dtype=int),
    "fewer_identities_than_p": lambda n: np.arange(n) % 3,  # P = 16 // 4 = 4
    # 5 identities of 2 images: 10 inliers, fewer than a batch of 16
    "target_smaller_than_a_batch": lambda n: np.where(np.arange(n) < 10, np.arange(n) // 2, -1),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_unusable_clustering_trains_that_epoch_on_the_source(tiny_world, tmp_path, case, fixed_backend):
    ASSIGNMENT["of"] = CASES[case]
    cfg = _cfg(tiny_world, tmp_path, "RAE.PSEUDO_LABEL.NAME", "fixed_for_tests", *RAE_OFF)
    trainer = _train(cfg, iterations=2)
    histories = trainer.storage.histories()
    assert trainer._trainer._target_iter is None
    assert "loss_cls_target" not in histories and "loss_cls_source" in histories
    assert histories["pseudo_clusters"].latest() == len(set(CASES[case](100)) - {-1})


def _nan_on(iterations):
    """Wrap RAE.generator_losses so that the steps in ``iterations`` have a NaN loss."""
    original = RAE.generator_losses
    calls = [0]

    def generator_losses(self, *args, **kwargs):
        losses = original(self, *args, **kwargs)
        calls[0] += 1
        if calls[0] - 1 in iterations:
            losses["loss_cls_source"] = losses["loss_cls_source"] * float("nan")
        return losses

    return generator_losses


def test_a_nan_step_is_skipped_without_touching_the_weights(tiny_world, tmp_path, monkeypatch):
    monkeypatch.setattr(RAE, "generator_losses", _nan_on({1, 2}))
    cfg = _cfg(tiny_world, tmp_path, "SOLVER.MAX_EPOCH", 1, "RAE.SOLVER.MAX_NONFINITE_STEPS", 3)
    snapshots = []

    class WeightsAfterStep(HookBase):
        def after_step(self):
            snapshots.append(next(self.trainer.model.backbone.parameters()).detach().clone())

    trainer = UDATrainer(cfg)
    trainer.iters_per_epoch = trainer.max_iter = 4
    trainer.register_hooks([WeightsAfterStep()])
    trainer.resume_or_load(resume=False)
    trainer.train()
    # steps 1 and 2 skipped: weights as after step 0; steps 0 and 3 update them
    assert torch.equal(snapshots[0], snapshots[1]) and torch.equal(snapshots[1], snapshots[2])
    assert not torch.equal(snapshots[2], snapshots[3])
    assert trainer._trainer.nonfinite_steps == 0  # reset by the finite step 3


def test_too_many_nan_steps_in_a_row_stop_the_run_and_keep_the_checkpoints(tiny_world, tmp_path, monkeypatch):
    # epoch 0 (steps 0-1) trains and checkpoints; epoch 1 is all NaN
    monkeypatch.setattr(RAE, "generator_losses", _nan_on(set(range(2, 10))))
    cfg = _cfg(tiny_world, tmp_path, "SOLVER.MAX_EPOCH", 3, "SOLVER.CHECKPOINT_PERIOD", 1,
               "RAE.SOLVER.MAX_NONFINITE_STEPS", 2, "RAE.PSEUDO_LABEL.NAME", "kmeans")
    with pytest.raises(NonFiniteLossError, match="2 steps in a row .*loss_cls_source.*MAX_NONFINITE_STEPS"):
        _train(cfg, iterations=2)
    assert (tmp_path / "last_checkpoint").read_text() == "model_0000.pth"
    assert (tmp_path / "model_0000.pth").stat().st_size > 0


class _PoisonAfterStep(HookBase):
    """Turns one weight NaN after ``iteration``, as a far too high learning rate would."""

    def __init__(self, iteration):
        self.iteration = iteration

    def after_step(self):
        if self.trainer.iter == self.iteration:
            with torch.no_grad():
                next(self.trainer.model.backbone.parameters()).fill_(float("nan"))


def test_a_diverged_run_stops_at_its_step_and_writes_no_results(tiny_world, tmp_path):
    # one epoch: fastreid's EvalHook evaluates in after_train even after a failure
    cfg = _cfg(tiny_world, tmp_path, "SOLVER.MAX_EPOCH", 1, "RAE.CHECKPOINT.ITER_PERIOD", 1,
               *RAE_OFF)
    trainer = UDATrainer(cfg)
    trainer.iters_per_epoch = trainer.max_iter = 4
    trainer.register_hooks([_PoisonAfterStep(1)])  # after the checkpoint of iteration 1
    trainer.resume_or_load(resume=False)
    with pytest.raises(DivergedError) as error:
        trainer.train()
    message = str(error.value)
    assert message.startswith("training diverged: the model's backbone.conv1.weight is not finite "
                              "at iteration 2 (loss ['loss_cls_source'")
    assert f"the last good checkpoint is '{tmp_path / 'model_resume.pth'}'" in message
    assert "the last finite total loss was " in message
    assert not (tmp_path / "results.json").exists()


def test_a_non_finite_model_is_neither_saved_nor_evaluated(tiny_world, tmp_path):
    from fastreid.utils.checkpoint import Checkpointer

    model = torch.nn.Linear(3, 2)
    with torch.no_grad():
        model.bias.fill_(float("inf"))
    checkpointer = Checkpointer(model, str(tmp_path))
    saving_finite_models_only(checkpointer, model)
    with pytest.raises(DivergedError, match="the model's bias is not finite when checkpoint "
                                            "'model_0003' was to be saved"):
        checkpointer.save("model_0003")
    assert list(tmp_path.iterdir()) == []
    cfg = _cfg(tiny_world, tmp_path)
    with pytest.raises(DivergedError, match=r"before the evaluation \(no results.json is written\)"):
        UDATrainer.test(cfg, model)
    assert not (tmp_path / "results.json").exists()
