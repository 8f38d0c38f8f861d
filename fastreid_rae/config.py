"""``add_rae_config(cfg)``: every key RAE adds to fastreid's config, with the paper's defaults."""
from fastreid.config import CfgNode as CN


def add_rae_config(cfg):
    _C = cfg

    _C.RAE = CN()

    # ---- model (Sec. III) -------------------------------------------------------------
    # The encoder Enc is fastreid's MODEL.BACKBONE + MODEL.HEADS (name "RAEEmbeddingHead");
    # the keys below add what RAE puts around it. docs/model.md explains every choice.
    _C.RAE.ENCODER = CN()
    # Sec. IV-B: "apply dropout with 0.5 on pool5"; drops the BN-necked pooled feature on its
    # way into the (source and target) classifiers.
    _C.RAE.ENCODER.DROPOUT = 0.5

    # Feature-transfer module, Sec. III-A "Adapt to the target domain", Eq. (8)-(9).
    _C.RAE.FEATURE_TRANSFER = CN()
    # Off: no Dis_f, no feature-GAN loss (Table IV rows without FT).
    _C.RAE.FEATURE_TRANSFER.ENABLED = True
    # Dis_f, Sec. IV-B: three strided convs + LeakyReLU + FC to one logit, on Enc's feature map
    # (Eq. (8) applies Dis to F of Eq. (1)). Widths are not given by the paper.
    _C.RAE.FEATURE_TRANSFER.DISCRIMINATOR = CN()
    _C.RAE.FEATURE_TRANSFER.DISCRIMINATOR.NAME = "StridedConvDiscriminator"
    _C.RAE.FEATURE_TRANSFER.DISCRIMINATOR.CHANNELS = [256, 128, 64]
    # 3 (not 4): a 3x3 stride-2 conv never shrinks a map to zero (feature maps can be 2x1)
    _C.RAE.FEATURE_TRANSFER.DISCRIMINATOR.KERNEL_SIZE = 3
    _C.RAE.FEATURE_TRANSFER.DISCRIMINATOR.NEGATIVE_SLOPE = 0.2

    # Pixel-transfer module, Sec. III-B, Eq. (10)-(17).
    _C.RAE.PIXEL_TRANSFER = CN()
    # Off: no decoder Dec, no Dis_p, no reconstruction / pixel-GAN loss (and no fusion).
    _C.RAE.PIXEL_TRANSFER.ENABLED = True
    # "post": the paper's RAE (Dec reconstructs from Enc's features, Sec. III-B);
    # "pre": Table IV's PT-hat (source images translated to target style before feature
    # learning by the CycleGAN of RAE.TRANSLATOR; no Dec; docs/model.md "PT-hat").
    _C.RAE.PIXEL_TRANSFER.MODE = "post"
    # Whether reconstruction and pixel-GAN gradients reach Enc through F (docs/design.md,
    # "Which gradients reach Enc": by default all do).
    # The CPU configs (synthetic/Base-RAE-cpu.yml) turn it off: there, a from-scratch Enc
    # pulled by Dec's terms lost identity information (docs/model.md, "Which gradients reach Enc").
    _C.RAE.PIXEL_TRANSFER.UPDATE_ENCODER = True
    # Value of a white pixel in the loader's images (fastreid's ToTensor keeps 0..255); maps
    # images to Dec's tanh range [-1, 1] and back.
    _C.RAE.PIXEL_TRANSFER.INPUT_PIXEL_MAX = 255.0
    # Eq. (12) / (15): "l2_norm" (||I - I^||_2 per image, as printed) or "mse" (per pixel,
    # ~30x weaker against lambda_pix_gan's GAN term: Dec then never learned to reconstruct;
    # docs/model.md, "Reconstruction loss").
    _C.RAE.PIXEL_TRANSFER.RECONSTRUCTION_LOSS = "l2_norm"
    # Dec, Sec. IV-B: three fractional-strided (transposed) convs, BN + ReLU but the last, tanh.
    # Each doubles H and W, so Dec outputs input/2 from a last-stride-1 map (input/16).
    _C.RAE.PIXEL_TRANSFER.DECODER = CN()
    _C.RAE.PIXEL_TRANSFER.DECODER.NAME = "TransposedConvDecoder"
    # Output channels of the first two layers (the last outputs RGB); not given by the paper.
    # Narrow on purpose: the first layer reads 2048 channels, and at [256, 64] Dec + Dis_p cost
    # 0.36x a ResNet-50 baseline step in FLOPs, at [128, 32] 0.2x (docs/performance.md).
    _C.RAE.PIXEL_TRANSFER.DECODER.CHANNELS = [128, 32]
    _C.RAE.PIXEL_TRANSFER.DECODER.KERNEL_SIZE = 4
    _C.RAE.PIXEL_TRANSFER.DECODER.NORM = "BN"
    # Dis_p, Sec. IV-B (same form as Dis_f, separate weights), Eq. (13): real source images vs
    # reconstructed source images.
    _C.RAE.PIXEL_TRANSFER.DISCRIMINATOR = CN()
    _C.RAE.PIXEL_TRANSFER.DISCRIMINATOR.NAME = "StridedConvDiscriminator"
    _C.RAE.PIXEL_TRANSFER.DISCRIMINATOR.CHANNELS = [64, 128, 256]
    _C.RAE.PIXEL_TRANSFER.DISCRIMINATOR.KERNEL_SIZE = 4
    _C.RAE.PIXEL_TRANSFER.DISCRIMINATOR.NEGATIVE_SLOPE = 0.2

    # PT-hat translator (Table IV, RAE.PIXEL_TRANSFER.MODE "pre"): CycleGAN (Zhu et al. 2017)
    # trained by tools/train_translator.py on DATASETS.NAMES[0] vs DATASETS.TARGET training
    # images at INPUT.SIZE_TRAIN; docs/model.md "PT-hat". Widths are CPU-sized (64 x 32);
    # CycleGAN's are in the comments.
    _C.RAE.TRANSLATOR = CN()
    # pre mode: root holding the translated source set (tools/train_translator.py --translate);
    # the source training images are read from it instead of DATASETS.ROOT.
    _C.RAE.TRANSLATOR.TRANSLATED_ROOT = ""
    # pre mode with RAE.FUSION: translator checkpoint whose frozen G_t2s gives F^x2s = Enc(G_t2s(I)).
    _C.RAE.TRANSLATOR.WEIGHTS = ""
    # G_s2t, G_t2s: ResNet generator (CycleGAN: 64 channels, 2 downsamplings, 9 blocks at 256 x 256).
    _C.RAE.TRANSLATOR.GENERATOR = CN()
    _C.RAE.TRANSLATOR.GENERATOR.NAME = "ResnetGenerator"
    _C.RAE.TRANSLATOR.GENERATOR.BASE_CHANNELS = 16
    _C.RAE.TRANSLATOR.GENERATOR.NUM_DOWNSAMPLING = 2
    _C.RAE.TRANSLATOR.GENERATOR.NUM_BLOCKS = 3
    # D_s, D_t: PatchGAN (CycleGAN: 64 channels, 3 layers, the 70 x 70 PatchGAN).
    _C.RAE.TRANSLATOR.DISCRIMINATOR = CN()
    _C.RAE.TRANSLATOR.DISCRIMINATOR.NAME = "PatchGANDiscriminator"
    _C.RAE.TRANSLATOR.DISCRIMINATOR.BASE_CHANNELS = 16
    _C.RAE.TRANSLATOR.DISCRIMINATOR.NUM_LAYERS = 3
    # Objective, CycleGAN Eq. (3) with LSGAN: lambda_cyc 10; identity loss weighted
    # LAMBDA_IDENTITY x LAMBDA_CYC (CycleGAN's --lambda_identity 0.5); 0 removes it.
    _C.RAE.TRANSLATOR.LAMBDA_CYC = 10.0
    _C.RAE.TRANSLATOR.LAMBDA_IDENTITY = 0.5
    # History of generated images the discriminators learn from (CycleGAN: 50; 0 = none).
    _C.RAE.TRANSLATOR.POOL_SIZE = 50
    # Adam for G and D (CycleGAN: lr 2e-4, betas (0.5, 0.999), batch 1; 8 here for CPU speed);
    # lr constant, then linearly to 0 over the last DECAY_FRACTION of MAX_ITER (CycleGAN: 1/2).
    _C.RAE.TRANSLATOR.BASE_LR = 2e-4
    _C.RAE.TRANSLATOR.BETAS = (0.5, 0.999)
    _C.RAE.TRANSLATOR.IMS_PER_BATCH = 8
    _C.RAE.TRANSLATOR.MAX_ITER = 2000
    _C.RAE.TRANSLATOR.DECAY_FRACTION = 0.5
    _C.RAE.TRANSLATOR.CHECKPOINT_PERIOD = 500

    # Fusion module, Sec. III-C, Eq. (19)-(23). Requires RAE.PIXEL_TRANSFER.ENABLED.
    _C.RAE.FUSION = CN()
    _C.RAE.FUSION.ENABLED = True
    # A head in fastreid's REID_HEADS_REGISTRY taking (F, F^x2s) feature maps.
    _C.RAE.FUSION.NAME = "BilinearFusionHead"
    # d of Eq. (19): rank of the factorised bilinear projection; not given by the paper.
    _C.RAE.FUSION.RANK = 512
    # o of Eq. (19): dimension of the fused feature z; not given by the paper.
    _C.RAE.FUSION.OUT_DIM = 512
    # Whether fusion-loss gradients reach Enc (both Enc passes); by default they do
    # (docs/design.md, "Which gradients reach Enc").
    _C.RAE.FUSION.UPDATE_ENCODER = True
    # Whether fusion-loss gradients train Dec (through the re-encoding of Dec(F)); by default
    # they do (docs/design.md, "Which gradients reach Dec"). Algorithm 1 step 4 optimises "the
    # fusion module" with Eq. (21); False leaves Dec to its own terms, Eq. (17), so the fusion
    # cannot turn it from reconstructing into a second feature extractor (docs/model.md,
    # "Which gradients reach Dec").
    _C.RAE.FUSION.UPDATE_DECODER = True
    # Normalisation of the fused feature z: "none" (Eq. (19)-(20) as printed), "l2", or
    # "power_l2" (signed sqrt + L2, as MFB does). Not in the paper: z scales with the square of
    # Enc's features; in CPU runs "none" diverged or stalled, "l2" trained (docs/model.md).
    _C.RAE.FUSION.NORMALIZATION = "l2"
    # The feature the evaluation (eval-mode forward) ranks with: "final" (Algorithm 2's fused
    # feature when the fusion is on, else Enc's), "encoder" (Enc's BN-necked feature, the
    # baseline's) or "fusion". Not in the paper, which evaluates Algorithm 2 only; "encoder"
    # separates what the fusion adds at test time from what training did to Enc
    # (docs/findings.md, "Algorithm 2's fused feature ranks below Enc's own").
    _C.RAE.TEST_FEATURE = "final"

    # GAN objective for Eq. (8), (13), (16): "NonSaturatingGANLoss" (BCE; docs/design.md,
    # "GAN objective") or "LeastSquaresGANLoss".
    _C.RAE.GAN = CN()
    _C.RAE.GAN.LOSS = "NonSaturatingGANLoss"

    # Loss weights, Sec. IV-B ("via cross-validation").
    _C.RAE.LOSS = CN()
    _C.RAE.LOSS.LAMBDA_TRI = 1.0  # lambda_tri, Eq. (2), (5), (22), (23)
    _C.RAE.LOSS.LAMBDA_FEAT_GAN = 10.0  # lambda_feat^gan, Eq. (9)
    _C.RAE.LOSS.LAMBDA_PIX_GAN = 10.0  # lambda_pix^gan, Eq. (11), (14)

    # ---- pseudo-labels (Sec. III-A, "Learning target images in self-supervised way") --
    # docs/pseudo_labels.md explains every backend and key.
    _C.RAE.PSEUDO_LABEL = CN()
    # Backend in PSEUDO_LABEL_REGISTRY: "dbscan" (the paper: k-reciprocal encoding + density
    # clustering, steps 1-3 of Sec. III-A), "kmeans", "jvtc" / "mmcl" (the "JVTC + RAE" /
    # "MMCL + RAE" rows of Tables II-III), "memory_contrast" (cluster-contrast memory).
    _C.RAE.PSEUDO_LABEL.NAME = "dbscan"

    # Shared k-NN search (faiss) behind every backend's neighbour graph.
    _C.RAE.PSEUDO_LABEL.NEIGHBORS = CN()
    # "exact" (brute force) or "approximate" (inverted file: 2.5x faster at MSMT17 size on
    # tight features, no faster on loose ones; docs/pseudo_labels.md).
    _C.RAE.PSEUDO_LABEL.NEIGHBORS.METHOD = "exact"
    # approximate only: number of inverted lists (0 = 4 sqrt(N)) and lists scanned per query
    # at first
    _C.RAE.PSEUDO_LABEL.NEIGHBORS.NUM_LISTS = 0
    _C.RAE.PSEUDO_LABEL.NEIGHBORS.NPROBE = 16
    # approximate only: each pseudo-labelling measures the search's recall@k against exact
    # search on a seeded sample of rows (logged as knn_recall); below this it probes more
    # lists, then falls back to exact search, saying so
    _C.RAE.PSEUDO_LABEL.NEIGHBORS.MIN_RECALL = 0.95

    # DBSCAN on k-reciprocal Jaccard distance; SpCL's defaults (the paper gives none). Also
    # the clustering step of "jvtc" and "memory_contrast".
    _C.RAE.PSEUDO_LABEL.DBSCAN = CN()
    _C.RAE.PSEUDO_LABEL.DBSCAN.EPS = 0.6  # DBSCAN radius on Jaccard distance (0..1)
    _C.RAE.PSEUDO_LABEL.DBSCAN.MIN_SAMPLES = 4  # neighbours (self included) of a core image
    _C.RAE.PSEUDO_LABEL.DBSCAN.K1 = 30  # k1 of Zhong et al.: k-reciprocal neighbourhood size
    _C.RAE.PSEUDO_LABEL.DBSCAN.K2 = 6  # k2: local query expansion over the k2 nearest

    # k-means (faiss) on the normalised features; every image gets a cluster.
    _C.RAE.PSEUDO_LABEL.KMEANS = CN()
    _C.RAE.PSEUDO_LABEL.KMEANS.NUM_CLUSTERS = 500  # k (OpenUnReID's default for Market-1501)
    _C.RAE.PSEUDO_LABEL.KMEANS.NUM_ITERS = 25  # Lloyd iterations (faiss's default)
    _C.RAE.PSEUDO_LABEL.KMEANS.SEED = 0

    # JVTC (Li & Zhang, ECCV 2020): clusters on joint visual + camera-temporal similarity.
    # Needs camera ids and frame indices of the target images.
    _C.RAE.PSEUDO_LABEL.JVTC = CN()
    _C.RAE.PSEUDO_LABEL.JVTC.FRAME_INTERVAL = 100  # frames per histogram bin (JVTC / st-ReID)
    _C.RAE.PSEUDO_LABEL.JVTC.SIGMA = 50.0  # Gaussian (Parzen) smoothing, in bins (st-ReID)
    _C.RAE.PSEUDO_LABEL.JVTC.LAMBDA = 1.0  # logistic smoothing 1 / (1 + lambda e^(-gamma s))
    _C.RAE.PSEUDO_LABEL.JVTC.GAMMA = 5.0
    # visual nearest neighbours re-ranked by joint similarity (the scale-out approximation)
    _C.RAE.PSEUDO_LABEL.JVTC.NUM_CANDIDATES = 60

    # MMCL (Wang & Zhang, CVPR 2020): one memory slot per image, multi-label loss.
    # Defaults are the official code's (experiments/market.yml).
    _C.RAE.PSEUDO_LABEL.MMCL = CN()
    _C.RAE.PSEUDO_LABEL.MMCL.THRESHOLD = 0.6  # t of MPLP: candidates have similarity > t
    _C.RAE.PSEUDO_LABEL.MMCL.MIN_CANDIDATES = 10  # MPLP checks at least this many candidates
    # not in MMCL: caps the cycle-consistency check (candidates x N similarities per image)
    _C.RAE.PSEUDO_LABEL.MMCL.MAX_CANDIDATES = 100
    _C.RAE.PSEUDO_LABEL.MMCL.DELTA = 5.0  # delta: weight of the positive term of the loss
    _C.RAE.PSEUDO_LABEL.MMCL.HARD_NEGATIVE_RATIO = 0.01  # r: hardest fraction of negatives
    # memory update M <- a M + (1 - a) f with a = MOMENTUM * min(epoch / RAMP_EPOCHS, 1)
    # (official: 0.5 * epoch / 60); RAMP_EPOCHS = 0 keeps a = MOMENTUM
    _C.RAE.PSEUDO_LABEL.MMCL.MOMENTUM = 0.5
    _C.RAE.PSEUDO_LABEL.MMCL.MOMENTUM_RAMP_EPOCHS = 60
    _C.RAE.PSEUDO_LABEL.MMCL.WARMUP_EPOCHS = 6  # epochs with the image itself as only label

    # Cluster-contrast memory (Dai et al. 2021) on the DBSCAN clusters above.
    _C.RAE.PSEUDO_LABEL.MEMORY_CONTRAST = CN()
    _C.RAE.PSEUDO_LABEL.MEMORY_CONTRAST.TEMPERATURE = 0.05  # tau of the InfoNCE loss
    _C.RAE.PSEUDO_LABEL.MEMORY_CONTRAST.MOMENTUM = 0.1  # centroid update c <- m c + (1 - m) f
    # update each centroid with its hardest batch sample only (the paper's "hard" variant)
    _C.RAE.PSEUDO_LABEL.MEMORY_CONTRAST.HARD_UPDATE = False

    # ---- data (two domains) -----------------------------------------------------------
    # Folder holding the datasets' own folders (Market-1501-v15.09.15/, DukeMTMC-reID/, ...).
    # Empty: $FASTREID_DATASETS. fastreid itself only reads that variable, at import time.
    _C.DATASETS.ROOT = ""
    # The unlabelled target training set (a DATASET_REGISTRY name; its labels are used only to
    # log pseudo-label quality). Empty: source-only training, i.e. direct transfer. The
    # labelled source sets are fastreid's DATASETS.NAMES, the target test set DATASETS.TESTS.
    _C.DATASETS.TARGET = ""
    # Your own camera network: DATASETS.TARGET "UnlabelledFolder" reads a folder tree of
    # pedestrian crops with no identities (docs/datasets.md, "Your own camera network").
    _C.DATASETS.FOLDER = CN()
    # The crops' folder; a relative path is under DATASETS.ROOT (the sources' root).
    _C.DATASETS.FOLDER.PATH = ""
    # Each crop's camera, searched in its path relative to PATH: a regex with a named group
    # (?P<camid>...) and, for JVTC's camera-temporal term, (?P<frame>...), e.g.
    # "c(?P<camid>\d+)_(?P<frame>\d+)". Every crop must match: a crop without a camera
    # cannot be placed, and dropping it silently would hide a wrong pattern.
    _C.DATASETS.FOLDER.CAMERA_PATTERN = ""
    # Or a CSV file of path,camid[,frame] rows (paths relative to PATH; relative CSV path
    # under PATH too), for names that carry no camera. Exactly one of the two is given.
    _C.DATASETS.FOLDER.CAMERA_CSV = ""
    # [height, width] in pixels below which a crop is refused before training: a detector's
    # slivers and thumbnails upscaled to INPUT.SIZE_TRAIN hold no identity to learn.
    _C.DATASETS.FOLDER.MIN_SIZE = [32, 16]

    # ---- evaluation -------------------------------------------------------------------
    # Memory-bounded evaluation (fastreid_rae/evaluation/chunked.py): blocks of queries are
    # ranked against the whole gallery without ever holding the dense query x gallery matrix
    # (MSMT17 test: 11,659 x 82,161, 3.8 GB in float32 before sorting; docs/performance.md).
    # Same metrics as fastreid's ReidEvaluator, but no TEST.RERANK / TEST.AQE / TEST.ROC
    # (they need the dense matrix; enabling one with this raises). False by default so that a
    # fastreid config evaluates exactly as fastreid does, those options included.
    _C.TEST.CHUNKED = CN()
    _C.TEST.CHUNKED.ENABLED = False
    # Queries per block: one block costs ~10-20 bytes x QUERY_CHUNK x gallery size (0.2 GB
    # measured at 256 x 82,161).
    _C.TEST.CHUNKED.QUERY_CHUNK = 256
    # The library that multiplies each query block by the gallery, nearly all of the time:
    # "numpy" (numpy's BLAS, OpenBLAS in the wheels: 129 GFLOPS at 256 x 82,161 x 2048 on the
    # 2-core AMD EPYC of docs/performance.md) or "torch" (torch's MKL, as fastreid's
    # build_dist multiplies: 64 GFLOPS there). Either differs from the dense matrix only in
    # float32 rounding (~1e-7 of a distance), so ranks change only where two distances were
    # that close.
    _C.TEST.CHUNKED.MATMUL = "numpy"

    # ---- training (Sec. IV-B) ---------------------------------------------------------
    # SGD (SOLVER.OPT), momentum 0.9, weight decay 5e-5 and SOLVER.BASE_LR = 0.5 ("the other
    # part") are fastreid's keys, set in configs/RAE/Base-RAE.yml. The model's param_groups()
    # names the groups these rates apply to.
    # Sec. III: Enc and Dec "first trained using labeled images of source domain". The first
    # EPOCHS epochs train on the source alone (no clustering, no target batch); Enc first,
    # then Dec (DECODER_EPOCHS below; docs/model.md). 0: adapt from the start, e.g. from
    # MODEL.WEIGHTS = a source-trained model.
    _C.RAE.SOURCE_PRETRAIN = CN()
    _C.RAE.SOURCE_PRETRAIN.EPOCHS = 10
    # Of those, the last DECODER_EPOCHS train Dec alone (reconstruction + pixel GAN, Dis_p)
    # on the frozen Enc; the epochs before them train Enc alone (CE + triplet). Enc, then Dec
    # (docs/design.md, "Source pre-training order"); at least the first epoch trains Enc unless
    # MODEL.WEIGHTS gives a trained one; ignored without pixel transfer.
    _C.RAE.SOURCE_PRETRAIN.DECODER_EPOCHS = 3
    # Whether those Dec epochs include Eq. (11)'s pixel-GAN term (and train Dis_p), as the
    # paper's; False trains Dec on the reconstruction alone first, and the GAN joins at the
    # adaptation. Not in the paper: at the CPU budget the GAN at lambda 10 kept Dec from
    # reconstructing at all (docs/archive/experiment_log.md, "What keeps Dec from reconstructing").
    _C.RAE.SOURCE_PRETRAIN.DECODER_PIXEL_GAN = True
    # True: the config adapts a source-trained model, MODEL.WEIGHTS (e.g. a direct-transfer
    # run's model_final.pth), and its schedule assumes one: training refuses to start from
    # scratch without it. The Table IV rows of the CPU settings are such configs (docs/configs.md,
    # "Table IV").
    _C.RAE.SOURCE_PRETRAIN.FROM_SOURCE_MODEL = False

    _C.RAE.SOLVER = CN()
    # A step whose loss is NaN or inf is skipped with a warning; this many in a row stop the
    # run with an error (the checkpoints already written stay as they are).
    _C.RAE.SOLVER.MAX_NONFINITE_STEPS = 5
    # Sec. IV-B: lr of Enc, "well initialized with ImageNet" (the "encoder" group).
    _C.RAE.SOLVER.ENCODER_LR = 0.05
    # Sec. IV-B: "the other part are set 0.5"; Dis_f and Dis_p have their own optimizer.
    _C.RAE.SOLVER.DISCRIMINATOR_LR = 0.5
    # The optimizers' fused kernels (one pass over every tensor) where torch has them (SGD,
    # Adam, AdamW, ...): the same update, in a different floating-point order. On a 2-core CPU
    # the per-tensor Adam step of ResNet-18 took 77 ms, the fused one 12 ms (docs/performance.md).
    _C.RAE.SOLVER.FUSED = True
    # Sec. IV-B's 20,000 iterations with x0.1 every 8,000 are fastreid's SOLVER.MAX_EPOCH and
    # SOLVER.STEPS (epochs of len(source) // SOLVER.IMS_PER_BATCH iterations): each paper
    # config states the arithmetic for its source set (docs/configs.md).

    # ---- reproducibility and resuming -------------------------------------------------
    # fastreid 1.4.0 has no SEED: its default_setup seeds from the clock. >= 0: the trainer
    # seeds torch / numpy / python with it, and the training streams derive from it, so two
    # runs on CPU are identical; < 0: a random seed, kept in the checkpoints (docs/reliability.md).
    _C.SEED = -1
    _C.RAE.CHECKPOINT = CN()
    # Every ITER_PERIOD iterations, model_resume.pth holds all a resume needs (model, every
    # optimizer and scheduler, the backend's memory, the epoch's pseudo-labels, random number
    # generators, stream positions): --resume continues mid-epoch exactly. 0: off (fastreid's
    # epoch checkpoints, SOLVER.CHECKPOINT_PERIOD, carry the same state).
    _C.RAE.CHECKPOINT.ITER_PERIOD = 500
    # Every tensor of MODEL.WEIGHTS must fit the model, and every tensor of the model must be
    # in it (a ResNet-34 config given ResNet-18 weights is refused, not half-loaded). True: a
    # deliberate partial load for training, e.g. a source-trained model into RAE, whose Dec,
    # discriminators and fusion start fresh; the log names what was left out. Mis-shaped
    # tensors, and a file that fills nothing, are still refused; --resume always loads all.
    _C.RAE.CHECKPOINT.PARTIAL_LOAD = False

    return cfg


def config_value(cfg, dotted_key: str):
    """``cfg.A.B.C`` for ``"A.B.C"``: a key named in a table or an error message, read."""
    node = cfg
    for part in dotted_key.split("."):
        node = node[part]
    return node
