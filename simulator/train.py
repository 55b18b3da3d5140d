"""Training: `python -m simulator train` (the DiT) and `train-vae` (the optional video VAE).

One script for one CPU process, one GPU, or many GPUs and nodes under torchrun (DDP).
Every random draw (batches, timesteps, noise, caption dropout) comes from one torch.Generator
in a fixed order and the *global* batch is drawn the same way for any world size, each
process taking its slice; the generator's state is checkpointed, so a run killed and
resumed from its last checkpoint continues exactly as if it had never stopped.
"""
from __future__ import annotations

import copy
import json
import math
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel as DDP
from tqdm import tqdm

from . import checkpoint as ckpt
from .config import Config, ConfigError, TrainConfig
from .data import (
    BatchPlan,
    ClipSet,
    data_plan,
    ensure_episodes,
    load_clipsets,
    to_model_range,
)
from .diffusion import flow_loss, logit_normal, token_frame_noise
from .model import DiT
from .tokenizer import encode_batch
from .vae import VideoVAE

VAL_SEED = 987_654  # validation batches are the same at every evaluation


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self):
        if self.world > 1:
            dist.barrier()


def setup_dist() -> Dist:
    """torchrun's environment -> a process group (nccl on GPUs, gloo on CPU); plain runs get world 1."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device(f"cuda:{local}" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Dist(dist.get_rank() if dist.is_initialized() else 0, world, device)


class FlowObjective(nn.Module):
    """The DiT and its loss in one module, so DDP sees one forward per step."""

    def __init__(self, model: DiT, motion_weight: float = 0.0, flow_weight: float = 0.0):
        super().__init__()
        self.model, self.motion_weight, self.flow_weight = model, motion_weight, flow_weight

    def forward(self, x0, n_context: int, ids, drop, t, noise, context_t=None):
        return flow_loss(self.model, x0, n_context, self.model.encode_text(ids, drop), t, noise, context_t,
                         self.motion_weight, self.flow_weight)


def build_model(cfg: Config, device: torch.device) -> tuple[DiT, VideoVAE | None]:
    """The DiT (seeded with train.seed) and the frozen VAE when model.vae names one."""
    vae = load_vae(cfg.model.vae, device) if cfg.model.vae else None
    if vae is not None:  # the DiT's checkpoint carries the VAE's config and weights
        cfg.model.in_channels, cfg.vae = vae.cfg.latent_channels, copy.deepcopy(vae.cfg)
    torch.manual_seed(cfg.train.seed)
    return DiT(cfg.model).to(device), vae


def load_vae(path: str, device: torch.device) -> VideoVAE:
    manifest = ckpt.read_manifest(path)
    if manifest.get("kind") != "vae":
        raise ckpt.CheckpointError(f"{path}: model.vae must name a VAE checkpoint, this one is '{manifest.get('kind')}'")
    vae = VideoVAE(ckpt.read_config(manifest, path).vae)
    ckpt.load_state(vae, ckpt.load_group(path, "model", manifest), path)
    return vae.to(device).eval().requires_grad_(False)


def lr_at(step: int, tc: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to min_lr at the last step."""
    if step < tc.warmup:
        return tc.lr * (step + 1) / tc.warmup
    frac = (step - tc.warmup) / max(1, tc.steps - tc.warmup)
    return tc.min_lr + 0.5 * (tc.lr - tc.min_lr) * (1 + math.cos(math.pi * min(frac, 1.0)))


def make_optimizer(model: nn.Module, tc: TrainConfig) -> torch.optim.AdamW:
    decay = [p for p in model.parameters() if p.dim() >= 2]
    other = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": tc.weight_decay}, {"params": other, "weight_decay": 0.0}],
                             lr=tc.lr, betas=tc.betas)


@dataclass
class Draw:
    """One global batch's random draws, made on the CPU in the stream's order; the frames come later."""
    plan: BatchPlan
    n_context: int                    # clean context frames as the model sees them (latent frames with a VAE)
    ids: torch.Tensor                 # (B, L) caption tokens
    drop: torch.Tensor                # (B,) caption dropped
    t: torch.Tensor                   # (B,) or (B, T - n_context) noise levels
    noise: torch.Tensor | None        # drawn here from a CPU noise generator; None: on the device, later
    context_t: torch.Tensor | None
    rng: dict                         # the CPU generators' states right after these draws (what a checkpoint keeps)


