"""tools/export.py and fastreid_rae.deploy.export: the TorchScript and ONNX files compute the
model's own test feature (Algorithm 2's fused one, or Enc's) from image files read as the
evaluation reads them, for any batch size, in a Python that cannot import fastreid."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from fastreid.data.common import CommDataset
from fastreid.data.transforms import build_transforms
from PIL import Image

import fastreid_rae  # noqa: F401
from fastreid_rae.deploy import FeatureModel, feature_name, read_batch, read_image
from fastreid_rae.visualization import ModelSource, load_config
from fastreid_rae.visualization.features import extract_features

from .tool_loading import load_tool
from .deploy_run import make_run, write_images

TOLERANCE = 1e-4
TOP = 10

# Runs an exported file in a fresh interpreter that cannot import fastreid_rae or fastreid:
# -I leaves the repository and PYTHONPATH off sys.path, and the finder below refuses the
# packages that the environment's own site-packages would still offer.
STANDALONE = """
import sys

class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("fastreid_rae", "fastreid"):
            raise ImportError(name + " must not be needed to run an export")

sys.meta_path.insert(0, Refuse())
import numpy as np

fmt, model_file, inputs, outputs = sys.argv[1:]
images = np.load(inputs)
if fmt == "onnx":
    import onnxruntime
    session = onnxruntime.InferenceSession(model_file, providers=["CPUExecutionProvider"])
    run = lambda batch: session.run(["features"], {"images": batch})[0]
else:
    import torch
    torch.set_num_threads(1)
    module = torch.jit.load(model_file).eval()
    def run(batch):
        with torch.no_grad():
            return module(torch.from_numpy(batch)).numpy()
loaded = sorted(name for name in sys.modules if name.split(".")[0] in ("fastreid_rae", "fastreid"))
assert not loaded, loaded
# all images in one batch, then the first alone: the batch dimension is free
np.savez(outputs, all=run(images), first=run(images[:1]))
"""


@pytest.fixture(scope="module")
def export_tool():
    return load_tool("export.py").main


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("run"))


def _run_standalone(fmt, model_file, images, tmp_path):
    np.save(tmp_path / "images.npy", images)
    subprocess.run([sys.executable, "-I", "-c", STANDALONE, fmt, str(model_file), str(tmp_path / "images.npy"),
                    str(tmp_path / "features.npz")], cwd=tmp_path, check=True)
    with np.load(tmp_path / "features.npz") as features:
        return features["all"], features["first"]


def _ranking(features):
    """Each image's TOP nearest others by cosine distance (TEST.METRIC), nearest first."""
    features = features / np.linalg.norm(features, axis=1, keepdims=True)
    distances = 1 - features @ features.T
    np.fill_diagonal(distances, np.inf)
    return np.argsort(distances, axis=1, kind="stable")[:, :TOP]


def _check_parity(export_tool, run, paths, fmt, opts, tmp_path):
    """Export ``run`` and compare the export's features of ``paths`` (read by deploy's
    preprocessing, run with no fastreid) with the model's through fastreid's own test loader."""
    output = tmp_path / f"model.{fmt}"
    export_tool(["--run-dir", str(run), "--format", fmt, "--output", str(output), *opts])
    cfg = load_config(str(run / "config.yaml"), opts)
    model = FeatureModel.load(ModelSource.resolve(run_dir=str(run)), opts)
    expected = extract_features(model.model, cfg, paths, kind=feature_name(cfg)).numpy()
    exported, first = _run_standalone(fmt, output, read_batch(paths, tuple(cfg.INPUT.SIZE_TEST)), tmp_path)
    assert exported.shape == expected.shape
    difference = np.abs(exported - expected).max()
    assert difference <= TOLERANCE, difference
    assert np.abs(first - expected[:1]).max() <= TOLERANCE
    assert _ranking(exported).tolist() == _ranking(expected).tolist()
    return output, expected


@pytest.fixture(scope="module")
def synthetic_images(tmp_path_factory):
    return write_images(tmp_path_factory.mktemp("images"), TOP + 2, seed=3)


