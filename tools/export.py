#!/usr/bin/env python
"""Export a trained model's inference path to TorchScript or ONNX (docs/deploy.md).

    python tools/export.py --run-dir logs/rae --format onnx --output rae.onnx
    python tools/export.py --config-file rae.yml --weights rae.pth --format torchscript --output rae.pt

The export is the feature RAE.TEST_FEATURE names: Enc alone, or all of Algorithm 2
(Enc -> Dec -> Enc -> fusion). Input: N x 3 x H x W float32 RGB in 0..255 at
INPUT.SIZE_TEST, any N; the pixel normalisation is inside. OUTPUT.json describes it, and the
export is checked against the PyTorch model on random images before the tool returns.
KEY VALUE pairs at the end override the model's config.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

import fastreid_rae  # noqa: E402,F401  (fastreid compat shims + registrations, before fastreid)
from fastreid_rae import deploy  # noqa: E402
from fastreid_rae.cli import output_file, run_tool  # noqa: E402
from fastreid_rae.deploy.export import description_path, max_difference  # noqa: E402
from fastreid_rae.engine.preflight import INPUT_ERRORS  # noqa: E402
from fastreid_rae.visualization import ModelSource, VisualizationError  # noqa: E402

USER_ERRORS = INPUT_ERRORS + (deploy.DeployError, VisualizationError, FileNotFoundError)
CHECK_BATCH = 3  # not the traced batch size: the check also proves the batch is free
TOLERANCE = 1e-4


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    model = parser.add_argument_group("model")
    model.add_argument("--run-dir", help="a run directory with config.yaml and model_final.pth")
    model.add_argument("--config-file", help="a config file (then --weights)")
    model.add_argument("--weights", help="checkpoint (default: the run directory's model_final.pth)")
    parser.add_argument("--format", required=True, choices=deploy.FORMATS)
    parser.add_argument("--output", required=True, type=output_file, help="file to write (and OUTPUT.json)")
    parser.add_argument("opts", nargs=argparse.REMAINDER, metavar="KEY VALUE", help="config overrides")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.run_dir is None and args.config_file is None:
        parser.error("a model is needed: --run-dir, or --config-file with --weights")
    try:
        source = ModelSource.resolve(run_dir=args.run_dir, config_file=args.config_file, weights=args.weights)
    except (FileNotFoundError, VisualizationError) as error:
        parser.error(str(error))
    # traced on the CPU whatever MODEL.DEVICE says: a trace records the device of its tensors
    model = deploy.FeatureModel.load(source, list(args.opts) + ["MODEL.DEVICE", "cpu"])
    output = deploy.export(model, args.format, args.output)
    images = np.random.default_rng(0).uniform(0, 255, (CHECK_BATCH, 3) + tuple(model.input_size)).astype(np.float32)
    difference = max_difference(model, deploy.load_exported(output, args.format), images)
    if not difference <= TOLERANCE:  # not a user error: the export itself is wrong
        raise RuntimeError(f"{output} differs from the PyTorch model by up to {difference:.2e} (> {TOLERANCE:g})")
    print(f"{output} ({model.signature.feature} feature, {model.signature.dim}-d; max |difference| "
          f"{difference:.1e} on {CHECK_BATCH} random images)")
    print(description_path(output))
    return output


if __name__ == "__main__":
    run_tool(main, USER_ERRORS)
