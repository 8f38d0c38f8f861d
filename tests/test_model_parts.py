"""RAE's parts one at a time, each against a computation written out by hand: the bilinear
fusion of Eq. (19)-(20), the GAN / reconstruction / identity losses, the pixel spaces, the
decoder and discriminator shapes, the encoder head's dropout placement, the resizable
target classifier."""
import math

import pytest
import torch
import torch.nn.functional as F

import fastreid_rae.modeling  # noqa: F401  (registers RAE's parts)
from fastreid.modeling.backbones import BACKBONE_REGISTRY
from fastreid_rae.modeling import (
    FactorizedBilinearPooling, LeastSquaresGANLoss, NonSaturatingGANLoss, PixelSpace, RAEEmbeddingHead,
    ResizableClassifier, StridedConvDiscriminator, TransposedConvDecoder,
)
from fastreid_rae.modeling.losses import build_reconstruction_loss, identity_losses, l2_norm, mse

from .test_model import rae_cfg


# ---- Eq. (19)-(20) --------------------------------------------------------------------------

def bilinear_by_hand(pooling, first, second):
    """z = mean over locations of Q^T (U^T f1 o V^T f2), with explicit loops."""
    u = pooling.left_projection.weight[:, :, 0, 0].t()  # c x d
    v = pooling.right_projection.weight[:, :, 0, 0].t()  # c x d
    q = pooling.output_projection.weight.t()  # d x o
    n, c, h, w = first.shape
    out = torch.zeros(n, q.shape[1])
    for i in range(n):
        for y in range(h):
            for x in range(w):
                f1, f2 = first[i, :, y, x], second[i, :, y, x]
                joint = torch.stack([(u[:, k] * f1).sum() * (v[:, k] * f2).sum() for k in range(u.shape[1])])
                out[i] += torch.stack([(q[:, j] * joint).sum() for j in range(q.shape[1])])
    return out / (h * w)


def test_factorized_bilinear_pooling_is_eq19_at_every_location_then_gap():
    torch.manual_seed(0)
    pooling = FactorizedBilinearPooling(in_channels=3, rank=2, out_dim=4, normalization="none")
    first, second = torch.randn(2, 3, 2, 3), torch.randn(2, 3, 2, 3)
    with torch.no_grad():
        torch.testing.assert_close(pooling(first, second), bilinear_by_hand(pooling, first, second))
        # it is bilinear: scaling either input scales z
        torch.testing.assert_close(pooling(2 * first, 3 * second), 6 * pooling(first, second))


@pytest.mark.parametrize("normalization, expected", [
    ("l2", lambda z: z / z.norm(dim=1, keepdim=True)),
    ("power_l2", lambda z: (z.sign() * z.abs().sqrt()) / (z.abs().sqrt()).norm(dim=1, keepdim=True)),
])
def test_fused_feature_normalisation(normalization, expected):
    torch.manual_seed(0)
    raw = FactorizedBilinearPooling(3, 2, 4, "none")
    normalised = FactorizedBilinearPooling(3, 2, 4, normalization)
    normalised.load_state_dict(raw.state_dict())
    first, second = torch.randn(2, 3, 2, 3), torch.randn(2, 3, 2, 3)
    with torch.no_grad():
        torch.testing.assert_close(normalised(first, second), expected(raw(first, second)))


def test_unknown_fused_feature_normalisation_names_the_key():
    with pytest.raises(ValueError, match=r"RAE\.FUSION\.NORMALIZATION"):
        FactorizedBilinearPooling(3, 2, 4, "batch")


# ---- losses ----------------------------------------------------------------------------------

def test_non_saturating_gan_loss_by_hand():
    loss = NonSaturatingGANLoss()
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    sigmoid = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    generator = -(math.log(sigmoid(0.5)) + math.log(sigmoid(-3.0))) / 2
    discriminator = (-(math.log(sigmoid(2.0)) + math.log(sigmoid(-1.0))) / 2
                     - (math.log(1 - sigmoid(0.5)) + math.log(1 - sigmoid(-3.0))) / 2)
    assert loss.generator(fake).item() == pytest.approx(generator, rel=1e-6)
    assert loss.discriminator(real, fake).item() == pytest.approx(discriminator, rel=1e-6)


def test_least_squares_gan_loss_by_hand():
    loss = LeastSquaresGANLoss()
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    assert loss.generator(fake).item() == pytest.approx(((0.5 - 1) ** 2 + (-3 - 1) ** 2) / 2)
    assert loss.discriminator(real, fake).item() == pytest.approx(
        ((2 - 1) ** 2 + (-1 - 1) ** 2) / 2 + (0.5 ** 2 + 3.0 ** 2) / 2)


