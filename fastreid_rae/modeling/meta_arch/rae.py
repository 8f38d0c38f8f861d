"""The RAE meta-architecture (Sec. III, Algorithms 1 and 2)."""
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Union

import torch
from fastreid.config import configurable
from fastreid.modeling.backbones import build_backbone
from fastreid.modeling.heads import REID_HEADS_REGISTRY, build_heads
from fastreid.modeling.meta_arch import META_ARCH_REGISTRY
from torch import nn

from ..decoder import build_decoder
from ..discriminators import build_feature_discriminator, build_pixel_discriminator
from ..heads import RAEEmbeddingHead
from ..losses import build_gan_loss, build_reconstruction_loss, identity_loss_kwargs, identity_losses
from ..partial_updates import call_with_updates, frozen
from ..pixels import PixelSpace
from ..registry import PRE_PIXEL_TRANSFER, PRE_PIXEL_TRANSFER_REGISTRY, build_from_registry, get_registered
from ..second_pass_norm import SecondPassNorm

PIXEL_TRANSFER_MODES = ("post", "pre")
# "encoder", "decoder": source pre-training (Sec. III); "adapt": Algorithm 1
TRAINING_STAGES = ("encoder", "decoder", "adapt")
# a memory backend's target loss: (Enc's BN-necked target features, target batch) -> loss
TargetLoss = Callable[[torch.Tensor, dict], torch.Tensor]


def _pre_pixel_transfer():
    # registered by fastreid_rae.translation, which modeling does not import
    return get_registered(PRE_PIXEL_TRANSFER_REGISTRY, PRE_PIXEL_TRANSFER, "RAE.PIXEL_TRANSFER.MODE")


def check_rae_config(cfg) -> None:
    """Reject switch combinations the model cannot honour, naming the key."""
    pixel_transfer = cfg.RAE.PIXEL_TRANSFER
    if pixel_transfer.MODE not in PIXEL_TRANSFER_MODES:
        raise ValueError(f"RAE.PIXEL_TRANSFER.MODE must be one of {PIXEL_TRANSFER_MODES}, got {pixel_transfer.MODE!r}")
    if pixel_transfer.ENABLED and pixel_transfer.MODE == "pre":
        _pre_pixel_transfer().check_config(cfg)  # PT-hat: a translator in place of Dec
    if cfg.RAE.FUSION.ENABLED and not pixel_transfer.ENABLED:
        raise ValueError(
            "RAE.FUSION.ENABLED requires RAE.PIXEL_TRANSFER.ENABLED: Eq. (20) fuses F with "
            "Enc(Dec(F)), which needs the decoder"
        )
    if cfg.RAE.TEST_FEATURE not in RAE.FEATURE_KINDS:
        raise ValueError(f"RAE.TEST_FEATURE must be one of {RAE.FEATURE_KINDS}, got {cfg.RAE.TEST_FEATURE!r}")
    if cfg.RAE.TEST_FEATURE == "fusion" and not cfg.RAE.FUSION.ENABLED:
        raise ValueError("RAE.TEST_FEATURE 'fusion' needs RAE.FUSION.ENABLED True")


@dataclass
class DiscriminatorInputs:
    """Detached generator outputs kept from the last generator pass for the discriminator step."""
    source_features: Optional[torch.Tensor] = None  # Dis_f real, Eq. (8)
    target_features: Optional[torch.Tensor] = None  # Dis_f fake, Eq. (8)
    real_source_images: Optional[torch.Tensor] = None  # Dis_p real, Eq. (13)
    reconstructed_source_images: Optional[torch.Tensor] = None  # Dis_p fake, Eq. (13)


