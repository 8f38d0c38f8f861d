"""Time of one optimizer update of the whole RAE model, fused against per-tensor kernels.

The trainer's generator optimizer (Enc at RAE.SOLVER.ENCODER_LR, the rest at SOLVER.BASE_LR;
Sec. IV-B) and discriminator optimizer, built by UDATrainer from a config with
RAE.SOLVER.FUSED on and off, step on fixed random gradients. The model_step benchmark
leaves this update out; on a small CPU model it is a sizeable part of an iteration.

Configs: the CPU one (configs/RAE/synthetic/Base-RAE-cpu.yml: ResNet-18, Adam) and the
paper's (configs/RAE/Base-RAE.yml: ResNet-50, SGD with momentum), both full RAE (FT + PT + F).

    python benchmarks/optimizer_step.py
    python benchmarks/optimizer_step.py --threads 1 --steps 20
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CONFIGS = {
    "cpu (ResNet-18, Adam)": "configs/RAE/synthetic/Base-RAE-cpu.yml",
    "paper (ResNet-50, SGD)": "configs/RAE/Base-RAE.yml",
}
NUM_SOURCE_IDS, NUM_TARGET_IDS = 751, 500  # as benchmarks/model_step.py


def build_optimizers(config: str, fused: bool):
    import fastreid_rae  # noqa: F401  (compat shims before fastreid)
    from fastreid.config import get_cfg
    from fastreid.modeling import build_model
    from fastreid_rae.config import add_rae_config
    from fastreid_rae.engine import UDATrainer

    cfg = get_cfg()
    add_rae_config(cfg)
    cfg.merge_from_file(str(REPO / config))
    cfg.merge_from_list(["MODEL.DEVICE", "cpu", "MODEL.BACKBONE.PRETRAIN", False,
                         "MODEL.HEADS.NUM_CLASSES", NUM_SOURCE_IDS, "RAE.SOLVER.FUSED", fused])
    model = build_model(cfg)
    model.reset_target_classifier(NUM_TARGET_IDS)
    generator, _ = UDATrainer.build_optimizer(cfg, model)
    discriminator = UDATrainer.build_discriminator_optimizer(cfg, model)
    return model, [generator, discriminator]


def time_steps(config: str, fused: bool, steps: int) -> dict:
    import torch

    torch.manual_seed(0)
    model, optimizers = build_optimizers(config, fused)
    for p in model.parameters():
        p.grad = torch.randn_like(p)
    times = []
    for step in range(steps + 3):  # 3 warm-up steps: the optimizer state is created lazily
        start = time.perf_counter()
        for optimizer in optimizers:
            optimizer.step()
        if step >= 3:
            times.append(time.perf_counter() - start)
    params = sum(p.numel() for p in model.parameters()) / 1e6
    return {"params": params, "median_ms": 1000 * statistics.median(times)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.steps} steps")
    print("| config | params (M) | per-tensor (ms, median) | fused (ms, median) | per-tensor / fused |")
    print("|---|---:|---:|---:|---:|")
    for name, config in CONFIGS.items():
        plain = time_steps(config, fused=False, steps=args.steps)
        fused = time_steps(config, fused=True, steps=args.steps)
        print(f"| {name} | {plain['params']:.1f} | {plain['median_ms']:.1f} | {fused['median_ms']:.1f} "
              f"| {plain['median_ms'] / fused['median_ms']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