def test_reconstruction_losses_by_hand():
    reconstructed, target = torch.zeros(2, 3, 2, 2), torch.zeros(2, 3, 2, 2)
    target[0, 0, 0, 0], target[0, 1, 0, 1] = 0.6, 0.8  # image 0: norm 1
    target[1, 2, 1, 1] = -0.5  # image 1: norm 0.5
    assert l2_norm(reconstructed, target).item() == pytest.approx((1.0 + 0.5) / 2)
    assert mse(reconstructed, target).item() == pytest.approx((0.36 + 0.64 + 0.25) / 24)
    # a perfect reconstruction has a zero gradient, not a NaN one (the norm's kink at 0)
    perfect = target.clone().requires_grad_(True)
    l2_norm(perfect, target).backward()
    assert torch.equal(perfect.grad, torch.zeros_like(target))


@pytest.mark.parametrize("name, expected", [("l2_norm", l2_norm), ("mse", mse)])
def test_the_reconstruction_loss_is_chosen_by_its_key(name, expected):
    cfg = rae_cfg("RAE.PIXEL_TRANSFER.RECONSTRUCTION_LOSS", name)
    assert build_reconstruction_loss(cfg) is expected


def test_an_unknown_reconstruction_loss_names_its_key():
    cfg = rae_cfg("RAE.PIXEL_TRANSFER.RECONSTRUCTION_LOSS", "l1")
    with pytest.raises(KeyError, match=r"RAE.PIXEL_TRANSFER.RECONSTRUCTION_LOSS = 'l1'.*'l2_norm', 'mse'"):
        build_reconstruction_loss(cfg)


def test_identity_losses_by_hand():
    # two identities, two samples each, 1-d features; batch-hard triplet, margin 0.3
    features = torch.tensor([[0.0], [1.0], [3.0], [3.5]])
    labels = torch.tensor([0, 0, 1, 1])
    logits = torch.tensor([[2.0, 0.0], [1.0, 1.0], [0.0, 3.0], [0.5, 0.0]])
    kwargs = {"ce": {"eps": 0.0, "alpha": 0.2}, "tri": {"margin": 0.3, "norm_feat": False, "hard_mining": True}}
    losses = identity_losses(logits, features, labels, loss_kwargs=kwargs, lambda_tri=2.0)
    ce = -(F.log_softmax(logits, 1)[torch.arange(4), labels]).mean()
    # (hardest positive, hardest negative) per anchor: (1, 3), (1, 2), (0.5, 2), (0.5, 2.5)
    triplet = sum(max(0.0, 0.3 + ap - an) for ap, an in [(1, 3), (1, 2), (0.5, 2), (0.5, 2.5)]) / 4
    assert losses["cls"].item() == pytest.approx(ce.item(), rel=1e-5)
    assert losses["triplet"].item() == pytest.approx(2.0 * triplet, abs=1e-5)


# ---- pixel spaces ----------------------------------------------------------------------------

def test_pixel_space_maps_loader_images_to_tanh_range_and_back():
    space = PixelSpace([100.0, 110.0, 120.0], [50.0, 55.0, 60.0], 255.0)
    images = torch.rand(2, 3, 8, 4) * 255
    images[0, :, 0, 0], images[1, :, 0, 0] = 0.0, 255.0
    in_range = space.to_decoder_space(images, (8, 4))
    assert in_range[0, :, 0, 0].tolist() == [-1.0, -1.0, -1.0]
    assert in_range[1, :, 0, 0].tolist() == [1.0, 1.0, 1.0]
    torch.testing.assert_close(space.decoder_output_to_encoder_input(in_range, (8, 4)),
                               (images - space.pixel_mean) / space.pixel_std)
    assert space.to_decoder_space(images, (4, 2)).shape == (2, 3, 4, 2)
    assert space.decoder_output_to_encoder_input(in_range[..., :4, :2], (8, 4)).shape == (2, 3, 8, 4)


def test_half_size_target_of_a_flat_image_is_flat():
    space = PixelSpace([0.0, 0.0, 0.0], [1.0, 1.0, 1.0], 255.0)
    flat = torch.full((1, 3, 16, 8), 63.75)  # 0.25 of white
    torch.testing.assert_close(space.to_decoder_space(flat, (8, 4)), torch.full((1, 3, 8, 4), -0.5))


# ---- decoder & discriminators ----------------------------------------------------------------

@pytest.mark.parametrize("kernel_size", [3, 4, 5])
def test_decoder_has_three_doubling_layers_bn_relu_but_last_and_tanh(kernel_size):
    decoder = TransposedConvDecoder(in_channels=8, channels=[6, 4], kernel_size=kernel_size, norm="BN")
    convs = [m for m in decoder if isinstance(m, torch.nn.ConvTranspose2d)]
    assert len(convs) == 3 and [c.stride for c in convs] == [(2, 2)] * 3
    assert [type(m).__name__ for m in decoder] == [
        "ConvTranspose2d", "BatchNorm", "ReLU", "ConvTranspose2d", "BatchNorm", "ReLU", "ConvTranspose2d", "Tanh"]
    assert decoder(torch.randn(2, 8, 3, 2)).shape == (2, 3, 24, 16)


