#!/usr/bin/env python
"""Search one's own camera network with a trained model (docs/deploy.md).

    # index every image under a folder with the feature RAE.TEST_FEATURE names
    python tools/search.py index --run-dir logs/rae --images /data/cameras --output cameras.index
    # the 10 nearest indexed images of each query, printed and drawn
    python tools/search.py query --index cameras.index person1.jpg person2.jpg --top-k 10 --output ranks.png
    python tools/search.py query --index cameras.index person1.jpg --json

The model of ``index`` is a run directory (its config.yaml and model_final.pth) or
--config-file with --weights; ``query`` uses the index's own config and the weights it was
built with unless given a model, and refuses one with other weights (sha256) or features.
KEY VALUE pairs at the end override the model's config (e.g. MODEL.DEVICE cpu).
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import fastreid_rae  # noqa: E402,F401  (fastreid compat shims + registrations, before fastreid)
from fastreid_rae import deploy  # noqa: E402
from fastreid_rae.cli import output_file, output_folder, positive_int, run_tool  # noqa: E402
from fastreid_rae.deploy.index import CONFIG_FILE  # noqa: E402
from fastreid_rae.engine.preflight import INPUT_ERRORS  # noqa: E402
from fastreid_rae.visualization import ModelSource, VisualizationError  # noqa: E402

USER_ERRORS = INPUT_ERRORS + (deploy.DeployError, VisualizationError, FileNotFoundError)


def _model_options(parser, required: bool):
    group = parser.add_argument_group("model" if required else "model (default: the index's own)")
    group.add_argument("--run-dir", help="a run directory with config.yaml and model_final.pth")
    group.add_argument("--config-file", help="a config file (then --weights)")
    group.add_argument("--weights", help="checkpoint (default: the run directory's model_final.pth"
                       + ("" if required else ", else the one the index was built with") + ")")


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    index = commands.add_parser("index", help="index every image under a folder")
    _model_options(index, required=True)
    index.add_argument("--images", required=True, help="folder of images (searched recursively)")
    index.add_argument("--output", required=True, type=output_folder, help="folder to write the index into")

    query = commands.add_parser("query", help="the nearest indexed images of query images")
    query.add_argument("--index", required=True, help="an index folder written by the index command")
    query.add_argument("queries", nargs="+", metavar="IMAGE", help="query images")
    _model_options(query, required=False)
    query.add_argument("--top-k", type=positive_int, default=10, help="images per query (default 10)")
    query.add_argument("--output", type=output_file, help="PNG rank list to write")
    query.add_argument("--json", action="store_true", help="print the answer as JSON")

    for command in (index, query):
        command.add_argument("--batch-size", type=positive_int, default=64, help="images per forward (default 64)")
        command.add_argument("--opts", nargs=argparse.REMAINDER, default=[], metavar="KEY VALUE",
                             help="config overrides")
    return parser


def _source(parser, args, index=None) -> ModelSource:
    """The model the command line names; for a query without one, the index's config and
    the weights it recorded."""
    if args.run_dir is None and args.config_file is None:
        if index is None:
            parser.error("index needs a model: --run-dir, or --config-file with --weights")
        weights = args.weights or index.weights
        return ModelSource.resolve(config_file=os.path.join(args.index, CONFIG_FILE), weights=weights,
                                    finished_run=True)  # the index keeps its run's config.yaml
    try:
        return ModelSource.resolve(run_dir=args.run_dir, config_file=args.config_file, weights=args.weights)
    except (FileNotFoundError, VisualizationError) as error:
        parser.error(str(error))


def _print_hits(queries, hits):
    for query, query_hits in zip(queries, hits):
        print(query)
        for hit in query_hits:
            print(f"  {hit.rank:3d}  {hit.score:8.4f}  {hit.image}")


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "index":
        source = _source(parser, args)
        images = deploy.list_images(args.images)  # an empty folder fails before the model loads
        model = deploy.FeatureModel.load(source, args.opts)
        index = deploy.build_index(model, images, args.batch_size, progress=True)
        index.save(str(args.output))
        print(f"indexed {len(index)} images ({index.signature.feature} features, {index.signature.dim}-d, "
              f"{index.metric}) into {args.output}")
        return index

    index = deploy.FeatureIndex.load(args.index)
    model = deploy.FeatureModel.load(_source(parser, args, index), args.opts)
    hits = deploy.query(index, model, args.queries, args.top_k, index_name=f"index '{args.index}'",
                        batch_size=args.batch_size)
    picture = deploy.draw_search_results(args.queries, hits, index.metric, args.output) if args.output else None
    if args.json:
        print(json.dumps({"index": args.index, "metric": index.metric, "feature": index.signature.feature,
                          "picture": picture,
                          "queries": [{"image": query, "hits": [vars(hit) for hit in query_hits]}
                                      for query, query_hits in zip(args.queries, hits)]}, indent=1))
    else:
        _print_hits(args.queries, hits)
        if picture:
            print(picture)
    return hits


if __name__ == "__main__":
    run_tool(main, USER_ERRORS)
