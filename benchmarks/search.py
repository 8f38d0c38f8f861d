"""Search at camera-network scale: a 100k-image index, and the model's time per image.

    .venv/bin/python benchmarks/search.py                        # 100k x d = 128, 512, 2048
    .venv/bin/python benchmarks/search.py --sizes 1000000 --dims 512
    .venv/bin/python benchmarks/search.py --threads 1 --model-batches 1 16

Index part (no model): N synthetic unit-norm float32 features of d dimensions are put in a
``fastreid_rae.deploy.FeatureIndex`` (exact inner-product search, TEST.METRIC cosine), saved
and loaded back with N image paths; then ``--queries`` queries are answered one at a time
and in one batch, top 10. "s / query" is the median over the single queries (wall and
process CPU time, all threads); the batch row divides the batch's time by its size.

Model part: the CPU configs' models (configs/RAE/imagenet_cpu/cuhk03_2_cuhk01.yml:
MobileNetV2 at 128 x 64; configs/RAE/synthetic/duke2market.yml: ResNet-18 at 64 x 32;
freshly initialised, as weights do not change the time) give each feature of
RAE.TEST_FEATURE, "fusion" (Algorithm 2: Enc -> Dec -> Enc -> fusion) and "encoder" (Enc
alone), in eval mode, from preprocessed images; time per image at each ``--model-batches``
size, median of ``--repeats``. ``--paper`` adds the paper's model (ResNet-50 at 256 x 128).
Reading and resizing the image files is not included.

On a machine shared with other jobs the wall times grow with the load; the CPU times much
less. Print ``cat /proc/loadavg`` beside the numbers.
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

TOP_K = 10


def timed(function, *args):
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def unit_features(count, dim, rng):
    features = rng.standard_normal((count, dim), dtype=np.float32)
    return features / np.linalg.norm(features, axis=1, keepdims=True)


def bench_index(size, dim, num_queries, rng):
    from fastreid_rae.deploy import FeatureIndex, ModelSignature

    features = unit_features(size, dim, rng)
    images = [f"/cameras/camera_{i % 16:02d}/{i:07d}.jpg" for i in range(size)]
    signature = ModelSignature("0" * 64, "fusion", dim, (256, 128))
    index, build_wall, build_cpu = timed(FeatureIndex.build, features, images, "cosine", signature, "", "/w.pth")
    with tempfile.TemporaryDirectory() as folder:
        _, save_wall, _ = timed(index.save, folder)
        megabytes = sum(os.path.getsize(os.path.join(folder, name)) for name in os.listdir(folder)) / 2**20
        index, load_wall, _ = timed(FeatureIndex.load, folder)
    # queries near indexed features, as a person seen again would be
    queries = features[rng.integers(0, size, num_queries)] + 0.05 * unit_features(num_queries, dim, rng)
    singles = [timed(index.search, queries[i:i + 1], TOP_K)[1:] for i in range(num_queries)]
    _, batch_wall, batch_cpu = timed(index.search, queries, TOP_K)
    single_wall, single_cpu = np.median(np.array(singles), axis=0)
    print(f"| {size:,} | {dim} | {build_wall:.2f} | {save_wall:.2f} / {load_wall:.2f} | {megabytes:.0f} | "
          f"{1000 * single_wall:.1f} ({1000 * single_cpu:.1f}) | "
          f"{1000 * batch_wall / num_queries:.2f} ({1000 * batch_cpu / num_queries:.2f}) |", flush=True)


def model_of(config, opts):
    import torch
    from fastreid.modeling import build_model

    from fastreid_rae.visualization.loading import default_config

    cfg = default_config()
    cfg.merge_from_file(str(REPO_ROOT / config))
    cfg.merge_from_list(["MODEL.BACKBONE.PRETRAIN", False, "MODEL.HEADS.NUM_CLASSES", 10, "MODEL.DEVICE", "cpu",
                         *opts])
    torch.manual_seed(0)
    return build_model(cfg).eval(), tuple(cfg.INPUT.SIZE_TEST)


def bench_model(name, config, batches, repeats):
    import torch

    for feature in ("fusion", "encoder"):
        model, size = model_of(config, ["RAE.TEST_FEATURE", feature])
        for batch in batches:
            images = torch.rand((batch, 3) + size) * 255
            with torch.no_grad():
                model(images)  # warm-up: first-call allocations
                times = np.array([timed(model, images)[1:] for _ in range(repeats)])
            wall, cpu = np.median(times, axis=0) / batch
            print(f"| {name} | {feature} | {batch} | {1000 * wall:.1f} | {1000 * cpu:.1f} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--dims", type=int, nargs="+", default=[128, 512, 2048])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--model-batches", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--paper", action="store_true", help="also the paper's ResNet-50 at 256 x 128")
    parser.add_argument("--threads", type=int, help="torch and faiss threads (default: theirs)")
    parser.add_argument("--skip-model", action="store_true")
    args = parser.parse_args()

    import faiss
    import torch

    import fastreid_rae  # noqa: F401  (fastreid compat shims before fastreid)

    if args.threads:
        torch.set_num_threads(args.threads)
        faiss.omp_set_num_threads(args.threads)
    print(f"faiss threads {faiss.omp_get_max_threads()}, torch threads {torch.get_num_threads()}, "
          f"load average {open('/proc/loadavg').read().split()[:3]}")
    print("\n| images | d | build s | save / load s | MiB | ms / query, one at a time (CPU) "
          f"| ms / query, {args.queries} at once (CPU) |\n|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for size in args.sizes:
        for dim in args.dims:
            bench_index(size, dim, args.queries, rng)
    if args.skip_model:
        return
    print("\n| model | feature | batch | ms / image | CPU ms / image |\n|---|---|---|---|---|")
    bench_model("ImageNet CPU config, MobileNetV2 128x64", "configs/RAE/imagenet_cpu/cuhk03_2_cuhk01.yml",
                args.model_batches, args.repeats)
    bench_model("synthetic CPU config, ResNet-18 64x32", "configs/RAE/synthetic/duke2market.yml",
                args.model_batches, args.repeats)
    if args.paper:
        bench_model("paper, ResNet-50 256x128", "configs/RAE/duke2market.yml", args.model_batches, args.repeats)
    print(f"\nload average after: {open('/proc/loadavg').read().split()[:3]}")


if __name__ == "__main__":
    main()