@META_ARCH_REGISTRY.register()
class RAE(nn.Module):
    """Recurrent Auto-Encoder: encoder Enc (backbone + head), feature transfer (Dis_f),
    pixel transfer (decoder Dec + Dis_p) and bilinear fusion, each of the last three removable
    by its RAE.*.ENABLED switch (a module switched off has no parameters, loss or compute).

    Training (``model.train()``)::

        losses = model(source_batch, target_batch)   # generator losses, Eq. (9), (17), (21)
        dis_losses = model.discriminator_losses()    # Eq. (8), (13): Dis_f, Dis_p terms

    Batches are fastreid dicts with "images" (N x 3 x H x W, 0..255) and "targets" (source ids
    / target pseudo-ids). ``target_batch`` may be None (source pre-training). Evaluation
    (``model.eval()``): ``model(batch)`` returns the Algorithm 2 feature (N x D).
    """

    @configurable
    def __init__(
        self,
        *,
        backbone: nn.Module,
        heads: RAEEmbeddingHead,
        pixel_space: PixelSpace,
        feat_dim: int,
        gan_loss,
        identity_loss_kwargs: dict,
        reconstruction_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        lambda_tri: float,
        lambda_feat_gan: float,
        lambda_pix_gan: float,
        feature_discriminator: Optional[nn.Module] = None,
        decoder: Optional[nn.Module] = None,
        pixel_discriminator: Optional[nn.Module] = None,
        fusion: Optional[nn.Module] = None,
        translator: Optional[nn.Module] = None,
        pixel_transfer_updates_encoder: bool = True,
        fusion_updates_encoder: bool = True,
        fusion_updates_decoder: bool = True,
        decoder_pretraining_pixel_gan: bool = True,
        test_feature: str = "final",
    ):
        """NOTE: this interface is experimental."""
        super().__init__()
        if not isinstance(heads, RAEEmbeddingHead):
            raise ValueError(
                f"MODEL.HEADS.NAME must name a head with per-domain classifiers (RAEEmbeddingHead "
                f"or a subclass), got {type(heads).__name__}"
            )
        if (decoder is None) != (pixel_discriminator is None):
            raise ValueError("pixel transfer needs both a decoder and a pixel discriminator")
        if fusion is not None and decoder is None and translator is None:
            raise ValueError("fusion needs the decoder (Eq. (20) fuses F with Enc(Dec(F))) or, in "
                             "pre mode, the translator (F with Enc(G_t2s(I)))")
        self.backbone = backbone
        self.heads = heads
        self.pixel_space = pixel_space
        self.feat_dim = feat_dim
        self.feature_discriminator = feature_discriminator
        self.decoder = decoder
        self.pixel_discriminator = pixel_discriminator
        self.fusion = fusion
        self.translator = translator  # pre mode + fusion: frozen G_t2s (translation/pre_pixel_transfer.py)
        # Algorithm 2 step 3's pass normalises with statistics of its own (second_pass_norm.py)
        self.second_pass_norm = SecondPassNorm(backbone) if fusion is not None else None
        self.gan_loss = gan_loss
        self.reconstruction_loss = reconstruction_loss
        self.identity_loss_kwargs = identity_loss_kwargs
        self.lambda_tri = lambda_tri
        self.lambda_feat_gan = lambda_feat_gan
        self.lambda_pix_gan = lambda_pix_gan
        self.pixel_transfer_updates_encoder = pixel_transfer_updates_encoder
        self.fusion_updates_encoder = fusion_updates_encoder
        self.fusion_updates_decoder = fusion_updates_decoder
        self.decoder_pretraining_pixel_gan = decoder_pretraining_pixel_gan
        self.test_feature = test_feature  # the kind an eval-mode forward returns
        self._discriminator_inputs: Optional[DiscriminatorInputs] = None
        # of the last discriminator_losses() call: feat_dis_accuracy, pix_dis_accuracy
        self.discriminator_accuracy: Dict[str, float] = {}

    @classmethod
    def from_config(cls, cfg):
        check_rae_config(cfg)
        rae = cfg.RAE
        # "pre" (PT-hat) builds no Dec / Dis_p: its pixel transfer happens before Enc
        pixel_transfer = rae.PIXEL_TRANSFER.ENABLED and rae.PIXEL_TRANSFER.MODE == "post"
        pre_pixel_fusion = rae.PIXEL_TRANSFER.ENABLED and rae.PIXEL_TRANSFER.MODE == "pre" and rae.FUSION.ENABLED
        return {
            "backbone": build_backbone(cfg),
            "heads": build_heads(cfg),
            "pixel_space": PixelSpace(cfg.MODEL.PIXEL_MEAN, cfg.MODEL.PIXEL_STD, rae.PIXEL_TRANSFER.INPUT_PIXEL_MAX),
            "feat_dim": cfg.MODEL.BACKBONE.FEAT_DIM,
            "gan_loss": build_gan_loss(cfg),
            "identity_loss_kwargs": identity_loss_kwargs(cfg),
            "reconstruction_loss": build_reconstruction_loss(cfg),
            "lambda_tri": rae.LOSS.LAMBDA_TRI,
            "lambda_feat_gan": rae.LOSS.LAMBDA_FEAT_GAN,
            "lambda_pix_gan": rae.LOSS.LAMBDA_PIX_GAN,
            "feature_discriminator": build_feature_discriminator(cfg) if rae.FEATURE_TRANSFER.ENABLED else None,
            "decoder": build_decoder(cfg) if pixel_transfer else None,
            "pixel_discriminator": build_pixel_discriminator(cfg) if pixel_transfer else None,
            "fusion": (build_from_registry(REID_HEADS_REGISTRY, rae.FUSION.NAME, "RAE.FUSION.NAME", cfg=cfg)
                       if rae.FUSION.ENABLED else None),
            "translator": _pre_pixel_transfer().from_config(cfg) if pre_pixel_fusion else None,
            "pixel_transfer_updates_encoder": rae.PIXEL_TRANSFER.UPDATE_ENCODER,
            "fusion_updates_encoder": rae.FUSION.UPDATE_ENCODER,
            "fusion_updates_decoder": rae.FUSION.UPDATE_DECODER,
            "decoder_pretraining_pixel_gan": rae.SOURCE_PRETRAIN.DECODER_PIXEL_GAN,
            "test_feature": rae.TEST_FEATURE,
        }

    @property
    def device(self) -> torch.device:
        return self.pixel_space.pixel_mean.device

    # ---- parts ---------------------------------------------------------------------------

    def encode(self, normalized_images: torch.Tensor, update_encoder: bool = True) -> torch.Tensor:
        """F = Enc(I), Eq. (1): the backbone's last feature map. ``update_encoder`` False keeps
        the gradient out of Enc's weights but lets it through to the input (to Dec, for F^x2s)."""
        feature_maps = call_with_updates(self.backbone, normalized_images, update_encoder)
        if feature_maps.shape[1] != self.feat_dim:
            raise ValueError(
                f"MODEL.BACKBONE.FEAT_DIM is {self.feat_dim} but the backbone outputs "
                f"{feature_maps.shape[1]} channels; set MODEL.BACKBONE.FEAT_DIM {feature_maps.shape[1]}"
            )
        return feature_maps

    def decode(self, feature_maps: torch.Tensor, update_encoder: bool = True, update_decoder: bool = True,
               update_bn_stats: bool = True) -> torch.Tensor:
        """I^ = Dec(F), Eq. (10), in [-1, 1] at input/2; ``update_encoder`` False cuts the
        gradient to Enc, ``update_decoder`` False the gradient into Dec's weights (it still
        flows through Dec to F); ``update_bn_stats`` False leaves Dec's running statistics as
        they were."""
        return call_with_updates(self.decoder, feature_maps if update_encoder else feature_maps.detach(),
                                 update_decoder, update_bn_stats)

    def re_encode(self, reconstructed: torch.Tensor, input_size, update_encoder: bool = True) -> torch.Tensor:
        """F^x2s = Enc(I^x2s) (Algorithm 2 step 3): I^ resized to the input size, normalised."""
        return self.second_pass(self.pixel_space.decoder_output_to_encoder_input(reconstructed, input_size),
                                update_encoder)

    def second_pass(self, normalized_images: torch.Tensor, update_encoder: bool = True) -> torch.Tensor:
        """Enc on generated images (Dec's reconstructions, or PT-hat's translations), with the
        second pass's own BN running statistics, in training and at test alike."""
        with self.second_pass_norm.applied_to(self.backbone):
            return self.encode(normalized_images, update_encoder)

    # ---- training --------------------------------------------------------------------------

    def forward(self, batched_inputs, target_inputs: Optional[dict] = None, **kwargs):
        if not self.training:
            return self.extract_features(batched_inputs, kind=self.test_feature)
        return self.generator_losses(batched_inputs, target_inputs, **kwargs)

    def generator_losses(self, source_inputs: dict, target_inputs: Optional[dict] = None,
                         target_loss: Optional[TargetLoss] = None,
                         stage: str = "adapt") -> Dict[str, torch.Tensor]:
        """All losses of Enc, Dec and the fusion head for one iteration, already weighted
        (their sum is the objective); also keeps the detached inputs of the discriminator step.

        Keys (a switched-off module, or a missing target batch, drops its keys):
        loss_{cls,triplet}_{source,target}            Eq. (2), (5)   (triplet x lambda_tri)
        loss_memory_target                             a memory backend's target loss
        loss_feat_gan                                  Eq. (8), (9)   (x lambda_feat_gan)
        loss_reconst_{source,target}                   Eq. (12), (15)
        loss_pix_gan_{source,target}                   Eq. (13), (16) (x lambda_pix_gan)
        loss_fusion_{cls,triplet}_{source,target}      Eq. (21)-(23)

        ``target_loss``: a memory backend's loss (mmcl, memory_contrast), called as
        ``target_loss(features, target_inputs)`` with Enc's BN-necked target features; it
        replaces the target's CE + triplet in both heads (such a batch has no pseudo-ids).
        ``stage``: "adapt" (Algorithm 1), or a source pre-training stage (Sec. III: Enc and
        Dec are first trained on labelled source images): "encoder" keeps Enc's CE + triplet
        only, "decoder" Dec's reconstruction and pixel-GAN terms on the frozen Enc.
        """
        if stage not in TRAINING_STAGES:
            raise ValueError(f"stage must be one of {TRAINING_STAGES}, got {stage!r}")
        if stage != "adapt" and target_inputs is not None:
            raise ValueError(f"the source pre-training stage {stage!r} takes no target batch")
        if stage == "decoder":
            return self._decoder_pretraining_losses(source_inputs)

        batches = {"source": source_inputs}
        if target_inputs is not None:
            batches["target"] = target_inputs
        images = torch.cat([batch["images"] for batch in batches.values()]).to(self.device)
        labels = {domain: batch["targets"].to(self.device) for domain, batch in batches.items()}
        classified = ("source",) if target_loss is not None else None
        sizes = [len(y) for y in labels.values()]
        input_size = tuple(images.shape[-2:])

        def by_domain(tensor: torch.Tensor) -> Dict[str, torch.Tensor]:
            return dict(zip(batches, tensor.split(sizes)))

        # Both domains in one pass: one BN batch mixing source and target, as the running
        # statistics used at test time do (docs/model.md).
        feature_maps = self.encode(self.pixel_space.normalize(images))  # Eq. (1)
        head_outputs = self.heads(feature_maps, labels, classified)
        losses = self._identity_losses(head_outputs, labels, "loss")  # Eq. (2)-(7)
        if target_loss is not None and "target" in batches:
            losses["loss_memory_target"] = target_loss(head_outputs["neck_features"]["target"], target_inputs)
        self._discriminator_inputs = cache = DiscriminatorInputs()
        if stage == "encoder":
            return losses
        domain_maps = by_domain(feature_maps)

        if self.feature_discriminator is not None and "target" in batches:
            with frozen(self.feature_discriminator):
                target_logits = self.feature_discriminator(domain_maps["target"])
            # Eq. (8), Enc's term: target features scored as source; weighted as in Eq. (9)
            losses["loss_feat_gan"] = self.lambda_feat_gan * self.gan_loss.generator(target_logits)
            cache.source_features = domain_maps["source"].detach()
            cache.target_features = domain_maps["target"].detach()

        reconstructed = None
        if self.decoder is not None:
            reconstructed = self.decode(feature_maps, self.pixel_transfer_updates_encoder)  # Eq. (10)
            losses.update(self._pixel_transfer_losses(images, reconstructed, list(batches), sizes, cache))

        if self.fusion is not None:
            if self.translator is not None:  # PT-hat: F^x2s = Enc(G_t2s(I)) (docs/model.md)
                re_encoded = self.second_pass(self.translator(images, self.pixel_space), self.fusion_updates_encoder)
            else:
                if (self.fusion_updates_encoder != self.pixel_transfer_updates_encoder
                        or not self.fusion_updates_decoder):
                    # the two paths disagree on which gradients to cut: Dec runs once for each,
                    # its running statistics updated once per step, as with one pass
                    reconstructed = self.decode(feature_maps, self.fusion_updates_encoder,
                                                self.fusion_updates_decoder, update_bn_stats=False)
                re_encoded = self.re_encode(reconstructed, input_size, self.fusion_updates_encoder)  # F^s2s, F^t2s
            first = feature_maps if self.fusion_updates_encoder else feature_maps.detach()
            fusion_outputs = self.fusion(first, re_encoded, labels, classified)  # Eq. (19), (20)
            losses.update(self._identity_losses(fusion_outputs, labels, "loss_fusion"))  # Eq. (21)-(23)
        return losses

    def _decoder_pretraining_losses(self, source_inputs: dict) -> Dict[str, torch.Tensor]:
        """Dec's source terms on the features of a frozen Enc (weights and BN statistics)."""
        if self.decoder is None:
            raise ValueError("the decoder pre-training stage needs RAE.PIXEL_TRANSFER.ENABLED True")
        images = source_inputs["images"].to(self.device)
        was_training = self.backbone.training
        self.backbone.eval()
        try:
            with torch.no_grad():
                feature_maps = self.encode(self.pixel_space.normalize(images))
        finally:
            self.backbone.train(was_training)
        self._discriminator_inputs = cache = DiscriminatorInputs()
        return self._pixel_transfer_losses(images, self.decoder(feature_maps), ["source"], [len(images)], cache,
                                           pixel_gan=self.decoder_pretraining_pixel_gan)

    def _pixel_transfer_losses(self, images: torch.Tensor, reconstructed: torch.Tensor, domains: List[str],
                               sizes: List[int], cache: DiscriminatorInputs,
                               pixel_gan: bool = True) -> Dict[str, torch.Tensor]:
        """Reconstruction and (``pixel_gan``) pixel-GAN terms of each domain; keeps Dis_p's
        inputs in ``cache`` (none without the GAN: Dis_p then skips the step)."""
        real = dict(zip(domains, self.pixel_space.to_decoder_space(images, tuple(reconstructed.shape[-2:])).split(sizes)))
        domain_reconstructed = dict(zip(domains, reconstructed.split(sizes)))
        losses = {f"loss_reconst_{domain}": self.reconstruction_loss(domain_reconstructed[domain], real[domain])
                  for domain in domains}  # Eq. (12) / (15)
        if not pixel_gan:
            return losses
        with frozen(self.pixel_discriminator):
            domain_logits = dict(zip(domains, self.pixel_discriminator(reconstructed).split(sizes)))
        for domain in domains:
            # Eq. (13) Dec's term (source) / Eq. (16) (target): look like real source images
            losses[f"loss_pix_gan_{domain}"] = self.lambda_pix_gan * self.gan_loss.generator(domain_logits[domain])
        cache.real_source_images = real["source"]
        cache.reconstructed_source_images = domain_reconstructed["source"].detach()
        return losses

    def _identity_losses(self, outputs: dict, labels: Dict[str, torch.Tensor], prefix: str) -> Dict[str, torch.Tensor]:
        losses = {}
        for domain in outputs["cls_outputs"]:
            terms = identity_losses(
                outputs["cls_outputs"][domain], outputs["features"][domain], labels[domain],
                loss_kwargs=self.identity_loss_kwargs, lambda_tri=self.lambda_tri,
            )
            losses.update({f"{prefix}_{term}_{domain}": value for term, value in terms.items()})
        return losses

    def discriminator_losses(self) -> Dict[str, torch.Tensor]:
        """Dis_f and Dis_p losses on the detached outputs of the last generator pass (no
        encoder or decoder work is repeated). Keys: loss_feat_dis (Eq. (8), Dis's term x
        lambda_feat_gan; needs a target batch) and loss_pix_dis (Eq. (13), Dis's term x
        lambda_pix_gan). Consumes the kept inputs."""
        inputs = self._discriminator_inputs
        if inputs is None:
            raise RuntimeError(
                "discriminator_losses() scores the outputs of the last training forward; call "
                "model(source_batch, target_batch) in training mode first (once per call)"
            )
        self._discriminator_inputs = None
        losses, self.discriminator_accuracy = {}, {}
        # lambda weights the whole GAN objective, both players' terms (Eq. (9), (11)): under
        # SGD, Dis's step would otherwise be 1/lambda of Enc's (docs/model.md)
        if inputs.target_features is not None:
            loss, self.discriminator_accuracy["feat_dis_accuracy"] = self._real_vs_fake(
                self.feature_discriminator, inputs.source_features, inputs.target_features
            )
            losses["loss_feat_dis"] = self.lambda_feat_gan * loss
        if inputs.reconstructed_source_images is not None:
            loss, self.discriminator_accuracy["pix_dis_accuracy"] = self._real_vs_fake(
                self.pixel_discriminator, inputs.real_source_images, inputs.reconstructed_source_images
            )
            losses["loss_pix_dis"] = self.lambda_pix_gan * loss
        return losses

    def _real_vs_fake(self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor):
        """The discriminator's loss, and its balanced accuracy: the mean of the shares of real
        and of fake inputs it scores on the right side."""
        # one call for both: the discriminators have no normalisation layers, so batching is exact
        real_logits, fake_logits = discriminator(torch.cat([real, fake])).split([len(real), len(fake)])
        threshold = self.gan_loss.decision_threshold
        # balanced: a discriminator that calls everything real scores 0.5 whatever the batch sizes
        correct = 0.5 * ((real_logits > threshold).float().mean() + (fake_logits <= threshold).float().mean())
        return self.gan_loss.discriminator(real_logits, fake_logits), correct.item()

    # ---- inference -----------------------------------------------------------------------

    FEATURE_KINDS = ("final", "encoder", "fusion")

    @torch.no_grad()
    def extract_features(self, batched_inputs: Union[dict, torch.Tensor], kind: str = "final") -> torch.Tensor:
        """Evaluation-mode features (N x D) of a batch (dict with "images", or the images).

        kind "encoder": Enc's pooled, BN-necked feature (fastreid's Baseline feature);
        kind "fusion": Algorithm 2 - F^t = Enc(I), I^t2s = Dec(F^t), F^t2s = Enc(I^t2s),
        feature = GAP(P(F^t, F^t2s)) (BN-necked, like the encoder's);
        kind "final": "fusion" when RAE.FUSION.ENABLED, else "encoder".
        """
        return self.extract_feature_kinds(batched_inputs, (kind,))[kind]

    @torch.no_grad()
    def extract_feature_kinds(self, batched_inputs: Union[dict, torch.Tensor],
                              kinds: Sequence[str]) -> Dict[str, torch.Tensor]:
        """``{kind: N x D}`` for several kinds of :meth:`extract_features` from one Enc pass
        over the batch (the fused feature reuses F^t)."""
        if self.training:
            raise RuntimeError("extract_features needs model.eval(): dropout and batch statistics are training-only")
        resolved = {kind: self._resolve_feature_kind(kind) for kind in kinds}
        images = batched_inputs["images"] if isinstance(batched_inputs, dict) else batched_inputs
        images = images.to(self.device)
        feature_maps = self.encode(self.pixel_space.normalize(images))  # step 1, Eq. (1)
        features = {}
        if "encoder" in resolved.values():
            features["encoder"] = self.heads(feature_maps)
        if "fusion" in resolved.values():
            if self.translator is not None:  # PT-hat: G_t2s in place of Dec (docs/model.md)
                re_encoded = self.second_pass(self.translator(images, self.pixel_space))
            else:
                reconstructed = self.decode(feature_maps)  # step 2, Eq. (10)
                re_encoded = self.re_encode(reconstructed, tuple(images.shape[-2:]))  # step 3
            features["fusion"] = self.fusion(feature_maps, re_encoded)  # steps 4-5, Eq. (19), (20)
        return {kind: features[base] for kind, base in resolved.items()}

    def _resolve_feature_kind(self, kind: str) -> str:
        """"encoder" or "fusion" for a kind of :meth:`extract_features`, checked."""
        if kind not in self.FEATURE_KINDS:
            raise ValueError(f"kind must be one of {self.FEATURE_KINDS}, got {kind!r}")
        if kind == "final":
            return "encoder" if self.fusion is None else "fusion"
        if kind == "fusion" and self.fusion is None:
            raise ValueError("fusion features need RAE.FUSION.ENABLED True")
        return kind

    # ---- for the trainer -----------------------------------------------------------------

    def param_groups(self) -> Dict[str, List[nn.Parameter]]:
        """Every trained parameter in exactly one group (Sec. IV-B; the frozen PT-hat
        translator is in none):

        "encoder": the backbone, ImageNet-initialised -> RAE.SOLVER.ENCODER_LR (0.05);
        "heads": Enc's BN-neck and classifiers -> SOLVER.BASE_LR x SOLVER.HEADS_LR_FACTOR;
        "others": Dec, fusion (its classifiers included) -> SOLVER.BASE_LR (0.5);
        "discriminators": Dis_f, Dis_p -> their own optimizer, RAE.SOLVER.DISCRIMINATOR_LR.
        """
        def params(*modules):
            return [p for m in modules if m is not None for p in m.parameters()]

        return {
            "encoder": params(self.backbone),
            "heads": params(self.heads),
            "others": params(self.decoder, self.fusion),
            "discriminators": params(self.feature_discriminator, self.pixel_discriminator),
        }

    def reset_target_classifier(self, num_classes: int, centers: Optional[torch.Tensor] = None,
                                fusion_centers: Optional[torch.Tensor] = None) -> None:
        """Re-create the target-domain classifiers for ``num_classes`` pseudo-identities
        (Algorithm 1 step 1): the encoder head's from ``centers`` (num_classes x head feature
        dim, cluster centres of the BN-necked encoder features), the fusion head's from
        ``fusion_centers`` (num_classes x RAE.FUSION.OUT_DIM); random N(0, 0.01^2) where
        None. The parameters keep their identity (see :meth:`target_classifier_parameters`)."""
        self.heads.reset_target_classifier(num_classes, centers)
        if self.fusion is not None:
            self.fusion.reset_target_classifier(num_classes, fusion_centers)
        elif fusion_centers is not None:
            raise ValueError("fusion_centers given but RAE.FUSION.ENABLED is False")

    def target_classifier_parameters(self) -> List[nn.Parameter]:
        """The parameters :meth:`reset_target_classifier` resizes: the trainer must drop their
        optimizer state (e.g. ``optimizer.state.pop(p, None)``) after each reset."""
        heads = [self.heads] + ([self.fusion.head] if self.fusion is not None else [])
        return [head.target_classifier.weight for head in heads]
