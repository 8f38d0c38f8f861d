"""The RAE model as fastreid builds it: registry build from the shipped configs, shapes, the
module switches, which parameters each loss trains, Algorithm 2 recomputed by hand, and the
round trip through fastreid's Checkpointer.

CPU-sized: ResNet-18 (configs/RAE/synthetic/Base-RAE-cpu.yml) on 32 x 16 images (the model
follows the images' size; 64 x 32, the config's, where a test is about shapes); one shape-only
test builds the paper's ResNet-50 at 256 x 128.
"""
import copy
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import fastreid_rae.modeling  # noqa: F401  (registers RAE's parts)
from fastreid.config import get_cfg
from fastreid.modeling import build_model
from fastreid.utils.checkpoint import Checkpointer
from fastreid_rae.config import add_rae_config
from fastreid_rae.modeling import RAE, BilinearFusionHead, RAEEmbeddingHead

REPO = Path(__file__).resolve().parents[1]
CPU_CONFIG = REPO / "configs/RAE/synthetic/Base-RAE-cpu.yml"
PAPER_CONFIG = REPO / "configs/RAE/Base-RAE.yml"
NUM_SOURCE_IDS, NUM_TARGET_IDS = 4, 3
SIZE = (32, 16)
CONFIG_SIZE = (64, 32)


