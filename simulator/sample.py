"""Sampling: a trained checkpoint as a `WorldModel` (pixels in, pixels out) and `python -m simulator sample`.

`WorldModel.continue_clip` is the whole pixel path the harness uses (through adapter.py, which only
re-exports it): frames are resized only when the task's resolution differs from the model's, so at
the model's own size the context goes in and the prediction comes out untouched. This module never
imports adapter.py (the old adapter <-> sample import cycle).

`sample` continues an episode's first `--context` frames by `--horizon` frames and writes the
rollout in the rollout contract (`<out>/<episode_id>.npz`, rgb uint8 [T_pred, H, W, 3]) and a
side-by-side preview (truth | generated) as PNG and GIF.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from scenarios import load_episode
from toolkit.files import atomic_write_bytes

from . import checkpoint as ckpt
from .config import Config, SimulatorError
from .data import resize_video, to_model_range, to_uint8
from .diffusion import rollout
from .model import DiT, ShapeError
from .tokenizer import encode_batch
from .vae import VideoVAE


class ContextError(SimulatorError):
    """Context frames or a task the model cannot take."""


@dataclass(frozen=True)
class Task:
    """The attributes the adapter reads from a harness task (any object with them will do)."""
    horizon: int
    fps: float = 15
    height: int = 64
    width: int = 64


class WorldModel:
    """A DiT (and its VAE, if any) that continues uint8 videos at its training resolution."""

    def __init__(self, model: DiT, cfg: Config, vae: VideoVAE | None = None):
        self.model, self.cfg, self.vae = model.eval(), cfg, vae
        self.window, self.height, self.width = cfg.data.sizes[0]  # the first training size is the native one
        self.device = next(model.parameters()).device

    @classmethod
    def load(cls, path: str | Path, device: str | torch.device = "cpu") -> "WorldModel":
        """Any checkpoint folder (a run or the reference), or a file inside one. Never executes code from it."""
        manifest = ckpt.read_manifest(path)
        if manifest.get("kind") != "dit":
            raise ckpt.CheckpointError(f"{path}: a '{manifest.get('kind')}' checkpoint, not a DiT to sample from")
        cfg = ckpt.read_config(manifest, path)
        vae = None
        if "vae" in manifest["files"]:
            vae = VideoVAE(cfg.vae)
            ckpt.load_state(vae, ckpt.load_group(path, "vae", manifest), path)
            vae = vae.to(device).requires_grad_(False)
        model = DiT(cfg.model)
        ckpt.load_state(model, ckpt.load_group(path, "model", manifest), path)
        return cls(model.to(device).float(), cfg, vae)

    @property
    def temporal(self) -> int:
        return self.vae.cfg.temporal if self.vae is not None else 1

    @torch.no_grad()
    def rollout(self, context: np.ndarray, captions: list[str], horizon: int, steps: int | None = None,
                guidance: float | None = None, sampler: str | None = None, seed: int = 0) -> np.ndarray:
        """context uint8 (B, C, H, W, 3) at the model's resolution -> (B, horizon, H, W, 3) uint8."""
        tc = self.cfg.train
        if context.ndim != 5 or context.shape[-1] != 3 or context.shape[2:4] != (self.height, self.width):
            raise ShapeError(f"context must be (B, C, {self.height}, {self.width}, 3) uint8, got {context.shape}")
        unit = self.temporal * self.model.cfg.patch[0]  # frames per token-frame
        n_ctx = min(context.shape[1], max(self.cfg.data.context)) // unit * unit
        if n_ctx < 1:
            raise ShapeError(f"need at least {unit} context frames, got {context.shape[1]}")
        x = to_model_range(context[:, -n_ctx:]).to(self.device)               # (B, n_ctx, H, W, 3)
        if self.vae is not None:
            x = self.vae.latent(x)
        ids = encode_batch(captions, self.model.cfg.vocab_size, self.model.cfg.max_text_len).to(self.device)
        gen = torch.Generator(device=self.device).manual_seed(seed)
        new = rollout(self.model, x, -(-horizon // self.temporal), self.model.encode_text(ids),
                      window=self.window // self.temporal, generator=gen, steps=steps or tc.sample_steps,
                      guidance=tc.guidance if guidance is None else guidance, sampler=sampler or tc.sampler,
                      context_t=tc.context_t, stagger=tc.sample_stagger)
        if self.vae is not None:  # decode with the context in front: the decoder is causal
            new = self.vae.pixels(torch.cat([x, new], dim=1))[:, n_ctx:]
        return to_uint8(new[:, :horizon])

    def continue_clip(self, context_frames: np.ndarray, caption: str, task, steps: int | None = None,
                      guidance: float | None = None, sampler: str | None = None, seed: int = 0) -> np.ndarray:
        """uint8 (C, H, W, 3) context -> uint8 (task.horizon, task.height, task.width, 3). Resizes only when the
        task's resolution is not the model's (area average down, bilinear up); at the model's size, none."""
        frames = np.asarray(context_frames)
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] < 1:
            raise ContextError(f"context_frames must be uint8 (C, H, W, 3) with C >= 1, got {frames.dtype}{list(frames.shape)}")
        horizon, height, width = int(task.horizon), int(task.height), int(task.width)
        if horizon < 1 or height < 1 or width < 1:
            raise ContextError(f"task horizon, height and width must be positive, got {horizon}, {height}, {width}")
        native = (height, width) == (self.height, self.width)
        small = frames if native else resize_video(frames, self.height, self.width)
        pred = self.rollout(small[None], [str(caption)], horizon, steps=steps, guidance=guidance,
                            sampler=sampler, seed=seed)[0]                           # (horizon, h, w, 3)
        return pred if native else resize_video(pred, height, width)


