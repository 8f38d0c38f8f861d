"""The backbone the model and tiny-world tests pin: ResNet-18 (last stride 1).

The CPU configs use ShuffleNetV2 1.0x (configs/RAE/synthetic/Base-RAE-cpu.yml). Its eval-mode
features collapse (cosine 1.0 between any two images) until its BN running statistics have
settled over a few hundred steps: fastreid initialises it with tiny weights and it has no
residual path. The tests here train a handful of steps and then cluster eval-mode features, so
they use ResNet-18, whose features are apart from the start. ShuffleNetV2 itself is tested in
test_model_parts and, as shipped, end to end in test_uda_training.
"""
RESNET18 = ["MODEL.BACKBONE.NAME", "build_resnet_backbone", "MODEL.BACKBONE.DEPTH", "18x",
            "MODEL.BACKBONE.FEAT_DIM", 512]
