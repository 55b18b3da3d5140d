"""Where a checkpoint's denoiser fails: `python -m simulator denoise`.

A sampler's last step returns the network's clean-frame estimate at the lowest noise level of its schedule
(t = 0.25 for 4 Euler steps). If that estimate cannot recover the pixels that change after the context even
from nearly clean input, no sampler can: samples keep the conditional mean's ghost at the old position and
a blur at the new one, which the tracker reads as objects breaking up. So the error is split into the pixels
that move (differ from the last context frame) and those that stay, at each noise level, on real episodes:
a good denoiser's moving-pixel error falls towards 0 as t does, a copy of the context's does not.
"""
from __future__ import annotations

from pathlib import Path

import torch

from scenarios.episode import find_episodes, load_episode

from .config import SimulatorError
from .data import to_model_range
from .diffusion import denoise, frame_times, moving_pixels
from .model import DiT
from .tokenizer import encode_batch

LEVELS = (1.0, 0.75, 0.5, 0.25, 0.1)  # noise levels reported by default


@torch.no_grad()
def denoising_error(model: DiT, clips: torch.Tensor, captions: list[str], n_context: int,
                    levels: tuple[float, ...] = LEVELS, seed: int = 0) -> list[dict]:
    """Per level t: mean squared x_0 error of the frames after the context ([-1, 1] units) on moving and on
    still pixels, the moving pixels' share of the whole error, and (the same at every level) the moving
    pixels' error of a copy of the last context frame. clips (B, T, H, W, 3) in [-1, 1]."""
    b, T = clips.shape[:2]
    base = clips[:, n_context - 1:n_context]
    moving = moving_pixels(clips, n_context).expand(-1, -1, -1, -1, 3)
    noise = torch.randn(clips.shape, generator=torch.Generator().manual_seed(seed)).to(clips.device)
    text = model.encode_text(encode_batch(captions, model.cfg.vocab_size, model.cfg.max_text_len).to(clips.device))
    copy = (clips[:, n_context:] - base).pow(2)[moving]
    rows = []
    for t in levels:
        tf = frame_times(torch.full((b,), float(t)), T, n_context)
        w = tf[:, :, None, None, None]
        x0_hat, _ = denoise(model, (1 - w) * clips + w * noise, tf, text, base)
        err = (x0_hat[:, n_context:] - clips[:, n_context:]).pow(2)
        rows.append({"t": float(t), "moving_mse": err[moving].mean().item() if moving.any() else float("nan"),
                     "still_mse": err[~moving].mean().item(), "moving_share_of_error": (err[moving].sum() / err.sum()).item(),
                     "moving_fraction": moving.float().mean().item(),
                     "copy_moving_mse": copy.mean().item() if moving.any() else float("nan")})
    return rows


def episode_clips(root: str | Path, size: tuple[int, int, int], per_scenario: int) -> tuple[torch.Tensor, list[str]]:
    """The first `per_scenario` episodes of every scenario under root, cut to `size` = (frames, height, width)
    (the model's window): episodes of another resolution or too short are one clear error."""
    frames, height, width = size
    chosen: dict[str, list[Path]] = {}
    for folder in find_episodes(root):
        chosen.setdefault(folder.parent.name, [])
        if len(chosen[folder.parent.name]) < per_scenario:
            chosen[folder.parent.name].append(folder)
    folders = [f for fs in chosen.values() for f in fs]
    if not folders:
        raise SimulatorError(f"{root}: no episodes (expected <family>/<scenario>/<episode>/ folders)")
    episodes = [load_episode(f) for f in folders]
    for f, ep in zip(folders, episodes):
        if ep.n_frames < frames or ep.rgb.shape[1:3] != (height, width):
            raise SimulatorError(f"{f}: {ep.n_frames} frames of {ep.rgb.shape[1]}x{ep.rgb.shape[2]}, the model's window "
                                 f"is {frames} frames of {height}x{width}")
    clips = torch.stack([to_model_range(ep.rgb[:frames]) for ep in episodes])
    return clips, [ep.caption for ep in episodes]


def run(checkpoint: str, episodes: str, per_scenario: int = 1, levels: tuple[float, ...] = LEVELS,
        seed: int = 0) -> str:
    """The table `python -m simulator denoise` prints."""
    from .sample import WorldModel
    if any(not 0 < t <= 1 for t in levels):
        raise SimulatorError(f"--levels must lie in (0, 1], got {list(levels)}")
    world = WorldModel.load(checkpoint)
    if world.vae is not None:
        raise SimulatorError(f"{checkpoint}: a latent model; this diagnostic measures pixel-space denoisers")
    n_context = max(world.cfg.data.context)
    clips, captions = episode_clips(episodes, (world.window, world.height, world.width), per_scenario)
    rows = denoising_error(world.model, clips.to(world.device), captions, n_context, levels, seed)
    lines = [f"{checkpoint}: {len(clips)} episodes, {n_context} context + {world.window - n_context} frames, "
             f"{rows[0]['moving_fraction']:.3f} of their pixels move; copying the last context frame gives "
             f"{rows[0]['copy_moving_mse']:.4f} MSE on them",
             "| t | MSE moving pixels | MSE still pixels | moving share of the error |", "|---|---|---|---|"]
    lines += [f"| {r['t']:g} | {r['moving_mse']:.4f} | {r['still_mse']:.5f} | {r['moving_share_of_error']:.2f} |"
              for r in rows]
    return "\n".join(lines)