def draw_randoms(batch_src: ClipSet, gen: torch.Generator, cfg: Config, vae: VideoVAE | None,
                 frame_noise: bool | None = None, noise_gen: torch.Generator | None = None) -> Draw:
    """Every CPU random draw of one step, in this order: the clips (ClipSet.plan), caption dropout, the
    noise levels, the noise (when its generator is on the CPU), the context's noise level."""
    noise_gen = gen if noise_gen is None else noise_gen
    plan = batch_src.plan(gen, cfg.train.batch_size)
    (T, H, W), B = plan.size, len(plan.clips)
    shape = (B, T, H, W, 3)
    if vae is not None:
        if plan.n_context % vae.cfg.temporal:
            raise ConfigError(f"data.context {plan.n_context} must divide by vae.temporal {vae.cfg.temporal}")
        shape = vae.latent_shape(shape)
    n_ctx = plan.n_context // (vae.cfg.temporal if vae is not None else 1)
    ids = encode_batch(batch_src.captions_of(plan), cfg.model.vocab_size, cfg.model.max_text_len)
    drop = torch.rand(B, generator=gen) < cfg.train.caption_dropout
    if cfg.train.frame_noise if frame_noise is None else frame_noise:  # diffusion forcing: a level per generated token-frame
        pt = cfg.model.patch[0]
        k = (shape[1] - n_ctx) // pt
        t = token_frame_noise(logit_normal(B * k, cfg.train.t_mean, cfg.train.t_std, gen).view(-1, k), pt)  # (B, T - n_ctx)
    else:
        t = logit_normal(B, cfg.train.t_mean, cfg.train.t_std, gen)
    noise = torch.randn(shape, generator=noise_gen) if noise_gen.device.type == "cpu" else None
    context_t = cfg.train.context_noise * torch.rand(B, generator=gen) if cfg.train.context_noise > 0 else None
    rng = {"rng.data": gen.get_state()}
    if noise_gen is not gen and noise is not None:
        rng["rng.noise"] = noise_gen.get_state()
    return Draw(plan, n_ctx, ids, drop, t, noise, context_t, rng)


def materialise(draw: Draw, frames: torch.Tensor, vae: VideoVAE | None, device,
                noise_gen: torch.Generator | None = None):
    """The step's tensors on the device, (x0, n_context, ids, drop, t, noise, context_t), from its draws and
    its frames (B, T, H, W, 3) uint8: the frames travel as bytes and become floats on the device; noise
    not drawn yet is drawn here, from `noise_gen` on the device, in step order."""
    x0 = to_model_range(frames.to(device, non_blocking=True))
    if vae is not None:
        with torch.no_grad():
            x0 = vae.latent(x0)
    noise = draw.noise.to(device) if draw.noise is not None else \
        torch.randn(x0.shape, generator=noise_gen, device=noise_gen.device)
    context_t = None if draw.context_t is None else draw.context_t.to(device)
    return x0, draw.n_context, draw.ids.to(device), draw.drop.to(device), draw.t.to(device), noise, context_t


def draw_step(batch_src: ClipSet, gen: torch.Generator, cfg: Config, vae: VideoVAE | None, device,
              frame_noise: bool | None = None, noise_gen: torch.Generator | None = None):
    """One global batch and all its randomness: (x0, n_context, ids, drop, t, noise, context_t); context_t
    is None for clean context (train.context_noise = 0, which also leaves the random stream as it was).
    t is (B,), or (B, T - n_context) with `frame_noise` (default: train.frame_noise). The noise comes from
    `noise_gen` (default: `gen`), which may live on the device (see noise_generator)."""
    draw = draw_randoms(batch_src, gen, cfg, vae, frame_noise, noise_gen)
    return materialise(draw, batch_src.frames(draw.plan), vae, device, noise_gen)


