"""PT-hat (Table IV): the CycleGAN translator, its tool outputs, and RAE's "pre" mode.

One translator is trained for a few iterations on the tiny world (module fixture) and reused:
its losses and outputs, its picture grid, the translated source tree (read by fastreid's own
loader), and RAE models in pre mode built from that tree and checkpoint.
"""
import logging
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import fastreid_rae  # noqa: F401
from fastreid.config import get_cfg
from fastreid.data.datasets import DATASET_REGISTRY
from fastreid.modeling import build_model
from PIL import Image

from fastreid_rae.config import add_rae_config
from fastreid_rae.engine.config_loading import ConfigError
from fastreid_rae.data import build as data_build
from fastreid_rae.translation import (CycleGANStep, CycleGANTranslator, TranslatorTrainer, save_translation_grid,
                                      source_train_root, translate_source_train_set)
from fastreid_rae.translation.checkpoint import load_checkpoint, load_module_weights
from fastreid_rae.translation.data import first_images, train_image_paths
from fastreid_rae.translation.losses import cycle_consistency_loss, identity_mapping_loss
from fastreid_rae.translation.translator import build_generator

from .conftest import REPO_ROOT

CONFIG = REPO_ROOT / "configs/RAE/synthetic/duke2market.yml"
SIZE = (64, 32)  # INPUT.SIZE_TRAIN of the CPU config
ITERATIONS = 3


pytestmark = pytest.mark.usefixtures("single_thread")


def _cfg(world, *overrides):
    cfg = get_cfg()
    add_rae_config(cfg)
    cfg.merge_from_file(str(CONFIG))
    cfg.merge_from_list(["DATASETS.ROOT", str(world), "DATALOADER.NUM_WORKERS", 0,
                         "RAE.TRANSLATOR.MAX_ITER", ITERATIONS, "RAE.TRANSLATOR.IMS_PER_BATCH", 4,
                         "RAE.TRANSLATOR.CHECKPOINT_PERIOD", 0, *overrides])
    cfg.freeze()
    return cfg


@pytest.fixture(scope="module")
def trained(tiny_world, tmp_path_factory):
    """A translator after ITERATIONS steps, with what its untrained self made of the same images."""
    torch.manual_seed(0)
    cfg = _cfg(tiny_world)
    trainer = TranslatorTrainer(cfg, tmp_path_factory.mktemp("translator"))
    source = first_images(train_image_paths("DukeMTMC", str(tiny_world)), SIZE, 4)
    target = first_images(train_image_paths("Market1501", str(tiny_world)), SIZE, 4)
    with torch.no_grad():
        untrained = trainer.translator.generator_s2t(source).clone()
    losses = trainer.train(progress=False)
    return {"cfg": cfg, "trainer": trainer, "source": source, "target": target, "untrained": untrained,
            "losses": losses}


@pytest.fixture(scope="module")
def translated_root(trained, tmp_path_factory):
    out = tmp_path_factory.mktemp("pt_hat") / "translated"
    trainer = trained["trainer"]
    return translate_source_train_set(trained["cfg"], trainer.translator.generator_s2t, out,
                                      checkpoint=str(trainer.checkpoint_path), progress=False)


# ---- the translator ---------------------------------------------------------------------

def test_translator_trains_with_finite_losses_and_changes_the_images(trained):
    losses, trainer = trained["losses"], trained["trainer"]
    assert set(losses) == {"loss_gan_s2t", "loss_gan_t2s", "loss_cycle_source", "loss_cycle_target",
                           "loss_identity_source", "loss_identity_target", "loss_dis_source", "loss_dis_target"}
    assert all(np.isfinite(v) for v in losses.values())
    assert trainer.iteration == ITERATIONS
    with torch.no_grad():
        translated = trainer.translator.generator_s2t(trained["source"])
    assert translated.shape == trained["source"].shape
    assert (translated - trained["source"]).abs().mean() > 0.05  # not the input
    assert (translated - trained["untrained"]).abs().mean() > 1e-3  # training moved it