@pytest.fixture(autouse=True, scope="module")
def single_thread():
    """These tensors are tiny: intra-op threads buy nothing and, on a shared 2-core machine,
    spin against other processes (measured: 88 s with 2 threads under load vs 12 s)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def rae_cfg(*opts, config=CPU_CONFIG):
    cfg = get_cfg()
    add_rae_config(cfg)
    cfg.merge_from_file(str(config))
    cfg.merge_from_list(["MODEL.HEADS.NUM_CLASSES", NUM_SOURCE_IDS, "MODEL.DEVICE", "cpu",
                         "MODEL.BACKBONE.PRETRAIN", False, *opts])
    return cfg


def rae_model(*opts, target_ids=NUM_TARGET_IDS, seed=0):
    torch.manual_seed(seed)
    model = build_model(rae_cfg(*opts))
    if target_ids:
        model.reset_target_classifier(target_ids)
    return model.train()


def batch(num_ids, per_id=2, size=SIZE, seed=0):
    generator = torch.Generator().manual_seed(seed)
    n = num_ids * per_id
    return {
        "images": torch.rand(n, 3, *size, generator=generator) * 255,
        "targets": torch.arange(num_ids).repeat_interleave(per_id),
        "camids": torch.zeros(n, dtype=torch.long),
    }


def source_batch(seed=0):
    return batch(NUM_SOURCE_IDS, seed=seed)


def target_batch(seed=1):
    return batch(NUM_TARGET_IDS, seed=seed)


ALL_GENERATOR_KEYS = {
    *(f"loss_{term}_{domain}" for term in ("cls", "triplet") for domain in ("source", "target")),
    "loss_feat_gan",
    *(f"loss_{term}_{domain}" for term in ("reconst", "pix_gan") for domain in ("source", "target")),
    *(f"loss_fusion_{term}_{domain}" for term in ("cls", "triplet") for domain in ("source", "target")),
}


# ---- build & shapes ---------------------------------------------------------------------

def test_paper_config_builds_resnet50_rae_with_algorithm2_shapes_at_256x128():
    torch.manual_seed(0)
    model = build_model(rae_cfg(config=PAPER_CONFIG)).eval()
    assert isinstance(model, RAE) and isinstance(model.heads, RAEEmbeddingHead)
    assert isinstance(model.fusion, BilinearFusionHead)
    assert model.heads.dropout.p == 0.5
    images = torch.rand(1, 3, 256, 128) * 255
    with torch.no_grad():
        feature_maps = model.encode(model.pixel_space.normalize(images))
        reconstructed = model.decode(feature_maps)
        features = model(images)
    assert feature_maps.shape == (1, 2048, 16, 8)  # last stride 1
    assert reconstructed.shape == (1, 3, 128, 64)  # input / 2
    assert features.shape == (1, 512)  # RAE.FUSION.OUT_DIM


SHUFFLENET = ["MODEL.BACKBONE.NAME", "build_shufflenetv2_last_stride_backbone",
              "MODEL.BACKBONE.DEPTH", "1.0x", "MODEL.BACKBONE.FEAT_DIM", 1024]


@pytest.mark.parametrize("backbone", [[], SHUFFLENET], ids=["resnet18", "shufflenetv2"])
def test_training_forward_returns_every_weighted_loss_and_eval_returns_features(backbone):
    model = rae_model(*backbone)
    losses = model(source_batch(), target_batch())
    assert set(losses) == ALL_GENERATOR_KEYS
    assert all(v.dim() == 0 and torch.isfinite(v) for v in losses.values())
    assert set(model.discriminator_losses()) == {"loss_feat_dis", "loss_pix_dis"}

    model.eval()
    images = batch(3, size=CONFIG_SIZE)["images"]
    assert model({"images": images}).shape == (6, 128)  # fused feature, RAE.FUSION.OUT_DIM
    assert model.extract_features(images, kind="encoder").shape == (6, model.feat_dim)
    assert torch.equal(model(images), model.extract_features(images, kind="fusion"))


class _FixedScores(nn.Module):
    """A stand-in discriminator scoring the first real_count rows of its batch (real: the
    source's) with real_logit and the rest (fake) with fake_logit."""

    def __init__(self, real_count, real_logit, fake_logit):
        super().__init__()
        self.real_count, self.real_logit, self.fake_logit = real_count, real_logit, fake_logit

    def forward(self, x):
        fake_count = len(x) - self.real_count
        return torch.tensor([self.real_logit] * self.real_count + [self.fake_logit] * fake_count)


@pytest.mark.parametrize("gan_loss, real_logit, fake_logit, accuracy", [
    ("NonSaturatingGANLoss", 2.0, -2.0, 1.0),   # both sides right
    ("NonSaturatingGANLoss", -2.0, 2.0, 0.0),   # both wrong
    ("NonSaturatingGANLoss", 3.0, 3.0, 0.5),    # calls everything real
    ("LeastSquaresGANLoss", 0.9, 0.1, 1.0),     # LSGAN's targets are 1 and 0: the line is 0.5
    ("LeastSquaresGANLoss", 0.4, 0.1, 0.5),
])
def test_discriminator_accuracy_is_the_share_scored_on_the_right_side(gan_loss, real_logit, fake_logit, accuracy):
    model = rae_model("RAE.GAN.LOSS", gan_loss)
    source = source_batch()
    model(source, target_batch())
    model.feature_discriminator = _FixedScores(len(source["images"]), real_logit, fake_logit)
    model.discriminator_losses()
    assert model.discriminator_accuracy["feat_dis_accuracy"] == accuracy
    assert 0.0 <= model.discriminator_accuracy["pix_dis_accuracy"] <= 1.0


def test_several_feature_kinds_from_one_pass_match_one_kind_at_a_time():
    model = rae_model().eval()
    images = batch(3, size=CONFIG_SIZE)["images"]
    kinds = model.extract_feature_kinds(images, ["encoder", "fusion", "final"])
    assert set(kinds) == {"encoder", "fusion", "final"}
    for kind, features in kinds.items():
        torch.testing.assert_close(features, model.extract_features(images, kind=kind))
    with pytest.raises(ValueError, match="kind must be one of"):
        model.extract_feature_kinds(images, ["encoder", "pixels"])


@pytest.mark.parametrize("kind", ["encoder", "fusion"])
def test_test_feature_key_picks_what_evaluation_ranks_with(kind):
    model = rae_model("RAE.TEST_FEATURE", kind).eval()
    images = batch(3, size=CONFIG_SIZE)["images"]
    assert torch.equal(model(images), model.extract_features(images, kind=kind))
    assert model(images).shape == (6, model.feat_dim if kind == "encoder" else 128)


def test_decoder_reconstructs_half_size_images_in_tanh_range():
    model = rae_model()
    maps = model.encode(model.pixel_space.normalize(batch(3, size=CONFIG_SIZE)["images"]))
    with torch.no_grad():
        model.decoder[-2].weight.mul_(100)  # the last transposed conv: saturate, tanh must bound it
    reconstructed = model.decode(maps)
    assert reconstructed.shape == (6, 3, CONFIG_SIZE[0] // 2, CONFIG_SIZE[1] // 2)
    assert reconstructed.min() >= -1 and reconstructed.max() <= 1
    assert reconstructed.abs().max() > 0.99


def test_loss_weights_come_from_config():
    base = rae_model()(source_batch(), target_batch())
    heavier = rae_model("RAE.LOSS.LAMBDA_TRI", 2.0, "RAE.LOSS.LAMBDA_FEAT_GAN", 20.0,
                        "RAE.LOSS.LAMBDA_PIX_GAN", 5.0)(source_batch(), target_batch())
    for key, factor in [("loss_triplet_source", 2), ("loss_fusion_triplet_target", 2), ("loss_feat_gan", 2),
                        ("loss_pix_gan_source", 0.5), ("loss_pix_gan_target", 0.5), ("loss_cls_source", 1),
                        ("loss_reconst_target", 1)]:
        torch.testing.assert_close(heavier[key], base[key] * factor)


# ---- switches & config errors -----------------------------------------------------------

@pytest.mark.parametrize("opts, absent_modules, absent_losses", [
    (["RAE.FEATURE_TRANSFER.ENABLED", False], {"feature_discriminator"}, {"loss_feat_gan", "loss_feat_dis"}),
    (["RAE.FUSION.ENABLED", False], {"fusion"}, {k for k in ALL_GENERATOR_KEYS if "fusion" in k}),
    (["RAE.FUSION.ENABLED", False, "RAE.PIXEL_TRANSFER.ENABLED", False],
     {"fusion", "decoder", "pixel_discriminator"},
     {k for k in ALL_GENERATOR_KEYS if "fusion" in k or "reconst" in k or "pix" in k} | {"loss_pix_dis"}),
])
def test_switched_off_module_has_no_parameters_and_no_losses(opts, absent_modules, absent_losses):
    model = rae_model(*opts)
    names = {name.split(".")[0] for name, _ in model.named_parameters()}
    assert not names & absent_modules
    assert all(getattr(model, m) is None for m in absent_modules)
    losses = {**model(source_batch(), target_batch()), **model.discriminator_losses()}
    assert not set(losses) & absent_losses
    assert set(losses) | absent_losses == ALL_GENERATOR_KEYS | {"loss_feat_dis", "loss_pix_dis"}


def test_baseline_row_is_encoder_only_and_evaluates_like_fastreid_baseline():
    model = rae_model("RAE.FEATURE_TRANSFER.ENABLED", False, "RAE.PIXEL_TRANSFER.ENABLED", False,
                      "RAE.FUSION.ENABLED", False)
    assert {name.split(".")[0] for name, _ in model.named_parameters()} == {"backbone", "heads"}
    model.eval()
    images = source_batch()["images"]
    expected = model.heads.bottleneck(model.backbone((images - model.pixel_space.pixel_mean)
                                                      / model.pixel_space.pixel_std).mean((2, 3), keepdim=True))
    torch.testing.assert_close(model(images), expected[..., 0, 0])


@pytest.mark.parametrize("opts, error, key", [
    (["RAE.FUSION.ENABLED", True, "RAE.PIXEL_TRANSFER.ENABLED", False], ValueError, "RAE.PIXEL_TRANSFER.ENABLED"),
    (["RAE.PIXEL_TRANSFER.MODE", "both"], ValueError, "RAE.PIXEL_TRANSFER.MODE"),
    # PT-hat with fusion fuses F with Enc(G_t2s(I)): it needs the translator checkpoint
    (["RAE.PIXEL_TRANSFER.MODE", "pre"], ValueError, "RAE.TRANSLATOR.WEIGHTS"),
    (["RAE.PIXEL_TRANSFER.DECODER.NAME", "UNet"], KeyError, "RAE.PIXEL_TRANSFER.DECODER.NAME"),
    (["RAE.FEATURE_TRANSFER.DISCRIMINATOR.NAME", "PatchGAN"], KeyError, "RAE.FEATURE_TRANSFER.DISCRIMINATOR.NAME"),
    (["RAE.GAN.LOSS", "wgan"], KeyError, "RAE.GAN.LOSS"),
    (["RAE.FUSION.NAME", "ConcatFusion"], KeyError, "RAE.FUSION.NAME"),
    (["MODEL.HEADS.NAME", "EmbeddingHead"], ValueError, "MODEL.HEADS.NAME"),
    (["RAE.PIXEL_TRANSFER.DECODER.CHANNELS", [64, 32, 16]], ValueError, "RAE.PIXEL_TRANSFER.DECODER.CHANNELS"),
    (["RAE.TEST_FEATURE", "fused"], ValueError, "RAE.TEST_FEATURE"),
    (["RAE.TEST_FEATURE", "fusion", "RAE.FUSION.ENABLED", False], ValueError, "RAE.TEST_FEATURE"),
])
def test_invalid_config_is_rejected_naming_the_key(opts, error, key):
    with pytest.raises(error, match=key.replace(".", r"\.")):
        build_model(rae_cfg(*opts))


def test_pre_mode_is_accepted_while_pixel_transfer_is_off():
    model = build_model(rae_cfg("RAE.PIXEL_TRANSFER.MODE", "pre", "RAE.PIXEL_TRANSFER.ENABLED", False,
                                "RAE.FUSION.ENABLED", False))
    assert model.decoder is None


def test_feat_dim_mismatch_names_the_key():
    model = rae_model("MODEL.BACKBONE.FEAT_DIM", 256, "RAE.FUSION.ENABLED", False,
                      "RAE.PIXEL_TRANSFER.ENABLED", False, "RAE.FEATURE_TRANSFER.ENABLED", False)
    with pytest.raises(ValueError, match=r"MODEL\.BACKBONE\.FEAT_DIM is 256 .* outputs 512"):
        model(source_batch())


# ---- source-only batches, discriminator step protocol -----------------------------------

def test_source_only_batch_drops_target_and_feature_gan_terms():
    model = rae_model(target_ids=0)
    losses = model(source_batch())
    assert set(losses) == {k for k in ALL_GENERATOR_KEYS if k.endswith("source")}
    assert set(model.discriminator_losses()) == {"loss_pix_dis"}


def test_target_batch_needs_a_sized_target_classifier():
    model = rae_model(target_ids=0)
    with pytest.raises(RuntimeError, match="reset_target_classifier"):
        model(source_batch(), target_batch())


def test_discriminator_losses_need_a_fresh_generator_pass():
    model = rae_model()
    with pytest.raises(RuntimeError, match="training forward"):
        model.discriminator_losses()
    model(source_batch(), target_batch())
    model.discriminator_losses()
    with pytest.raises(RuntimeError, match="training forward"):
        model.discriminator_losses()


@pytest.mark.parametrize("pixel_transfer_updates_encoder, passes", [
    (True, ["backbone", "decoder", "backbone"]),  # Enc(I), Dec(F), Enc(I^x2s)
    # Dec(F.detach()) for its own terms, Dec(F) for the fusion's (the CPU configs)
    (False, ["backbone", "decoder", "decoder", "backbone"]),
])
def test_discriminator_losses_reuse_the_generator_pass_without_running_the_encoder(
        pixel_transfer_updates_encoder, passes):
    model = rae_model("RAE.PIXEL_TRANSFER.UPDATE_ENCODER", pixel_transfer_updates_encoder)
    calls = []
    model.backbone.register_forward_hook(lambda *_: calls.append("backbone"))
    model.decoder.register_forward_hook(lambda *_: calls.append("decoder"))
    model(source_batch(), target_batch())
    assert calls == passes
    calls.clear()
    model.discriminator_losses()
    assert calls == []


@pytest.mark.parametrize("pixel_transfer_updates_encoder", [True, False])
def test_one_generator_pass_updates_each_running_statistic_once(pixel_transfer_updates_encoder):
    """However many times Enc and Dec run in a step (Dec twice when the keys differ, Enc again
    on I^x2s), their BN running statistics move once per step, at the configured momentum."""
    model = rae_model("RAE.PIXEL_TRANSFER.UPDATE_ENCODER", pixel_transfer_updates_encoder)
    model(source_batch(), target_batch())
    for part in (model.backbone, model.decoder):
        counts = {int(m.num_batches_tracked) for m in part.modules() if isinstance(m, nn.BatchNorm2d)}
        assert counts == {1}


# ---- which parameters each loss trains (docs/design.md, "Which gradients reach Enc") -----

def trained_modules(model, loss):
    """Top-level module names (heads' classifiers told apart) whose parameters get a non-zero
    gradient from ``loss``."""
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    grads = torch.autograd.grad(loss, [p for _, p in named], retain_graph=True, allow_unused=True)
    reached = set()
    for (name, _), grad in zip(named, grads):
        if grad is not None and grad.abs().sum() > 0:
            part = name.split(".")[0]
            if name in ("heads.weight", "heads.target_classifier.weight"):
                part = name
            reached.add(part)
    return reached


@pytest.fixture(scope="module")
def full_step():
    # the default (docs/design.md, "Which gradients reach Enc"), which the paper configs keep
    # (the CPU configs cut Dec's gradient to Enc)
    model = rae_model("RAE.PIXEL_TRANSFER.UPDATE_ENCODER", True)
    losses = model(source_batch(), target_batch())
    return model, losses, model.discriminator_losses()


@pytest.mark.parametrize("loss_name, expected", [
    ("loss_cls_source", {"backbone", "heads", "heads.weight"}),
    ("loss_cls_target", {"backbone", "heads", "heads.target_classifier.weight"}),
    ("loss_triplet_target", {"backbone"}),  # triplet on pool5 (NECK_FEAT before)
    ("loss_feat_gan", {"backbone"}),  # Eq. (8): Enc only, Dis_f frozen
    ("loss_reconst_source", {"backbone", "decoder"}),
    ("loss_reconst_target", {"backbone", "decoder"}),
    ("loss_pix_gan_source", {"backbone", "decoder"}),  # Dis_p frozen
    ("loss_pix_gan_target", {"backbone", "decoder"}),  # Eq. (16)
    ("loss_fusion_cls_source", {"backbone", "decoder", "fusion"}),
    ("loss_fusion_triplet_target", {"backbone", "decoder", "fusion"}),
])
def test_generator_loss_trains_exactly(full_step, loss_name, expected):
    model, losses, _ = full_step
    assert trained_modules(model, losses[loss_name]) == expected


@pytest.mark.parametrize("loss_name, expected", [
    ("loss_feat_dis", {"feature_discriminator"}),
    ("loss_pix_dis", {"pixel_discriminator"}),
])
def test_discriminator_loss_trains_only_its_discriminator(full_step, loss_name, expected):
    model, _, dis_losses = full_step
    assert trained_modules(model, dis_losses[loss_name]) == expected


@pytest.mark.parametrize("pixel, fusion", [(False, False), (False, True), (True, False)])
def test_update_encoder_false_keeps_that_module_gradients_out_of_the_encoder(pixel, fusion):
    model = rae_model("RAE.PIXEL_TRANSFER.UPDATE_ENCODER", pixel, "RAE.FUSION.UPDATE_ENCODER", fusion)
    losses = model(source_batch(), target_batch())
    encoder_if = lambda flag: {"backbone"} if flag else set()  # noqa: E731
    assert trained_modules(model, losses["loss_reconst_target"]) == {"decoder"} | encoder_if(pixel)
    assert trained_modules(model, losses["loss_pix_gan_source"]) == {"decoder"} | encoder_if(pixel)
    assert trained_modules(model, losses["loss_fusion_cls_target"]) == {"decoder", "fusion"} | encoder_if(fusion)


@pytest.mark.parametrize("pixel_gan", [True, False])
def test_decoder_pretraining_trains_dec_alone_with_or_without_the_pixel_gan(pixel_gan):
    model = rae_model("RAE.SOURCE_PRETRAIN.DECODER_PIXEL_GAN", pixel_gan)
    losses = model(source_batch(), stage="decoder")
    assert sorted(losses) == ["loss_pix_gan_source", "loss_reconst_source"][not pixel_gan:]
    for loss in losses.values():
        assert trained_modules(model, loss) == {"decoder"}  # Enc frozen
    # Dis_p trains on Dec's output only when Dec is trained against it
    assert sorted(model.discriminator_losses()) == (["loss_pix_dis"] if pixel_gan else [])
    # the adaptation keeps Eq. (14)'s GAN term either way
    assert "loss_pix_gan_target" in model(source_batch(), target_batch())


@pytest.mark.parametrize("pixel, fusion", [(False, True), (True, True), (False, False)])
def test_fusion_update_decoder_false_leaves_dec_to_its_own_terms(pixel, fusion):
    model = rae_model("RAE.PIXEL_TRANSFER.UPDATE_ENCODER", pixel, "RAE.FUSION.UPDATE_ENCODER", fusion,
                      "RAE.FUSION.UPDATE_DECODER", False)
    losses = model(source_batch(), target_batch())
    encoder_if = lambda flag: {"backbone"} if flag else set()  # noqa: E731
    # the fusion's gradient still passes through Dec into F (and so into Enc) when told to
    for name in ("loss_fusion_cls_source", "loss_fusion_triplet_target"):
        assert trained_modules(model, losses[name]) == {"fusion"} | encoder_if(fusion)
    assert trained_modules(model, losses["loss_reconst_source"]) == {"decoder"} | encoder_if(pixel)
    assert trained_modules(model, losses["loss_pix_gan_target"]) == {"decoder"} | encoder_if(pixel)
    counts = {int(m.num_batches_tracked) for m in model.decoder.modules() if isinstance(m, nn.BatchNorm2d)}
    assert counts == {1}


def second_pass_statistics(model):
    return [dict(layer.named_buffers()) for layer in model.second_pass_norm.layers.values()]


@pytest.mark.parametrize("fusion_updates_encoder", [True, False])
def test_second_pass_keeps_enc_statistics_for_real_images_and_its_own_for_reconstructions(fusion_updates_encoder):
    model = rae_model("RAE.FUSION.UPDATE_ENCODER", fusion_updates_encoder)
    source, target = source_batch(), target_batch()
    images = torch.cat([source["images"], target["images"]])
    before = {name: b.clone() for name, b in model.backbone.named_buffers()}
    losses = model(source, target)
    # the fusion loss still trains Enc when told to
    assert ("backbone" in trained_modules(model, losses["loss_fusion_cls_target"])) == fusion_updates_encoder
    after = {name: b.clone() for name, b in model.backbone.named_buffers()}
    # Enc's statistics are those one pass over the real batch gives, from the same start
    model.backbone.load_state_dict(before, strict=False)
    model.backbone(model.pixel_space.normalize(images))
    assert all(torch.equal(after[name], b) for name, b in model.backbone.named_buffers())
    # the second pass moved its own, seeded from Enc's after the real pass: one update more
    assert bool(model.second_pass_norm.seeded)
    own = second_pass_statistics(model)
    assert {int(layer["num_batches_tracked"]) for layer in own} == {int(after["bn1.num_batches_tracked"]) + 1}
    assert not torch.allclose(own[0]["running_mean"], after["bn1.running_mean"])


def test_second_pass_statistics_make_test_mode_match_training_on_generated_images():
    model = rae_model()
    # low-contrast inputs, as Dec's reconstructions are: far from the real images' statistics
    generated = model.pixel_space.normalize(batch(NUM_SOURCE_IDS, size=CONFIG_SIZE)["images"]) * 0.1 + 0.3
    with torch.no_grad():
        for _ in range(200):  # momentum 0.1: the running statistics converge to this batch's
            train_mode = model.second_pass(generated)
        model.eval()
        test_mode = model.second_pass(generated)
        enc_statistics = model.encode(generated)

    def agreement(maps):
        return F.cosine_similarity(maps.mean((2, 3)), train_mode.mean((2, 3))).min()

    # not exactly 1: BN keeps the unbiased variance of a small batch
    assert agreement(test_mode) > 0.99
    assert agreement(enc_statistics) < 0.9  # what Algorithm 2 computed before


def test_second_pass_uses_enc_statistics_until_trained_then_seeds_from_the_loaded_encoder():
    model = rae_model().eval()
    images = model.pixel_space.normalize(source_batch()["images"])
    with torch.no_grad():
        assert torch.equal(model.second_pass(images), model.encode(images))
    assert not bool(model.second_pass_norm.seeded)
    # a source model loaded after construction (MODEL.WEIGHTS) seeds the second pass at its start
    model.backbone.bn1.running_mean.fill_(0.25)
    model.train()
    with model.second_pass_norm.applied_to(model.backbone):
        pass
    assert torch.equal(second_pass_statistics(model)[0]["running_mean"], model.backbone.bn1.running_mean)
    assert any(key.startswith("second_pass_norm.layers.") for key in model.state_dict())


def test_param_groups_partition_the_parameters():
    model = rae_model()
    groups = model.param_groups()
    assert set(groups) == {"encoder", "heads", "others", "discriminators"}
    ids = [id(p) for params in groups.values() for p in params]
    assert len(ids) == len(set(ids)) == len(list(model.parameters()))
    assert {id(p) for p in groups["encoder"]} == {id(p) for p in model.backbone.parameters()}
    assert {id(p) for p in groups["heads"]} == {id(p) for p in model.heads.parameters()}
    discriminators = [*model.feature_discriminator.parameters(), *model.pixel_discriminator.parameters()]
    assert {id(p) for p in groups["discriminators"]} == {id(p) for p in discriminators}


# ---- Algorithm 2, by hand -----------------------------------------------------------------

def bn_eval(x, bn):
    return (x - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias


def test_eval_feature_is_algorithm2_recomputed_by_hand():
    model = rae_model()
    for seed in range(2):  # non-trivial BN running statistics everywhere
        model(source_batch(seed), target_batch(seed + 1))
    model.eval()
    fusion_bn = model.fusion.head.bottleneck[0]
    fusion_bn.running_mean.normal_()
    fusion_bn.running_var.uniform_(0.5, 2)

    images = batch(3, seed=7)["images"]
    mean, std = model.pixel_space.pixel_mean, model.pixel_space.pixel_std
    with torch.no_grad():
        f_t = model.backbone((images - mean) / std)  # 1. F^t = Enc(I^t)
        i_t2s = model.decoder(f_t)  # 2. I^t2s = Dec(F^t)
        pixels = (F.interpolate(i_t2s, size=SIZE, mode="bilinear", align_corners=False) + 1) * 127.5
        second_pass = copy.deepcopy(model.backbone)  # 3. F^t2s = Enc(I^t2s), with the pass's own BN statistics
        for name, norm in second_pass.named_modules():
            if isinstance(norm, nn.BatchNorm2d):
                own = model.second_pass_norm.layers[name.replace(".", "__")]
                norm.running_mean.copy_(own.running_mean)
                norm.running_var.copy_(own.running_var)
        f_t2s = second_pass((pixels - mean) / std)
        pooling = model.fusion.pooling
        u = pooling.left_projection.weight[:, :, 0, 0]
        v = pooling.right_projection.weight[:, :, 0, 0]
        q = pooling.output_projection.weight.t()
        # 4. Eq. (19) at every location, then 5. GAP (Eq. (20))
        joint = torch.einsum("cd,nchw->ndhw", u.t(), f_t) * torch.einsum("cd,nchw->ndhw", v.t(), f_t2s)
        per_location = torch.einsum("do,ndhw->nohw", q, joint)
        expected = bn_eval(F.normalize(per_location.mean((2, 3))), fusion_bn)  # RAE.FUSION.NORMALIZATION l2
    torch.testing.assert_close(model(images), expected, rtol=1e-4, atol=1e-4)


# ---- target classifier & checkpoints ------------------------------------------------------

def test_reset_target_classifier_keeps_parameters_and_uses_normalised_centres():
    model = rae_model(target_ids=0)
    params = model.target_classifier_parameters()
    assert [tuple(p.shape) for p in params] == [(0, 512), (0, 128)]
    centers, fusion_centers = torch.randn(5, 512), torch.randn(5, 128)
    model.reset_target_classifier(5, centers, fusion_centers)
    assert [p is q for p, q in zip(params, model.target_classifier_parameters())] == [True, True]
    torch.testing.assert_close(params[0].data, F.normalize(centers))
    torch.testing.assert_close(params[1].data, F.normalize(fusion_centers))
    assert any(params[0] is p for p in model.param_groups()["heads"])
    assert any(params[1] is p for p in model.param_groups()["others"])
    with pytest.raises(ValueError, match=r"\(5, 512\)"):
        model.reset_target_classifier(5, torch.randn(4, 512))


def test_checkpoint_round_trips_through_fastreid_checkpointer_after_resize(tmp_path):
    model = rae_model(target_ids=0)
    model(source_batch())  # move BN statistics away from their initial values
    model.reset_target_classifier(7, torch.randn(7, 512))
    model.eval()
    Checkpointer(model, str(tmp_path)).save("rae")

    restored = rae_model(target_ids=0, seed=1).eval()
    Checkpointer(restored, str(tmp_path)).load(str(tmp_path / "rae.pth"))
    saved_state, restored_state = model.state_dict(), restored.state_dict()
    assert set(saved_state) == set(restored_state)
    assert "heads.target_classifier.weight" in restored_state
    for key, value in saved_state.items():
        assert torch.equal(value, restored_state[key]), key
    images = source_batch()["images"]
    torch.testing.assert_close(restored(images), model(images))
    restored.train()
    assert set(restored(source_batch(), target_batch())) == ALL_GENERATOR_KEYS  # 7 target classes usable


def test_checkpoint_before_pseudo_labelling_loads_without_missing_keys(tmp_path):
    model = rae_model(target_ids=0)
    Checkpointer(model, str(tmp_path)).save("fresh")
    state = torch.load(tmp_path / "fresh.pth")["model"]
    assert not any("target_classifier" in key for key in state)
    restored = rae_model(target_ids=0, seed=1)
    result = restored.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys


def test_plain_load_state_dict_resizes_a_differently_sized_target_classifier():
    model = rae_model(target_ids=9)
    other = rae_model(target_ids=3, seed=1)
    other.load_state_dict(model.state_dict())
    assert torch.equal(other.heads.target_classifier.weight, model.heads.target_classifier.weight)
    assert other.heads.target_classifier.cls_layer.num_classes == 9


# ---- it learns ----------------------------------------------------------------------------

def test_a_few_sgd_steps_reduce_the_identity_and_fusion_losses():
    # GAN weights 0 (the modules stay): adversarial terms make short-run trends seed-dependent
    model = rae_model("RAE.LOSS.LAMBDA_FEAT_GAN", 0.0, "RAE.LOSS.LAMBDA_PIX_GAN", 0.0)
    groups = model.param_groups()
    generator_opt = torch.optim.SGD(groups["encoder"] + groups["heads"] + groups["others"], lr=0.01, momentum=0.9)
    discriminator_opt = torch.optim.SGD(groups["discriminators"], lr=0.01, momentum=0.9)
    source, target = source_batch(), target_batch()
    history = []
    for _ in range(8):
        losses = model(source, target)
        generator_opt.zero_grad()
        sum(losses.values()).backward()
        generator_opt.step()
        discriminator_opt.zero_grad()
        sum(model.discriminator_losses().values()).backward()
        discriminator_opt.step()
        history.append({k: v.item() for k, v in losses.items()})
    assert all(torch.isfinite(torch.tensor(list(h.values()))).all() for h in history)
    for key in ("loss_cls_source", "loss_cls_target", "loss_fusion_cls_source", "loss_fusion_cls_target"):
        assert history[-1][key] < 0.5 * history[0][key], key


def test_decoder_learns_to_reconstruct_from_the_reconstruction_loss_alone():
    model = rae_model("RAE.FUSION.ENABLED", False, "RAE.FEATURE_TRANSFER.ENABLED", False)
    optimizer = torch.optim.SGD(model.decoder.parameters(), lr=0.1, momentum=0.9)
    source, target = source_batch(), target_batch()
    history = []
    for _ in range(5):
        losses = model(source, target)
        reconstruction = losses["loss_reconst_source"] + losses["loss_reconst_target"]
        optimizer.zero_grad()
        reconstruction.backward()
        optimizer.step()
        history.append(reconstruction.item())
    assert history[-1] < 0.8 * history[0]
