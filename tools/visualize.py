#!/usr/bin/env python
"""Pictures of trained models and runs, each written as a PNG (docs/visualization.md).

    python tools/visualize.py ranklist --run-dir logs/baseline --run-dir logs/rae --output ranks.png
    python tools/visualize.py reconstruct --run-dir logs/rae --output fig5.png
    python tools/visualize.py tsne --config-file a.yml --weights a.pth --run-dir logs/rae --output tsne.png
    python tools/visualize.py curves --run-dir logs/rae --output curves.png
    python tools/visualize.py gradients --run-dir logs/rae --weights logs/rae/model_0010.pth \
        --run-dir logs/rae --output gradients.png

A model is a run directory (its config.yaml and model_final.pth) or --config-file with
--weights; --weights and --name after a model apply to it. KEY VALUE pairs at the end
override every model's config (e.g. DATASETS.ROOT /data/reid MODEL.DEVICE cpu).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import fastreid_rae  # noqa: E402,F401  (fastreid compat shims + registrations, before fastreid)
from fastreid_rae import visualization  # noqa: E402
from fastreid_rae.cli import output_file, positive_int, run_tool  # noqa: E402
from fastreid_rae.engine.preflight import INPUT_ERRORS  # noqa: E402
from fastreid_rae.visualization.tsne import COLOR_BY  # noqa: E402

USER_ERRORS = INPUT_ERRORS + (visualization.VisualizationError, FileNotFoundError)


class _AddModel(argparse.Action):
    """--run-dir / --config-file start a model; --weights / --name complete the last one, so
    several models keep the order they were given in."""

    def __call__(self, parser, namespace, value, option_string=None):
        models = getattr(namespace, "models", None) or []
        if self.dest in ("run_dir", "config_file"):
            models.append({self.dest: value})
        elif not models or self.dest in models[-1]:
            parser.error(f"{option_string} must follow the --run-dir or --config-file it belongs to")
        else:
            models[-1][self.dest] = value
        namespace.models = models


def _model_options(parser, max_models):
    title = f"models (up to {max_models}, in order)" if max_models > 1 else "model"
    group = parser.add_argument_group(title)
    for flag, what in (("--run-dir", "a run directory with config.yaml and model_final.pth"),
                       ("--config-file", "a config file (then --weights)"),
                       ("--weights", "checkpoint of the model just given"),
                       ("--name", "label of the model just given (default: folder or file name)")):
        group.add_argument(flag, action=_AddModel, metavar="PATH" if flag != "--name" else "NAME", help=what)
    parser.set_defaults(models=[], max_models=max_models)


def _sampling_options(parser, count_flag, count, what):
    parser.add_argument(count_flag, type=positive_int, default=count, help=f"{what} (default {count})")
    parser.add_argument("--seed", type=int, default=0, help="picks the images (default 0)")


def _feature_option(parser):
    parser.add_argument("--feature-kind", default="final", choices=("final", "encoder", "fusion"),
                        help="RAE feature: Algorithm 2's (final), Enc's, or the fused one")


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    ranklist = commands.add_parser("ranklist", help="top-k gallery of target queries, models side by side")
    _model_options(ranklist, max_models=2)
    _sampling_options(ranklist, "--num-queries", 6, "queries, one row each")
    ranklist.add_argument("--top-k", type=positive_int, default=5, help="gallery images per query and model (default 5)")
    ranklist.add_argument("--dataset", help="test set (default: the first model's DATASETS.TESTS[0])")
    _feature_option(ranklist)

    reconstruct = commands.add_parser("reconstruct", help="Fig. 5: images and Dec(Enc(I)) of both domains")
    _model_options(reconstruct, max_models=1)
    _sampling_options(reconstruct, "--num-images", 6, "images per domain")

    tsne = commands.add_parser("tsne", help="t-SNE of source and target features, models side by side")
    _model_options(tsne, max_models=2)
    _sampling_options(tsne, "--num-images", 200, "images per domain")
    tsne.add_argument("--color-by", default="domain", choices=COLOR_BY)
    _feature_option(tsne)

    gradients = commands.add_parser("gradients", help="each loss term's gradient norm on Enc, checkpoints side by side")
    _model_options(gradients, max_models=4)
    _sampling_options(gradients, "--num-batches", 3, "source + target batches averaged")

    curves = commands.add_parser("curves", help="losses and pseudo-label quality of one run")
    curves.add_argument("--run-dir", required=True, help="a run directory with metrics.json")

    for command in (ranklist, reconstruct, tsne, gradients, curves):
        command.add_argument("--output", required=True, type=output_file, help="PNG file to write")
        if command is not curves:
            command.add_argument("opts", nargs=argparse.REMAINDER, metavar="KEY VALUE",
                                 help="config overrides for every model")
    return parser


def _sources(parser, args):
    if not 1 <= len(args.models) <= args.max_models:
        parser.error(f"{args.command} takes 1 to {args.max_models} models (--run-dir or --config-file), "
                     f"got {len(args.models)}")
    try:
        return [visualization.ModelSource.resolve(**model) for model in args.models]
    except (FileNotFoundError, visualization.VisualizationError) as error:
        parser.error(str(error))


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "curves":
        path = visualization.draw_curves(args.run_dir, args.output)
    else:
        sources = _sources(parser, args)
        if args.command == "ranklist":
            path = visualization.draw_ranklist(sources, args.output, num_queries=args.num_queries,
                                               top_k=args.top_k, seed=args.seed, kind=args.feature_kind,
                                               dataset=args.dataset, opts=args.opts)
        elif args.command == "gradients":
            path, table = visualization.draw_gradients(sources, args.output, num_batches=args.num_batches,
                                                       seed=args.seed, opts=args.opts)
            print(table)
        elif args.command == "reconstruct":
            path = visualization.draw_reconstructions(sources[0], args.output, num_images=args.num_images,
                                                      seed=args.seed, opts=args.opts)
        else:
            path = visualization.draw_tsne(sources, args.output, num_images=args.num_images, seed=args.seed,
                                           kind=args.feature_kind, color_by=args.color_by, opts=args.opts)
    print(path)
    return path


if __name__ == "__main__":
    run_tool(main, USER_ERRORS)