def test_discriminator_is_three_strided_convs_and_one_logit_at_any_size():
    discriminator = StridedConvDiscriminator(in_channels=5, channels=[4, 6, 8], kernel_size=3, negative_slope=0.2)
    convs = [m for m in discriminator.convs if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 3 and all(c.stride == (2, 2) for c in convs)
    assert sum(isinstance(m, torch.nn.LeakyReLU) for m in discriminator.convs) == 3
    for size in [(1, 1), (2, 1), (16, 8)]:
        assert discriminator(torch.randn(3, 5, *size)).shape == (3,)
    with pytest.raises(ValueError, match="CHANNELS"):
        StridedConvDiscriminator(in_channels=5, channels=[4, 6], kernel_size=3, negative_slope=0.2)


# ---- encoder head & target classifier ------------------------------------------------------

def make_head(dropout=0.5):
    torch.manual_seed(0)
    return RAEEmbeddingHead(
        dropout=dropout, feat_dim=16, embedding_dim=0, num_classes=3, neck_feat="before",
        pool_type="GlobalAvgPool", cls_type="Linear", scale=1, margin=0.0, with_bnneck=True, norm_type="BN",
    )


def test_head_drops_only_the_classifier_path():
    head = make_head().train()
    head.reset_target_classifier(2)
    maps = torch.randn(6, 16, 4, 2)
    labels = {"source": torch.tensor([0, 1, 2, 0]), "target": torch.tensor([0, 1])}
    torch.manual_seed(1)
    first = head(maps, labels)
    torch.manual_seed(2)
    second = head(maps, labels)
    for domain in labels:  # pool5 triplet feature: no dropout
        torch.testing.assert_close(first["features"][domain], second["features"][domain])
    assert not torch.allclose(first["cls_outputs"]["source"], second["cls_outputs"]["source"])
    assert first["cls_outputs"]["source"].shape == (4, 3) and first["cls_outputs"]["target"].shape == (2, 2)
    torch.testing.assert_close(first["features"]["source"], maps[:4].mean((2, 3)))

    no_dropout = make_head(dropout=0.0).train()
    no_dropout.reset_target_classifier(2)
    a, b = no_dropout(maps, labels), no_dropout(maps, labels)
    torch.testing.assert_close(a["cls_outputs"]["target"], b["cls_outputs"]["target"])


def test_head_eval_returns_bn_necked_pooled_feature():
    head = make_head().eval()
    maps = torch.randn(3, 16, 4, 2)
    bn = head.bottleneck[0]
    pooled = maps.mean((2, 3))
    expected = (pooled - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias
    torch.testing.assert_close(head(maps), expected)


def test_resizable_classifier_random_reset_and_empty_error():
    classifier = ResizableClassifier(32, "Linear", 1, 0.0)
    with pytest.raises(RuntimeError, match="reset_target_classifier"):
        classifier(torch.randn(2, 32), torch.tensor([0, 0]))
    torch.manual_seed(0)
    classifier.reset(500)
    assert classifier.weight.shape == (500, 32)
    assert classifier.weight.std().item() == pytest.approx(0.01, rel=0.05)
    assert classifier(torch.randn(4, 32), torch.tensor([0, 1, 2, 3]))["cls_outputs"].shape == (4, 500)


# ---- ShuffleNetV2 with a last stride (a faster, optional CPU backbone) ------------------------

def shufflenet(name, last_stride, seed=0):
    cfg = rae_cfg("MODEL.BACKBONE.NAME", name, "MODEL.BACKBONE.DEPTH", "0.5x",
                  "MODEL.BACKBONE.LAST_STRIDE", last_stride)
    torch.manual_seed(seed)
    return BACKBONE_REGISTRY.get(name)(cfg).eval()


def test_shufflenet_last_stride_1_halves_only_the_last_downsampling_of_fastreids_network():
    images = torch.randn(2, 3, 64, 32)
    ours = shufflenet("build_shufflenetv2_last_stride_backbone", 1)
    fastreids = shufflenet("build_shufflenetv2_backbone", 1)  # fastreid's ignores LAST_STRIDE
    assert ours(images).shape == (2, 1024, 4, 2)  # input / 16, what Dec and the CPU configs expect
    assert fastreids(images).shape == (2, 1024, 2, 1)  # input / 32
    ours.load_state_dict(fastreids.state_dict())  # strict: the same weights, only a stride differs
    with torch.no_grad():
        torch.testing.assert_close(shufflenet("build_shufflenetv2_last_stride_backbone", 2)(images),
                                   fastreids(images))


def test_shufflenet_rejects_a_last_stride_it_cannot_build():
    with pytest.raises(ValueError, match="MODEL.BACKBONE.LAST_STRIDE must be 1 or 2"):
        shufflenet("build_shufflenetv2_last_stride_backbone", 4)
