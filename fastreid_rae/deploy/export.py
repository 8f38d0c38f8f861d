"""The inference path as a file that runs without fastreid or fastreid_rae: TorchScript
(``torch.jit.load``) or ONNX (onnxruntime, TensorRT through fastreid's tools/deploy).

What is exported is the model's own eval-mode forward, ``model(images)``: for RAE the feature
RAE.TEST_FEATURE names, Enc alone or all of Algorithm 2 (Enc -> Dec -> Enc -> fusion), with
the pixel normalisation (MODEL.PIXEL_MEAN / PIXEL_STD) inside. Input: N x 3 x H x W float32
RGB in 0..255 at INPUT.SIZE_TEST, N free (preprocessing.py, docs/deploy.md). A JSON file
beside the export says all of this for the deploying side.
"""
import json
import os
import warnings
from contextlib import contextmanager
from typing import Callable, Dict

import numpy as np
import torch

from ..atomic import atomic_open
from .errors import DeployError
from .features import FeatureModel
from .preprocessing import input_description

FORMATS = ("torchscript", "onnx")
ONNX_OPSET = 17  # onnxruntime >= 1.14 and TensorRT >= 8.6 run it
INPUT_NAME, OUTPUT_NAME = "images", "features"
_TRACE_BATCH = 2  # traced with 2 images: no batch-1 special case gets baked into the graph


@contextmanager
def _quiet_tracing():
    """Without the tracer's expected warnings: Python-side shape checks (e.g. Enc's channel
    count) become constants, which is right for a fixed input size; and the TorchScript-based
    ONNX exporter announces its deprecation on every call."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message="You are using the legacy TorchScript-based ONNX export",
                                category=DeprecationWarning)
        yield


@contextmanager
def _traceable(model: torch.nn.Module):
    """The model as torch.jit traces it: in eval mode every pass is a plain module call (the
    second Enc pass swaps in its own BN statistics, modeling/second_pass_norm.py, which the
    trace records as that module's buffers); the parity tests compare the export with it."""
    if model.training:
        raise ValueError("export needs model.eval()")
    yield model


def _example_input(model: FeatureModel) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.rand((_TRACE_BATCH, 3) + tuple(model.input_size), generator=generator) * 255


def export_torchscript(model: FeatureModel, output: str) -> str:
    with _traceable(model.model) as traceable, torch.no_grad(), _quiet_tracing():
        traced = torch.jit.trace(traceable, _example_input(model), check_trace=False)
    with atomic_open(output) as file:
        torch.jit.save(traced, file)
    return output


def export_onnx(model: FeatureModel, output: str) -> str:
    # the TorchScript-based exporter: the dynamo one needs onnxscript, and this graph has
    # nothing it cannot trace
    with _traceable(model.model) as traceable, torch.no_grad(), _quiet_tracing(), atomic_open(output) as file:
        torch.onnx.export(traceable, (_example_input(model),), file, dynamo=False, opset_version=ONNX_OPSET,
                          input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}})
    return output


EXPORTERS: Dict[str, Callable[[FeatureModel, str], str]] = {"torchscript": export_torchscript, "onnx": export_onnx}


def description_path(output: str) -> str:
    return output + ".json"


def describe(model: FeatureModel, fmt: str) -> dict:
    """What the deploying side must know about an export of ``model`` (docs/deploy.md)."""
    return {"format": fmt, "input": input_description(model.cfg),
            "output": {"name": OUTPUT_NAME, "shape": ["batch", model.signature.dim], "dtype": "float32",
                       "metric": model.cfg.TEST.METRIC},
            "model": model.signature.to_dict(), "weights": os.path.abspath(model.weights)}


def export(model: FeatureModel, fmt: str, output: str) -> str:
    """Write ``model``'s inference path to ``output`` in ``fmt`` and its description to
    ``output``.json; returns ``output``."""
    if fmt not in FORMATS:
        raise DeployError(f"format must be one of {list(FORMATS)}, got {fmt!r}")
    folder = os.path.dirname(os.path.abspath(output))
    os.makedirs(folder, exist_ok=True)
    EXPORTERS[fmt](model, output)
    with atomic_open(description_path(output), "w") as file:
        json.dump(describe(model, fmt), file, indent=1)
    return output


def load_exported(path: str, fmt: str) -> Callable[[np.ndarray], np.ndarray]:
    """``run(images) -> features`` (numpy in and out) of an exported file, with no fastreid."""
    if fmt == "torchscript":
        module = torch.jit.load(path, map_location="cpu").eval()

        def run(images: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return module(torch.from_numpy(images)).numpy()
        return run
    if fmt == "onnx":
        import onnxruntime  # the deploy extra (setup.py)

        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        return lambda images: session.run([OUTPUT_NAME], {INPUT_NAME: images})[0]
    raise DeployError(f"format must be one of {list(FORMATS)}, got {fmt!r}")


def max_difference(model: FeatureModel, run: Callable[[np.ndarray], np.ndarray], images: np.ndarray) -> float:
    """Largest absolute difference between the exported features and the model's own."""
    return float(np.abs(run(images) - model.features_of_images(images)).max())