def test_checkpoint_resumes_weights_optimizers_and_iteration(trained, tmp_path):
    trainer = trained["trainer"]
    resumed = TranslatorTrainer(trained["cfg"], tmp_path)
    assert resumed.resume(trainer.checkpoint_path) == ITERATIONS
    for (name, saved), loaded in zip(trainer.translator.state_dict().items(), resumed.translator.state_dict().values()):
        assert torch.equal(saved, loaded), name
    assert resumed.step.generator_optimizer.state_dict()["state"]  # Adam moments came back
    assert resumed.train(progress=False) is None  # nothing left to run at MAX_ITER
    assert not list(tmp_path.glob(".*.tmp*"))  # the atomic write left no temporary file


def test_interrupted_translator_resumes_exactly(tiny_world, tmp_path):
    """Stopped after 2 of 4 iterations and resumed in a new trainer, the translator ends with
    the weights of an uninterrupted run: same batches, same flips, same image-pool history."""
    cfg = _cfg(tiny_world, "RAE.TRANSLATOR.MAX_ITER", 4, "RAE.TRANSLATOR.POOL_SIZE", 6)

    def fresh_trainer(output_dir):
        torch.manual_seed(0)
        return TranslatorTrainer(cfg, output_dir)

    straight = fresh_trainer(tmp_path / "straight")
    straight.train(progress=False)
    interrupted = fresh_trainer(tmp_path / "interrupted")
    interrupted.max_iter = 2
    interrupted.train(progress=False)
    resumed = fresh_trainer(tmp_path / "interrupted")
    assert resumed.resume() == 2
    assert len(resumed.step.fake_source_pool.images) == 6  # the history came back full
    resumed.train(progress=False)
    for (name, expected), actual in zip(straight.translator.state_dict().items(),
                                        resumed.translator.state_dict().values()):
        assert torch.equal(expected, actual), name


def test_translator_logs_every_checkpoint_and_the_end_with_an_eta(tiny_world, tmp_path, rae_log):
    """log.txt is a batch job's only sign of progress (--no-progress): one line per checkpoint
    and one at the end, each with the iteration, the time left and the losses."""
    trainer = TranslatorTrainer(_cfg(tiny_world, "RAE.TRANSLATOR.MAX_ITER", 3,
                                     "RAE.TRANSLATOR.CHECKPOINT_PERIOD", 2), tmp_path)
    with rae_log.at_level(logging.INFO, logger="fastreid_rae.translation.trainer"):
        trainer.train(progress=False)
    records = [record for record in rae_log.records if record.name == "fastreid_rae.translation.trainer"]
    lines = [record.getMessage() for record in records]
    assert [line.split(" (eta ")[0] for line in lines] == ["translator iteration 2/3", "translator iteration 3/3"]
    assert lines[1].startswith("translator iteration 3/3 (eta 0:00:00): loss_gan_s2t ")


def test_translator_batch_larger_than_a_domain_names_the_key(tiny_world, tmp_path):
    trainer = TranslatorTrainer(_cfg(tiny_world, "RAE.TRANSLATOR.IMS_PER_BATCH", 100000), tmp_path)
    with pytest.raises(ValueError, match="RAE.TRANSLATOR.IMS_PER_BATCH is 100000, but DukeMTMC"):
        trainer.train(progress=False)


class Shift(nn.Module):
    """x + offset: a generator whose losses are known by hand."""

    def __init__(self, offset):
        super().__init__()
        self.offset = nn.Parameter(torch.tensor(float(offset)))

    def forward(self, x):
        return x + self.offset


class ConstantScore(nn.Module):
    def __init__(self, score):
        super().__init__()
        self.score = nn.Parameter(torch.tensor(float(score)))

    def forward(self, x):
        return self.score.expand(len(x), 1, 2, 2)