@pytest.mark.parametrize("fmt, opts, feature, dim", [
    ("onnx", [], "fusion", 128),  # Algorithm 2: Enc -> Dec -> Enc -> fusion
    ("torchscript", [], "fusion", 128),
    ("onnx", ["RAE.TEST_FEATURE", "encoder"], "encoder", 512),  # Enc alone
])
def test_export_matches_the_model_on_synthetic_images(export_tool, run, synthetic_images, fmt, opts, feature, dim,
                                                     tmp_path, single_thread):
    output, expected = _check_parity(export_tool, run, synthetic_images, fmt, opts, tmp_path)
    assert expected.shape[1] == dim
    description = json.loads((tmp_path / f"model.{fmt}.json").read_text())
    assert description["model"]["feature"] == feature and description["output"]["shape"] == ["batch", dim]
    assert description["input"]["shape"] == ["batch", 3, 32, 16] and description["input"]["channels"] == "RGB"
    assert description["input"]["range"] == [0.0, 255.0]


def test_export_matches_the_model_on_real_crops(export_tool, run, shared_data, tmp_path, single_thread):
    crops = sorted(str(path) for path in (shared_data / "cuhk01" / "campus").glob("*.png"))[:TOP + 2]
    if len(crops) < TOP + 2:
        pytest.skip(f"fewer than {TOP + 2} CUHK01 crops under {shared_data}")
    _check_parity(export_tool, run, crops, "onnx", [], tmp_path)


def test_the_pixel_normalisation_is_inside_the_graph(export_tool, run, tmp_path, single_thread):
    """Mean and std come from the config and are applied by the export itself: an input
    normalised beforehand gives other features."""
    output = tmp_path / "model.pt"
    export_tool(["--run-dir", str(run), "--format", "torchscript", "--output", str(output)])
    description = json.loads((tmp_path / "model.pt.json").read_text())["input"]["normalization_in_graph"]
    cfg = load_config(str(run / "config.yaml"))
    assert description == {"pixel_mean": list(cfg.MODEL.PIXEL_MEAN), "pixel_std": list(cfg.MODEL.PIXEL_STD)}
    module = torch.jit.load(str(output))
    images = torch.rand(2, 3, 32, 16) * 255
    mean, std = torch.tensor(cfg.MODEL.PIXEL_MEAN).view(1, 3, 1, 1), torch.tensor(cfg.MODEL.PIXEL_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        assert (module(images) - module((images - mean) / std)).abs().max() > 1e-2


def test_deploy_preprocessing_is_fastreids_test_transform(run, tmp_path):
    cfg = load_config(str(run / "config.yaml"))
    transform = build_transforms(cfg, is_train=False)
    rng = np.random.default_rng(0)
    images = {"rgb.jpg": Image.fromarray(rng.integers(0, 256, (71, 29, 3), dtype=np.uint8)),
              "grey.png": Image.fromarray(rng.integers(0, 256, (50, 30), dtype=np.uint8))}
    for name, image in images.items():
        image.save(tmp_path / name)
        expected = CommDataset([(str(tmp_path / name), 0, 0)], transform, relabel=False)[0]["images"].numpy()
        ours = read_image(str(tmp_path / name), tuple(cfg.INPUT.SIZE_TEST))
        assert ours.shape == expected.shape == (3, 32, 16) and ours.dtype == np.float32
        np.testing.assert_array_equal(ours, expected)


def test_export_cli_errors(export_tool, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        export_tool(["--format", "onnx", "--output", str(tmp_path / "m.onnx")])
    assert exit_.value.code == 2 and "a model is needed" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        export_tool(["--run-dir", str(tmp_path), "--format", "tensorrt", "--output", str(tmp_path / "m")])
    assert exit_.value.code == 2 and "argument --format" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:  # an empty folder is no run
        export_tool(["--run-dir", str(tmp_path), "--format", "onnx", "--output", str(tmp_path / "m.onnx")])
    assert exit_.value.code == 2 and "config.yaml" in capsys.readouterr().err