class Draws:
    """The training steps' draws, one after another: the same numbers as draw_step's. With `ahead`, the next
    step's draws are made, and its frames read, decoded and resized (pinned for a GPU), on a background
    thread while this step computes: on a GPU a step is shorter than reading its batch, and on a CPU the
    noise draw alone is a few percent of a step. Only that thread touches the generators until it is done,
    in the stream's order, so the results are the same either way (tests). `rng()` is the generators'
    state after the draws handed out last: what a checkpoint of this step keeps."""

    def __init__(self, src: ClipSet, gen, noise_gen, cfg: Config, vae, device, ahead: bool):
        self.src, self.gen, self.noise_gen, self.cfg, self.vae, self.device = src, gen, noise_gen, cfg, vae, device
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="batches") if ahead else None
        self.pin = torch.device(device).type == "cuda"
        self.pending, self.last = None, None

    def _draw(self) -> tuple[Draw, torch.Tensor]:
        draw = draw_randoms(self.src, self.gen, self.cfg, self.vae, noise_gen=self.noise_gen)
        frames = self.src.frames(draw.plan)
        return draw, frames.pin_memory() if self.pin else frames

    def next(self, more: bool):
        """This step's tensors on the device; `more`: another step follows (drawn ahead now)."""
        draw, frames = self.pending.result() if self.pending is not None else self._draw()
        self.pending = self.pool.submit(self._draw) if self.pool is not None and more else None
        self.last = draw
        return materialise(draw, frames, self.vae, self.device, self.noise_gen)

    def rng(self) -> dict:
        state = dict(self.last.rng)
        if self.noise_gen.device.type != "cpu":  # drawn step by step on the device: its live state
            state["rng.noise"] = self.noise_gen.get_state()
        return state

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def noise_generator(gen: torch.Generator, device: torch.device, seed: int) -> torch.Generator:
    """Where the training noise is drawn: `gen` itself on a CPU; on a GPU, a generator there seeded alike.
    A CPU draw of a batch's noise (32 clips of 32x64x64x3) takes about 0.2 s, three GPU steps of the
    S config, so a CPU generator would leave the GPU idle. GPU runs are reproducible on GPUs; their noise
    is not the CPU run's."""
    return gen if device.type == "cpu" else torch.Generator(device).manual_seed(seed)


def _slice(items, rank: int, world: int):
    x0, n_ctx, ids, drop, t, noise, context_t = items
    n = x0.shape[0] // world
    s = slice(rank * n, (rank + 1) * n)
    return x0[s], n_ctx, ids[s], drop[s], t[s], noise[s], None if context_t is None else context_t[s]


@torch.no_grad()
def validation_loss(model: DiT, val: ClipSet, cfg: Config, vae, device) -> float:
    gen = torch.Generator().manual_seed(VAL_SEED)
    losses = []
    for _ in range(cfg.train.val_batches):
        # one level a clip and clean context, whatever the training draws: runs compare
        x0, n_ctx, ids, _, t, noise, _ = draw_step(val, gen, cfg, vae, device, frame_noise=False)
        losses.append(flow_loss(model, x0, n_ctx, model.encode_text(ids), t, noise).item())
    return sum(losses) / len(losses)


def _check_resume(manifest: dict, cfg: Config, out: Path) -> None:
    """A run resumes only with the model and data it started with."""
    old, new = ckpt.read_config(manifest, out).to_dict(), cfg.to_dict()
    for section in ("model", "data"):
        for k, v in old[section].items():
            if k != "in_channels" and v != new[section][k]:
                raise ckpt.CheckpointError(f"{out}: checkpoint has {section}.{k}={v!r}, the config says "
                                           f"{new[section][k]!r}; use another --out or the same config")


