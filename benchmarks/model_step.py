"""Time and peak memory of one RAE training step, per module set (Table IV's columns).

One step = the generator forward + backward (Enc, heads, Dec, fusion; Eq. (9), (17), (21)) and
the discriminator forward + backward (Eq. (8), (13)) on a source and a target batch; no
optimizer update. Variants: baseline (Enc with CE + triplet on source ids and target
pseudo-ids), +FT, +FT+PT, +FT+PT+F. Numbers are printed absolute and as ratios to baseline.

CPU (default): configs/RAE/synthetic/Base-RAE-cpu.yml (ResNet-18) at 64 x 32, 16 + 16 images;
peak memory = growth of the process's peak RSS during the first step over its RSS before it
(activations, gradients; each variant runs in a fresh subprocess so peaks do not mix).
GPU (--device cuda): configs/RAE/Base-RAE.yml (ResNet-50, last stride 1) at 256 x 128,
72 + 72 images, AMP off and on; peak memory = torch.cuda.max_memory_allocated growth.
--flops: the paper-sized step (ResNet-50, 256 x 128) counted in FLOPs on the CPU with
torch.utils.flop_counter (batch 4 + 4: the ratios do not depend on the batch), a
hardware-independent estimate of the GPU ratios.

    python benchmarks/model_step.py                 # CPU
    python benchmarks/model_step.py --threads 1     # CPU, one thread (steadier on a busy machine)
    python benchmarks/model_step.py --flops         # FLOPs of the paper-sized step
    python benchmarks/model_step.py --config configs/RAE/imagenet_cpu/Base-RAE-imagenet-cpu.yml
    python benchmarks/model_step.py --device cuda   # GPU, AMP off and on
    python benchmarks/model_step.py --flops -- RAE.PIXEL_TRANSFER.DECODER.CHANNELS "[128, 32]"
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

VARIANTS = {
    "baseline": {"FEATURE_TRANSFER": False, "PIXEL_TRANSFER": False, "FUSION": False},
    "+FT": {"FEATURE_TRANSFER": True, "PIXEL_TRANSFER": False, "FUSION": False},
    "+FT+PT": {"FEATURE_TRANSFER": True, "PIXEL_TRANSFER": True, "FUSION": False},
    "+FT+PT+F": {"FEATURE_TRANSFER": True, "PIXEL_TRANSFER": True, "FUSION": True},
}
DEVICE_DEFAULTS = {
    "cpu": {"config": "configs/RAE/synthetic/Base-RAE-cpu.yml", "ids": 4, "per_id": 4},
    "cuda": {"config": "configs/RAE/Base-RAE.yml", "ids": 18, "per_id": 4},
    "flops": {"config": "configs/RAE/Base-RAE.yml", "ids": 2, "per_id": 2},
}
NUM_SOURCE_IDS, NUM_TARGET_IDS = 751, 500  # Market-1501 train ids; a typical cluster count


def current_rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def measure(args) -> dict:
    """Worker: build one variant, run warm-up + timed steps, return the numbers."""
    import torch

    import fastreid_rae  # noqa: F401  (compat shims before fastreid)
    import fastreid_rae.modeling  # noqa: F401
    from fastreid.config import get_cfg
    from fastreid.modeling import build_model
    from fastreid_rae.config import add_rae_config

    torch.manual_seed(0)
    if args.threads:
        torch.set_num_threads(args.threads)
    defaults = DEVICE_DEFAULTS["flops" if args.flops else args.device]
    cfg = get_cfg()
    add_rae_config(cfg)
    cfg.merge_from_file(str(REPO / (args.config or defaults["config"])))
    switches = VARIANTS[args.variant]
    cfg.merge_from_list([
        "MODEL.DEVICE", args.device, "MODEL.BACKBONE.PRETRAIN", False, "MODEL.HEADS.NUM_CLASSES", NUM_SOURCE_IDS,
        *[item for module, on in switches.items() for item in (f"RAE.{module}.ENABLED", on)],
    ])
    cfg.merge_from_list(args.opts)
    model = build_model(cfg).train()
    model.reset_target_classifier(NUM_TARGET_IDS)

    height, width = cfg.INPUT.SIZE_TRAIN
    n = defaults["ids"] * defaults["per_id"]

    def domain_batch(num_classes):
        ids = torch.randint(num_classes, (defaults["ids"],), device=args.device)
        return {"images": torch.rand(n, 3, height, width, device=args.device) * 255,
                "targets": ids.repeat_interleave(defaults["per_id"])}

    source, target = domain_batch(NUM_SOURCE_IDS), domain_batch(NUM_TARGET_IDS)
    cuda = args.device == "cuda"
    autocast = torch.autocast("cuda", dtype=torch.float16) if args.amp else nullcontext()

    def step():
        with autocast:
            losses = model(source, target)
        sum(losses.values()).backward()
        with autocast:
            discriminator_losses = model.discriminator_losses()
        if discriminator_losses:
            sum(discriminator_losses.values()).backward()
        model.zero_grad(set_to_none=True)

    def synchronize():
        if cuda:
            torch.cuda.synchronize()

    if args.flops:
        from torch.utils.flop_counter import FlopCounterMode
        counter = FlopCounterMode(display=False)
        with counter:
            step()
        return {"variant": args.variant, "amp": False, "gflops": counter.get_total_flops() / 1e9,
                "params_m": sum(p.numel() for p in model.parameters()) / 1e6}

    if cuda:
        torch.backends.cudnn.benchmark = True
        synchronize()
        allocated_before = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
    rss_before = current_rss_mib()
    step()  # first step: its peak is the step's working memory
    synchronize()
    if cuda:
        peak_mib = (torch.cuda.max_memory_allocated() - allocated_before) / 2**20
    else:
        peak_mib = peak_rss_mib() - rss_before
    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.steps):
        synchronize()
        start = time.perf_counter()
        step()
        synchronize()
        times.append(time.perf_counter() - start)
    return {"variant": args.variant, "amp": args.amp, "step_ms": 1000 * statistics.median(times),
            "step_ms_min": 1000 * min(times), "peak_mib": peak_mib,
            "params_m": sum(p.numel() for p in model.parameters()) / 1e6}


def run_variant(args, variant: str, amp: bool) -> dict:
    command = [sys.executable, __file__, "--worker", "--variant", variant, "--device", args.device,
               "--steps", str(args.steps), "--warmup", str(args.warmup), "--threads", str(args.threads)]
    command += (["--amp"] if amp else []) + (["--flops"] if args.flops else [])
    command += (["--config", args.config] if args.config else []) + ["--", *args.opts]
    completed = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def combine_rounds(runs):
    """Per variant over rounds: median of the medians, min of the mins, max of the peaks."""
    combined = dict(runs[0])
    if "step_ms" in combined:
        combined["step_ms"] = statistics.median(run["step_ms"] for run in runs)
        combined["step_ms_min"] = min(run["step_ms_min"] for run in runs)
        combined["peak_mib"] = max(run["peak_mib"] for run in runs)
    return combined


def print_table(rows):
    base = rows[0]
    if "gflops" in base:
        print("| variant | params (M) | GFLOPs per step | x baseline |")
        print("|---|---:|---:|---:|")
        for row in rows:
            print(f"| {row['variant']} | {row['params_m']:.1f} | {row['gflops']:.0f} "
                  f"| {row['gflops'] / base['gflops']:.2f} |")
        return
    print("| variant | params (M) | step (ms, median) | x baseline | step (ms, min) | x baseline "
          "| peak memory (MiB) | x baseline |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['variant']} | {row['params_m']:.1f} | {row['step_ms']:.0f} "
              f"| {row['step_ms'] / base['step_ms']:.2f} "
              f"| {row['step_ms_min']:.0f} | {row['step_ms_min'] / base['step_ms_min']:.2f} "
              f"| {row['peak_mib']:.0f} | {row['peak_mib'] / base['peak_mib']:.2f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--steps", type=int, default=5, help="timed steps (median reported)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="runs of every variant, interleaved")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--flops", action="store_true", help="count FLOPs of the paper-sized step instead")
    parser.add_argument("--config", default=None,
                        help="config to time instead of the device's (e.g. "
                             "configs/RAE/imagenet_cpu/Base-RAE-imagenet-cpu.yml)")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides, KEY VALUE ... (after --)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--variant", choices=list(VARIANTS), help=argparse.SUPPRESS)
    parser.add_argument("--amp", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.opts = [opt for opt in args.opts if opt != "--"]
    if args.worker:
        print(json.dumps(measure(args)))
        return

    import torch
    if args.flops and args.device != "cpu":
        parser.error("--flops counts on the CPU; leave --device out")
    if args.flops:
        args.rounds = 1  # FLOPs are deterministic
    defaults = DEVICE_DEFAULTS["flops" if args.flops else args.device]
    threads = args.threads or torch.get_num_threads()
    print(f"# RAE training step: {'FLOPs' if args.flops else args.device}, "
          f"{args.config or defaults['config']} (its INPUT.SIZE_TRAIN), "
          f"{defaults['ids']}x{defaults['per_id']} images per domain; "
          f"torch {torch.__version__}, {threads} threads, {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}"
          + (f"; overrides {' '.join(args.opts)}" if args.opts else ""))
    if args.device == "cuda":
        print(f"# {torch.cuda.get_device_name()}")
    for amp in ([False, True] if args.device == "cuda" else [False]):
        if args.device == "cuda":
            print(f"\nAMP {'on' if amp else 'off'}")
        # rounds interleave the variants, so a burst of load from other processes hits all alike
        rounds = [[run_variant(args, variant, amp) for variant in VARIANTS] for _ in range(args.rounds)]
        print_table([combine_rounds([r[i] for r in rounds]) for i in range(len(VARIANTS))])
    print(f"\n# load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