def preview(truth: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """(T, H, 2W + 2, 3) truth | generated, a white bar between; truth shorter than pred is padded black."""
    t, h, w, _ = pred.shape
    tr = np.zeros_like(pred)
    tr[:min(t, len(truth))] = truth[:t]
    bar = np.full((t, h, 2, 3), 255, np.uint8)
    return np.concatenate([tr, bar, pred], axis=2)


def write_preview(frames: np.ndarray, stem: Path, fps: float, scale: int = 4) -> None:
    """A PNG (frames top to bottom) and an animated GIF, enlarged `scale` times."""
    from PIL import Image  # pillow comes with matplotlib
    big = frames.repeat(scale, axis=1).repeat(scale, axis=2)
    strip = np.concatenate(list(big), axis=0)
    buf = io.BytesIO()
    Image.fromarray(strip).save(buf, format="PNG")
    atomic_write_bytes(stem.with_suffix(".png"), buf.getvalue())
    buf = io.BytesIO()
    imgs = [Image.fromarray(f) for f in big]
    imgs[0].save(buf, format="GIF", save_all=True, append_images=imgs[1:], duration=int(1000 / fps), loop=0)
    atomic_write_bytes(stem.with_suffix(".gif"), buf.getvalue())


def sample_episode(checkpoint: str, episode: str, context: int, horizon: int, out: str | None = None,
                   steps: int | None = None, guidance: float | None = None, sampler: str | None = None,
                   seed: int = 0) -> Path:
    """Roll out one episode; returns the .npz path."""
    if guidance is not None and not (math.isfinite(guidance) and guidance >= 0):
        raise ContextError(f"--guidance must be a finite number >= 0, got {guidance}")
    sim = WorldModel.load(checkpoint, "cuda" if torch.cuda.is_available() else "cpu")
    ep = load_episode(episode)
    if not 1 <= context < ep.n_frames:
        raise ShapeError(f"--context {context}: the episode has {ep.n_frames} frames")
    task = Task(horizon=horizon, fps=ep.fps, height=ep.rgb.shape[1], width=ep.rgb.shape[2])
    pred = sim.continue_clip(ep.rgb[:context], ep.caption, task, steps=steps, guidance=guidance, sampler=sampler, seed=seed)
    out_dir = Path(out) if out else Path("rollouts") / ckpt.folder_of(checkpoint).name / "sample"
    path = out_dir / f"{ep.episode_id}.npz"
    buf = io.BytesIO()
    np.savez_compressed(buf, rgb=pred)
    atomic_write_bytes(path, buf.getvalue())
    write_preview(preview(ep.rgb[context:context + horizon], pred), out_dir / f"{ep.episode_id}-preview", ep.fps)
    return path
