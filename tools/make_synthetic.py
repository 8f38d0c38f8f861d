#!/usr/bin/env python
"""Generate the synthetic two-domain re-ID world that the demo, tests and experiments use.

    python tools/make_synthetic.py --preset small --root datasets/synthetic --seed 0
    python tools/make_synthetic.py --preset tiny --root /tmp/w --domains market,duke,msmt \
        --preview-dir docs/images
    python tools/make_synthetic.py --root world --unlabelled-copy world/my_cameras

Point fastreid's loaders (DATASETS.ROOT, or Market1501(root=...), DukeMTMC, MSMT17) at --root.
Same preset and seed give byte-identical files. See docs/synthetic_world.md.
"""
import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # run from a checkout

import fastreid_rae  # noqa: E402,F401  (first, as everywhere in this project)
from fastreid_rae.data.synthetic import (DEFAULT_DOMAINS, PRESETS, generate_world,  # noqa: E402
                                         parse_domains)
from fastreid_rae.cli import output_folder  # noqa: E402
from fastreid_rae.data.datasets import (build_dataset, unlabelled_target_images,  # noqa: E402
                                        write_unlabelled_copy)
from fastreid_rae.data.synthetic.preview import save_previews  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="small", choices=sorted(PRESETS),
                        help="size: tiny (tests), small (CPU demo), full (real dataset sizes)")
    parser.add_argument("--root", required=True, type=Path, help="world root folder to write")
    parser.add_argument("--seed", type=int, default=0,
                        help="same preset and seed give byte-identical files (default: 0)")
    parser.add_argument("--domains", default=",".join(DEFAULT_DOMAINS),
                        help="comma-separated subset of market,duke,msmt (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=None,
                        help="render processes (default: all CPU cores for full, else 1: a "
                             "process pool costs a few seconds to start, which only pays off "
                             "for a full-size world)")
    parser.add_argument("--overwrite", action="store_true",
                        help="write into a non-empty folder that is not a world (only the "
                             "world's own entries are replaced)")
    parser.add_argument("--preview-dir", type=output_folder, default=None,
                        help="also write picture sheets synthetic_<domain>.png and "
                             "synthetic_viewpoints.png into this folder")
    parser.add_argument("--unlabelled-copy", type=Path, default=None, metavar="FOLDER",
                        help="also copy the Market-like training crops into FOLDER (new or empty) "
                             "without their identities, camera in the name: a stand-in for your "
                             "own cameras (docs/deploy.md, 'Worked example')")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def _summary(card: dict) -> str:
    lines = [f"{'domain':<8} {'split':<8} {'ids':>6} {'images':>8} {'cameras':>8}  extras"]
    for domain, info in card["domains"].items():
        for split, c in info["counts"].items():
            extras = ", ".join(f"{k}={v}" for k, v in c.items() if k.endswith("_images"))
            lines.append(f"{domain:<8} {split:<8} {c['ids']:>6} {c['images']:>8} {c['cameras']:>8}  {extras}")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        domains = parse_domains(args.domains)
    except ValueError as error:
        print(f"make_synthetic: {error}", file=sys.stderr)
        return 2
    if args.unlabelled_copy is not None:
        if "market" not in domains:
            print("make_synthetic: --unlabelled-copy copies the Market-like domain's crops; "
                  "expected market in --domains", file=sys.stderr)
            return 2
        copy = args.unlabelled_copy
        if copy.exists() and (not copy.is_dir() or any(copy.iterdir())):
            print(f"make_synthetic: --unlabelled-copy '{args.unlabelled_copy}' is not empty or not a "
                  f"folder; expected a new or empty folder", file=sys.stderr)
            return 2
    workers = args.workers or ((os.cpu_count() or 1) if args.preset == "full" else 1)
    start = time.perf_counter()
    try:
        card = generate_world(args.root, preset=args.preset, seed=args.seed, domains=domains,
                              overwrite=args.overwrite, workers=workers,
                              progress=not args.no_progress)
    except (FileExistsError, NotADirectoryError, ValueError) as error:
        print(f"make_synthetic: {error}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - start
    print(_summary(card))
    print(f"wrote {args.preset} world (seed {args.seed}) to {args.root} in {elapsed:.1f} s "
          f"with {workers} worker(s)")
    if args.unlabelled_copy is not None:
        images = unlabelled_target_images(build_dataset("Market1501", str(args.root)))
        pattern = write_unlabelled_copy(images, str(args.unlabelled_copy))
        print(f"unlabelled copy: {len(images)} crops in {args.unlabelled_copy}, read by "
              f"DATASETS.FOLDER.CAMERA_PATTERN '{pattern}'")
    if args.preview_dir is not None:
        for path in save_previews(args.root, args.preview_dir, domains, seed=args.seed):
            print(f"preview: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
