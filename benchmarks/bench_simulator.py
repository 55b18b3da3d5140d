"""Simulator throughput against this machine's own matrix-product rate, measured in the same run.

    .venv/bin/python benchmarks/bench_simulator.py [--config tiny] [--set key=value ...] [--steps 5]

Prints training tokens/s and achieved FLOP/s (the model's FLOPs counted by
torch.utils.flop_counter: forward + backward of every matmul, attention included), the FLOP/s of
a plain fp32 2048^3 matrix product (the limit; 8192^3 on a GPU, which a 2048 product cannot fill),
their ratio (MFU); training fed from disk as `train` feeds it (episodes read, decoded and resized
each step by simulator.train.Draws, with and without reading the next batch on a background thread)
as steps/s over the same steps on a batch already in memory (the limit; 1.00 means the data costs
nothing); and the same for sampling one clip the way the harness does (uint8 context in,
uint8 frames out, through WorldModel.continue_clip with the config's sampler, steps and guidance):
seconds per clip of the default suite (8 context frames, 24 new ones at 64x64 for the tiny config)
and the ratio to the 1 s/clip goal. On a GPU it uses bf16 autocast when train.amp=bf16 and compares
against a bf16 matrix product. The weights are random: a trained checkpoint does exactly the same
arithmetic.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from simulator.config import get_config  # noqa: E402
from simulator.data import data_plan, ensure_episodes, load_clipsets  # noqa: E402
from simulator.model import DiT, n_params  # noqa: E402
from simulator.sample import Task, WorldModel  # noqa: E402
from simulator.train import Draws, FlowObjective, make_optimizer, noise_generator  # noqa: E402


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def matmul_rate(device, dtype, n: int, reps: int = 5) -> float:
    """Best-of FLOP/s of an n^3 matrix product."""
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    best = float("inf")
    for _ in range(reps):
        sync(device)
        t0 = time.perf_counter()
        a @ b
        sync(device)
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best


def timed(fn, device, reps: int) -> float:
    """Median seconds of fn() after one warm-up call."""
    fn()
    times = []
    for _ in range(reps):
        sync(device)
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def count_flops(fn) -> int:
    """FLOPs of fn(). Attention runs on the math backend here: the counter sees its matmuls (it has no
    formula for the fused CPU attention kernel, which would count as zero)."""
    with FlopCounterMode(display=False) as fc, sdpa_kernel([SDPBackend.MATH]):
        fn()
    return fc.get_total_flops()


def fed_from_disk(cfg, device, episodes: int, steps: int, sec: float, run, opt, amp) -> None:
    """Training steps fed by simulator.train.Draws from the config's episodes on disk, reading each batch in
    its step and reading the next one on a thread, against `sec`, the same step on a batch in memory."""
    data = replace(cfg.data, episodes_per_scenario=max(1, episodes // len(data_plan(cfg.data)["scenarios"])))
    clips, _ = load_clipsets(data, ensure_episodes(data, progress=False))
    gen = torch.Generator().manual_seed(0)
    rates = {}
    for ahead in (False, True):
        draws = Draws(clips, gen, noise_generator(gen, device, 0), cfg, None, device, ahead=ahead)

        def fed_step(draws=draws):
            items = draws.next(more=True)
            with amp:
                loss = run(*items)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        rates[ahead] = timed(fed_step, device, steps)
        draws.close()
    print(f"train fed from disk ({len(clips)} episodes): {rates[False]:.3f} s/step reading each batch in the step, "
          f"{rates[True]:.3f} s/step reading the next on a thread; steps/s over in-memory steps/s: "
          f"{sec / rates[False]:.2f} and {sec / rates[True]:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="tiny")
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--steps", type=int, default=5, help="timed training steps")
    ap.add_argument("--episodes", type=int, default=64,
                    help="training episodes read from data.root for the fed-from-disk figure (made if missing)")
    a = ap.parse_args()
    cfg = get_config(a.config, a.overrides)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if cfg.train.threads > 0:
        torch.set_num_threads(cfg.train.threads)
    bf16 = cfg.train.amp == "bf16"
    amp = torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)
    torch.manual_seed(0)
    model = DiT(cfg.model).to(device)
    objective = FlowObjective(model)
    run = torch.compile(objective) if cfg.train.compile else objective
    opt = make_optimizer(model, cfg.train)
    b, (t, h, w) = cfg.train.batch_size, cfg.data.sizes[0]
    n_ctx = cfg.data.context[0]
    x = torch.randn(b, t, h, w, cfg.model.in_channels, device=device)
    ids = torch.randint(2, cfg.model.vocab_size, (b, cfg.model.max_text_len), device=device)
    drop, tt, noise = torch.zeros(b, dtype=torch.bool, device=device), torch.rand(b, device=device), torch.randn_like(x)
    tokens = b * (t // cfg.model.patch[0]) * (h // cfg.model.patch[1]) * (w // cfg.model.patch[2])

    def step():
        with amp:
            loss = run(x, n_ctx, ids, drop, tt, noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def fwd_bwd():
        with amp:
            loss = objective(x, n_ctx, ids, drop, tt, noise)
        loss.backward()

    train_flops = count_flops(fwd_bwd)
    n_mm = 8192 if device.type == "cuda" else 2048
    limit = matmul_rate(device, torch.bfloat16 if bf16 else torch.float32, n_mm)
    sec = timed(step, device, a.steps)
    print(f"device {device}, threads {torch.get_num_threads()}, config {cfg.name}, {n_params(model) / 1e6:.2f}M params, "
          f"{cfg.model.attention} attention, patch {cfg.model.patch}, batch {b} x {t}x{h}x{w}, amp {cfg.train.amp}")
    print(f"matmul {n_mm}^3 {'bf16' if bf16 else 'fp32'}: {limit / 1e9:.1f} GFLOP/s (the limit)")
    print(f"train: {sec:.3f} s/step, {tokens / sec:,.0f} tokens/s, {train_flops / 1e9:.1f} GFLOP/step, "
          f"{train_flops / sec / 1e9:.1f} GFLOP/s, MFU {train_flops / sec / limit:.2f}")

    # fed from disk: the training data path against the in-memory batch above
    if cfg.model.vae:
        print("train fed from disk: not measured for a latent model (model.vae)")
    else:
        fed_from_disk(cfg, device, a.episodes, a.steps, sec, run, opt, amp)

    # sampling: one clip of the default suite through the harness's pixel path
    tc = cfg.train
    horizon = t - n_ctx
    world = WorldModel(model, cfg)
    frames = torch.randint(0, 256, (n_ctx, h, w, 3), dtype=torch.uint8).numpy()
    task = Task(horizon=horizon, fps=cfg.data.fps, height=h, width=w)

    def gen():
        with amp:
            world.continue_clip(frames, "a red ball falls", task)

    sample_flops = count_flops(gen)
    sec = timed(gen, device, 3)
    evals = tc.sample_steps * (2 if tc.sampler == "heun" else 1) * (2 if tc.guidance != 1.0 else 1)
    print(f"sample: {sec:.3f} s/clip ({n_ctx} context + {horizon} new frames at {h}x{w}; {tc.sampler} "
          f"{tc.sample_steps} steps, guidance {tc.guidance}, <= {evals} network evaluations), "
          f"{sec / 1.0:.2f}x the 1 s/clip goal, {sample_flops / sec / 1e9:.1f} GFLOP/s, MFU {sample_flops / sec / limit:.2f}")


if __name__ == "__main__":
    main()