def test_cycle_identity_and_lsgan_terms_by_hand():
    real = torch.tensor([0.0, 1.0])
    assert cycle_consistency_loss(real, torch.tensor([0.5, 0.0])).item() == pytest.approx(0.75)  # (.5 + 1) / 2
    assert identity_mapping_loss(real, torch.tensor([0.0, 0.8])).item() == pytest.approx(0.1)

    # G_s2t = x + 0.5, G_t2s = x - 0.2, every patch scored 0.3; lambda_cyc 10, identity 0.5 x 10
    translator = CycleGANTranslator(Shift(0.5), Shift(-0.2), ConstantScore(0.3), ConstantScore(0.3))
    step = CycleGANStep(translator, lambda_cyc=10.0, lambda_identity=0.5, lr=2e-4, betas=(0.5, 0.999), pool_size=0)
    source, target = torch.zeros(2, 3, 4, 4), torch.full((3, 3, 4, 4), 0.4)
    losses, fake_source, fake_target = step.generator_losses(source, target)
    expected = {
        "loss_cycle_source": 10 * 0.3,  # |(x + 0.5 - 0.2) - x|
        "loss_cycle_target": 10 * 0.3,
        "loss_identity_target": 5 * 0.5,  # |G_s2t(y) - y|
        "loss_identity_source": 5 * 0.2,  # |G_t2s(x) - x|
        "loss_gan_s2t": (0.3 - 1) ** 2,  # LSGAN, G's side
        "loss_gan_t2s": (0.3 - 1) ** 2,
    }
    assert {k: v.item() for k, v in losses.items()} == pytest.approx(expected)
    dis = step.discriminator_losses(source, target, fake_source, fake_target)
    assert dis["loss_dis_source"].item() == pytest.approx(0.5 * ((0.3 - 1) ** 2 + 0.3 ** 2))  # halved, as CycleGAN

    # the generator step trains no discriminator, and lambda_identity 0 removes the identity terms
    sum(losses.values()).backward()
    assert translator.discriminator_source.score.grad is None
    assert translator.generator_s2t.offset.grad is not None
    no_identity = CycleGANStep(translator, lambda_cyc=10.0, lambda_identity=0.0, lr=2e-4, betas=(0.5, 0.999),
                               pool_size=0)
    assert not any("identity" in key for key in no_identity.generator_losses(source, target)[0])


def test_picture_grid_png_has_five_rows_of_the_expected_size(trained, tmp_path):
    source, target = trained["source"][:3], trained["target"][:3]
    path = save_translation_grid(tmp_path / "grid.png", trained["trainer"].translator, source, target)
    picture = np.asarray(Image.open(path).convert("RGB"))
    height, width = SIZE
    assert picture.shape == (5 * (height + 2) + 2, 3 * (width + 2) + 2, 3)  # padding 2 around cells
    # row 0 is the source input, row 3 the target input (cells at padding offsets)
    for row, images in ((0, source), (3, target)):
        top = 2 + row * (height + 2)
        cell = picture[top:top + height, 2:2 + width].astype(np.float32)
        expected = ((images[0] + 1) * 127.5).permute(1, 2, 0).numpy()
        assert np.abs(cell - expected).max() <= 1.0


# ---- the translated source set ------------------------------------------------------------

def test_translated_tree_is_read_by_fastreids_loader_with_the_same_images_and_ids(tiny_world, translated_root):
    original = DATASET_REGISTRY.get("DukeMTMC")(root=str(tiny_world))
    translated = DATASET_REGISTRY.get("DukeMTMC")(root=str(translated_root))
    assert len(translated.train) == len(original.train) > 0
    ids = lambda dataset: {pid for _, pid, _ in dataset.train}  # noqa: E731
    assert ids(translated) == ids(original) and len(ids(original)) > 1
    relative = lambda items, root: sorted((os.path.relpath(p, root), pid, cam) for p, pid, cam in items)  # noqa: E731
    assert relative(translated.train, translated_root) == relative(original.train, tiny_world)

    first = os.path.relpath(original.train[0][0], tiny_world)
    before, after = Image.open(tiny_world / first), Image.open(translated_root / first)
    assert after.size == before.size  # written back at the file's own size
    assert np.abs(np.asarray(after, np.float32) - np.asarray(before, np.float32)).mean() > 5  # translated
    assert (translated_root / "DukeMTMC-reID" / "query").is_symlink()  # the rest links to the original
    assert (translated_root / "translation.json").is_file()