def train(cfg: Config, out: str | Path, data: tuple[ClipSet, ClipSet] | None = None, progress: bool = True,
          stop_after: int | None = None, workers: int = 1) -> dict:
    """Train (or resume) the DiT into `out`; returns the last log entry. `stop_after` ends this process
    after that many steps as a kill would (after the checkpoint of a multiple of eval_every)."""
    tc, out = cfg.train, Path(out)
    d = setup_dist()
    if tc.threads > 0:
        torch.set_num_threads(tc.threads)
    if tc.batch_size % d.world:
        raise ConfigError(f"train.batch_size {tc.batch_size} must divide by the {d.world} processes")
    if (out / ckpt.MANIFEST).is_file():  # a resumed run must match before any work starts
        _check_resume(ckpt.read_manifest(out), cfg, out)
    if data is None:
        if d.main:
            ensure_episodes(cfg.data, workers=workers, progress=progress)
        d.barrier()
        data = load_clipsets(cfg.data, ensure_episodes(cfg.data, progress=False))
        plan = data_plan(cfg.data)
    else:
        plan = {"in_memory": True, "n": len(data[0]) + len(data[1])}
    train_set, val_set = data
    model, vae = build_model(cfg, d.device)
    ema = copy.deepcopy(model).requires_grad_(False)
    opt = make_optimizer(model, tc)
    gen = torch.Generator().manual_seed(tc.seed)
    noise_gen = noise_generator(gen, d.device, tc.seed)
    step, log, wall = 0, [], 0.0
    if (out / ckpt.MANIFEST).is_file():
        step, log, wall = _resume(out, cfg, model, ema, opt, gen, noise_gen)
    objective = FlowObjective(model, cfg.train.motion_weight, cfg.train.flow_weight)
    if tc.compile:
        objective = torch.compile(objective)
    if d.world > 1:
        objective = DDP(objective, device_ids=[d.device.index] if d.device.type == "cuda" else None)
    amp = torch.autocast(d.device.type, dtype=torch.bfloat16) if tc.amp == "bf16" else nullcontext()
    bar = tqdm(total=tc.steps, initial=step, desc="train", unit="step", disable=not (progress and d.main))
    draws = Draws(train_set, gen, noise_gen, cfg, vae, d.device, ahead=tc.prefetch)
    t0, done_here, run_loss = time.perf_counter(), 0, []
    try:
        while step < tc.steps:
            for g in opt.param_groups:
                g["lr"] = lr_at(step, tc)
            items = _slice(draws.next(more=step + 1 < tc.steps), d.rank, d.world)
            with amp:
                loss = objective(*items)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
            opt.step()
            step, done_here = step + 1, done_here + 1
            decay = min(tc.ema, (1 + step) / (10 + step))  # short runs: EMA warms up with the step
            with torch.no_grad():
                for pe, p in zip(ema.parameters(), model.parameters()):
                    pe.lerp_(p, 1 - decay)
            bar.update()
            bar.set_postfix(loss=f"{loss.item():.4f}")
            run_loss.append(loss.item())
            entry = {"step": step, "loss": loss.item(), "grad_norm": float(gnorm), "lr": lr_at(step - 1, tc)}
            if step % tc.eval_every == 0 or step == tc.steps:
                entry["train_loss"] = sum(run_loss) / len(run_loss)  # mean since the last entry (loss is one batch)
                run_loss = []
                entry["val_loss"] = validation_loss(ema, val_set, cfg, vae, d.device)
                entry["wall_s"] = wall + time.perf_counter() - t0
                log.append(entry)
                if d.main:
                    _save(out, cfg, step, model, ema, vae, opt, draws.rng(), log, entry["wall_s"], plan, d.world)
                    if tc.score_every and (step % tc.score_every == 0 or step == tc.steps):
                        t_score = time.perf_counter()
                        entry.update(score_checkpoint(out, step, tc.score_limit))
                        t0 += time.perf_counter() - t_score  # scoring time is not training wall time
                        _save(out, cfg, step, model, ema, vae, opt, draws.rng(), log, entry["wall_s"], plan, d.world)
                d.barrier()
                if stop_after is not None and done_here >= stop_after:
                    break
            elif stop_after is not None and done_here >= stop_after:
                break  # killed between checkpoints: the next run resumes from the last one
    finally:
        draws.close()
        bar.close()
    return log[-1] if log else {}


def score_checkpoint(out: Path, step: int, limit: int = 0) -> dict:
    """The default-suite scores of the checkpoint just saved in `out`, next to the ceiling, from
    `python -m physics_evals run` in a child process: the simulator never imports the harness (the
    import rule runs the other way), and a failed evaluation is recorded, not fatal to training.
    Held-out episodes and the ceiling's rollouts are cached by the harness, so later scores are cheaper."""
    # beside the run, not inside it: the harness fingerprints the checkpoint folder, so rollouts written
    # into it would change the fingerprint and orphan themselves ("no cached rollout")
    scores = out.parent / f"{out.name}-scores"
    folder = scores / f"step-{step:07d}"
    cmd = [sys.executable, "-m", "physics_evals", "run", "--models", "resimulated", f"dit=checkpoint:{out}",
           "--suite", "default", "--out", str(folder), "--rollouts-root", str(scores / "rollouts"),
           "--workers", "1", "--seed", "0", "--no-report", "--no-progress"] + (["--limit", str(limit)] if limit else [])
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    found = sorted(folder.glob("*/results.json"))
    if proc.returncode != 0 or not found:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        return {"score_error": lines[-1] if lines else f"exit {proc.returncode}"}
    result = json.loads(found[-1].read_text())
    failed = sum(s.get("n_failed", 0) for s in result.get("scores", []) if s.get("model") == "dit")
    if failed:  # a failed rollout scores 0 in the harness: that is an evaluation error here, not a score
        return {"score_error": f"{failed} samples of the checkpoint failed; see {found[-1]}"}
    summary = result["summary"].get("dit", {})
    return {"score": {k: summary.get(k) for k in ("overall", "permanence", "plausibility", "physics_iq")},
            "score_limit": limit, "score_s": round(time.perf_counter() - t0, 1)}