def test_translating_refuses_to_replace_a_tree_or_to_write_inside_the_root(trained, translated_root, tiny_world):
    generator = trained["trainer"].translator.generator_s2t
    with pytest.raises(ConfigError, match="exists; pass --overwrite"):
        translate_source_train_set(trained["cfg"], generator, translated_root, progress=False)
    with pytest.raises(ConfigError, match="lies inside DATASETS.ROOT"):
        translate_source_train_set(trained["cfg"], generator, tiny_world / "translated", progress=False)


def test_tool_trains_then_writes_checkpoint_grid_and_translated_tree(tiny_world, tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("train_translator", REPO_ROOT / "tools/train_translator.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out, translated = tmp_path / "run", tmp_path / "translated"
    args = ["--config-file", str(CONFIG), "--output-dir", str(out), "--iters", "1", "--grid-images", "2",
            "--translate", str(translated), "--no-progress", "DATASETS.ROOT", str(tiny_world),
            "DATALOADER.NUM_WORKERS", "0", "RAE.TRANSLATOR.IMS_PER_BATCH", "2"]
    tool.main(tool.argument_parser().parse_args(args))
    assert load_checkpoint(str(out / "translator.pth"), "test")["iteration"] == 1
    assert Image.open(out / "translations.png").size == (2 * (SIZE[1] + 2) + 2, 5 * (SIZE[0] + 2) + 2)
    assert len(list((translated / "DukeMTMC-reID" / "bounding_box_train").iterdir())) == len(
        train_image_paths("DukeMTMC", str(tiny_world)))
    with pytest.raises(ConfigError, match="--resume"):  # a second run must not replace the first
        tool.main(tool.argument_parser().parse_args(args))


# ---- RAE in pre mode -------------------------------------------------------------------------

PRE = ["RAE.PIXEL_TRANSFER.MODE", "pre"]


def test_pre_mode_trains_on_the_translated_source_without_a_decoder(tiny_world, translated_root, tmp_path):
    from .test_uda_training import _cfg as uda_cfg, _train

    cfg = uda_cfg(tiny_world, tmp_path, "RAE.PSEUDO_LABEL.NAME", "kmeans", "RAE.FUSION.ENABLED", False,
                  *PRE, "RAE.TRANSLATOR.TRANSLATED_ROOT", str(translated_root))
    batch = next(iter(data_build.build_source_train_loader(cfg)))
    assert all(Path(p).is_relative_to(translated_root) for p in batch["img_paths"])

    trainer = _train(cfg, iterations=2)
    model = trainer.model
    assert model.decoder is None and model.pixel_discriminator is None and model.translator is None
    histories = trainer.storage.histories()
    assert "loss_cls_source" in histories and "loss_feat_gan" in histories
    assert not any(key.startswith(("loss_reconst", "loss_pix")) for key in histories)


def _pre_fusion_model(weights, *opts):
    cfg = get_cfg()
    add_rae_config(cfg)
    cfg.merge_from_file(str(REPO_ROOT / "configs/RAE/synthetic/Base-RAE-cpu.yml"))
    cfg.merge_from_list(["MODEL.HEADS.NUM_CLASSES", 4, *PRE, "RAE.TRANSLATOR.WEIGHTS", str(weights), *opts])
    torch.manual_seed(0)
    return build_model(cfg)


def test_pre_mode_fusion_fuses_enc_of_the_frozen_translators_output(trained):
    checkpoint = trained["trainer"].checkpoint_path
    model = _pre_fusion_model(checkpoint)
    assert model.decoder is None and model.pixel_discriminator is None
    translator_params = {id(p) for p in model.translator.parameters()}
    assert translator_params and not any(p.requires_grad for p in model.translator.parameters())
    assert not translator_params & {id(p) for group in model.param_groups().values() for p in group}

    # G_t2s by hand, from the checkpoint: loader pixels -> [-1, 1] -> G_t2s -> encoder input
    generator = build_generator(trained["cfg"])
    load_module_weights(generator, load_checkpoint(str(checkpoint), "test"), "generator_t2s.", checkpoint, "test")
    images = torch.rand(4, 3, 32, 16, generator=torch.Generator().manual_seed(0)) * 255
    with torch.no_grad():
        by_hand = model.pixel_space.normalize((generator(images / 127.5 - 1) + 1) * 127.5)
    fused = []
    model.fusion.register_forward_hook(lambda module, args, output: fused.append(args[1].detach()))

    model.train()
    assert not model.translator.generator.training  # frozen: model.train() leaves it in eval
    model.reset_target_classifier(2)
    batch = lambda ims: {"images": ims, "targets": torch.tensor([0, 0, 1, 1])}  # noqa: E731
    losses = model(batch(images[:2].repeat(2, 1, 1, 1)), batch(images[2:].repeat(2, 1, 1, 1)))
    assert "loss_fusion_cls_target" in losses and not any(k.startswith("loss_reconst") for k in losses)
    sum(losses.values()).backward()
    assert all(p.grad is None for p in model.translator.parameters())
    with torch.no_grad():  # training-mode Enc on the same batch: same BN batch statistics
        expected = model.backbone(torch.cat([by_hand[:2].repeat(2, 1, 1, 1), by_hand[2:].repeat(2, 1, 1, 1)]))
    torch.testing.assert_close(fused[-1], expected, atol=1e-3, rtol=1e-3)  # batch-size rounding only

    model.eval()
    model.extract_features(images, kind="fusion")  # Algorithm 2 with G_t2s in place of Dec
    with torch.no_grad():
        torch.testing.assert_close(fused[-1], model.backbone(by_hand), atol=1e-3, rtol=1e-3)
        assert not torch.allclose(fused[-1], model.backbone(model.pixel_space.normalize(images)), atol=1e-2)


def test_pre_mode_errors_name_the_missing_key(tiny_world, tmp_path):
    with pytest.raises(ValueError, match="RAE.TRANSLATOR.WEIGHTS"):
        _pre_fusion_model(tmp_path / "missing.pth")
    cfg = _cfg(tiny_world, *PRE)
    with pytest.raises(ValueError, match="RAE.TRANSLATOR.TRANSLATED_ROOT"):
        source_train_root(cfg)
    assert source_train_root(_cfg(tiny_world)) == str(tiny_world)  # post mode: DATASETS.ROOT
    with pytest.raises(KeyError, match="RAE.TRANSLATOR.GENERATOR.NAME"):
        build_generator(_cfg(tiny_world, "RAE.TRANSLATOR.GENERATOR.NAME", "UNet"))


def test_pre_mode_refuses_a_translated_root_of_another_source(tiny_world, translated_root):
    pre = [*PRE, "RAE.TRANSLATOR.TRANSLATED_ROOT", str(translated_root)]
    assert source_train_root(_cfg(tiny_world, *pre)) == str(translated_root)
    with pytest.raises(ValueError, match="holds a translated DukeMTMC"):
        source_train_root(_cfg(tiny_world, *pre, "DATASETS.NAMES", ("Market1501",)))
    with pytest.raises(ValueError, match="DATASETS.COMBINEALL"):
        source_train_root(_cfg(tiny_world, *pre, "DATASETS.COMBINEALL", True))