def _save(out, cfg, step, model, ema, vae, opt, rng: dict, log, wall, plan, world):
    """rng: the generators' states after this step's draws ("rng.data", and "rng.noise" when the noise has
    its own generator): Draws.rng()."""
    train_state = {f"raw.{k}": v for k, v in model.state_dict().items()}
    for i, st in opt.state_dict()["state"].items():
        train_state.update({f"opt.{i}.{k}": v.reshape(1) if v.dim() == 0 else v for k, v in st.items()})
    train_state.update(rng)
    groups = {"model": ema.state_dict(), "train": train_state}
    if vae is not None:
        groups["vae"] = vae.state_dict()
    ckpt.save(out, step, cfg, groups,
              {"kind": "dit", "data": plan, "seed": cfg.train.seed, "wall_time_s": wall, "world_size": world,
               "log": log})


def _resume(out: Path, cfg: Config, model, ema, opt, gen, noise_gen) -> tuple[int, list, float]:
    manifest = ckpt.read_manifest(out)
    if manifest.get("kind") != "dit":
        raise ckpt.CheckpointError(f"{out}: holds a '{manifest.get('kind')}' checkpoint, not a DiT run")
    ckpt.load_state(ema, ckpt.load_group(out, "model", manifest), out)
    state = ckpt.load_group(out, "train", manifest)
    ckpt.load_state(model, {k[4:]: v for k, v in state.items() if k.startswith("raw.")}, out)
    opt_state = {}
    for k, v in state.items():
        if k.startswith("opt."):
            _, i, name = k.split(".", 2)
            opt_state.setdefault(int(i), {})[name] = v.reshape(()) if name == "step" else v
    opt.load_state_dict({"state": opt_state, "param_groups": opt.state_dict()["param_groups"]})
    gen.set_state(state["rng.data"])
    if (noise_gen is not gen) != ("rng.noise" in state):  # see noise_generator
        made, here = ("a GPU", "a CPU") if "rng.noise" in state else ("a CPU", "a GPU")
        raise ckpt.CheckpointError(f"{out}: {made} run cannot resume on {here}: its noise is drawn on {made}")
    if "rng.noise" in state:
        noise_gen.set_state(state["rng.noise"])
    return manifest["step"], manifest.get("log", []), manifest["log"][-1]["wall_s"] if manifest.get("log") else 0.0


def train_vae(cfg: Config, out: str | Path, data: tuple[ClipSet, ClipSet] | None = None, progress: bool = True,
              workers: int = 1) -> dict:
    """Train the causal video VAE on reconstruction (+ a small KL); the latent scale is measured at the end."""
    vc, out = cfg.vae, Path(out)
    d = setup_dist()
    if data is None:
        data = load_clipsets(cfg.data, ensure_episodes(cfg.data, workers=workers, progress=progress))
    train_set, val_set = data
    torch.manual_seed(cfg.train.seed)
    vae = VideoVAE(vc).to(d.device)
    opt = torch.optim.AdamW(vae.parameters(), lr=vc.lr)
    gen = torch.Generator().manual_seed(cfg.train.seed)
    log = []
    for step in tqdm(range(1, vc.steps + 1), desc="train-vae", unit="step", disable=not progress):
        x = train_set.batch(gen, vc.batch_size).video.to(d.device)
        mean_shape = [x.shape[0], x.shape[1] // vc.temporal, x.shape[2] // vc.spatial, x.shape[3] // vc.spatial,
                      vc.latent_channels]
        loss, rec = vae.loss(x, torch.randn(mean_shape, generator=gen).to(d.device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), cfg.train.grad_clip)
        opt.step()
        log.append({"step": step, "loss": loss.item(), "rec": rec.item()})
    with torch.no_grad():  # unit-variance latents for the flow
        vgen = torch.Generator().manual_seed(VAL_SEED)
        z = torch.cat([vae.encode(val_set.batch(vgen, vc.batch_size).video.to(d.device))[0] for _ in range(4)])
        vae.scale.fill_(1.0 / z.std().clamp_min(1e-6).item())
        x = val_set.batch(vgen, vc.batch_size).video.to(d.device)
        log[-1]["val_rec"] = (vae.pixels(vae.latent(x)) - x).pow(2).mean().item()
    if d.main:
        ckpt.save(out, vc.steps, cfg, {"model": vae.state_dict()},
                  {"kind": "vae", "seed": cfg.train.seed, "log": log[-1:]})
    return log[-1]
