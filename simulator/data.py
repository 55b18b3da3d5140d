"""Training clips from scenario Episodes, read through `scenarios`' loader.

Episodes are generated on first use (`scenarios.generate.generate_many`) from every scenario of
the configured families, so the data is a pure function of the config. Every batch is drawn
from an explicit torch.Generator: the global batch is the same for any number of processes,
each of which then takes its slice.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from scenarios import FAMILIES, RenderSpec
from scenarios.episode import FRAMES_FILE, META_FILE, EpisodeError, load_episode
from scenarios.generate import generate_many

from .config import ConfigError, DataConfig, check_data_seeds


def scenario_names(families: tuple[str, ...]) -> list[str]:
    """Every registered scenario of the families, in registry order (today's registry, not a fixed list)."""
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise ConfigError(f"data.families: unknown {unknown}; choose from {', '.join(FAMILIES)}")
    names = [n for f in families for n in FAMILIES[f]]
    if not names:
        raise ConfigError(f"data.families {list(families)}: no scenarios registered yet")
    return names


def data_plan(cfg: DataConfig) -> dict:
    """What the training data is: recorded in every checkpoint."""
    names = scenario_names(cfg.families)
    n = len(names) * cfg.episodes_per_scenario
    check_data_seeds(cfg)  # again: a DataConfig may have changed since it was validated
    return {"root": cfg.root, "scenarios": names, "n": n, "seed": cfg.seed, "seeds": [cfg.seed, cfg.seed + n - 1],
            "render": [cfg.render_size, cfg.render_size, cfg.fps, cfg.render_frames], "val_every": cfg.val_every}


def ensure_episodes(cfg: DataConfig, workers: int = 1, progress: bool = True) -> list[Path]:
    """The batch's episode folders, generating the missing ones."""
    plan = data_plan(cfg)
    spec = RenderSpec(height=cfg.render_size, width=cfg.render_size, fps=cfg.fps, n_frames=cfg.render_frames)
    return generate_many(cfg.root, plan["scenarios"], plan["n"], cfg.seed, spec, workers=workers, progress=progress)


def resize_video(rgb: np.ndarray, height: int, width: int) -> np.ndarray:
    """(T, H, W, 3) uint8 -> (T, height, width, 3); area averaging when shrinking."""
    if rgb.shape[1:3] == (height, width):
        return rgb
    shrink = height <= rgb.shape[1] and width <= rgb.shape[2]
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return np.stack([cv2.resize(f, (width, height), interpolation=interp) for f in rgb])


def to_model_range(rgb: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 -> float in [-1, 1]."""
    return torch.as_tensor(rgb).float() / 127.5 - 1.0


def to_uint8(x: torch.Tensor) -> np.ndarray:
    return ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu().numpy()


@dataclass
class Batch:
    video: torch.Tensor   # (B, T, H, W, 3) float in [-1, 1]
    captions: list[str]
    n_context: int        # leading frames given as clean context

    def slice(self, lo: int, hi: int) -> "Batch":
        return Batch(self.video[lo:hi], self.captions[lo:hi], self.n_context)


@dataclass(frozen=True)
class BatchPlan:
    """Which clips a batch holds, drawn before any frame is read: the random draws are cheap and must keep
    their order, the frames are the slow part and can be read later (simulator.train reads them on a
    background thread while the previous step computes)."""
    size: tuple[int, int, int]           # (frames, height, width)
    n_context: int
    clips: tuple[tuple[int, int], ...]   # (episode index, first frame) per clip


class ClipSet:
    """Random clips drawn from a generator, at every training size. `videos` are (T, H, W, 3) uint8 arrays
    (held in memory) or episode folders, whose frames are read when a batch draws them: streamed, so
    memory stays flat however many episodes there are (`n_frames` gives their lengths)."""

    def __init__(self, videos: list, captions: list[str], sizes, context, n_frames: list[int] | None = None):
        self.sizes = [tuple(s) for s in sizes]       # (frames, height, width) buckets
        self.context = list(context)                  # context counts to draw from
        self.captions = captions
        self.lengths = list(n_frames) if n_frames is not None else [v.shape[0] for v in videos]
        short = [n for n in self.lengths if n < max(s[0] for s in self.sizes)]
        if short:
            raise ConfigError(f"episodes have {min(short)} frames, data.sizes needs {max(s[0] for s in self.sizes)}")
        self.sources = list(videos)
        self.videos = {(h, w): [torch.from_numpy(resize_video(v, h, w)) for v in videos] for _, h, w in self.sizes} \
            if n_frames is None else None

    def video(self, i: int, h: int, w: int) -> torch.Tensor:
        """Episode i's frames at h x w: (T, h, w, 3) uint8."""
        if self.videos is not None:
            return self.videos[(h, w)][i]
        path = Path(self.sources[i]) / FRAMES_FILE
        try:
            with np.load(path) as z:
                rgb = z["rgb"]  # only the rgb member is decompressed
        except (OSError, ValueError, KeyError) as e:
            raise EpisodeError(f"{path}: unreadable ({type(e).__name__}: {e})") from None
        return torch.from_numpy(resize_video(rgb, h, w))

    def __len__(self) -> int:
        return len(self.captions)

    def plan(self, gen: torch.Generator, batch_size: int) -> BatchPlan:
        """The next batch's clips, from `gen`: a size bucket, a context count, the episodes, each one's start."""
        t, h, w = self.sizes[int(torch.randint(len(self.sizes), (1,), generator=gen))]
        n_ctx = self.context[int(torch.randint(len(self.context), (1,), generator=gen))]
        idx = torch.randint(len(self), (batch_size,), generator=gen).tolist()
        starts = [int(torch.randint(self.lengths[i] - t + 1, (1,), generator=gen)) for i in idx]
        return BatchPlan((t, h, w), n_ctx, tuple(zip(idx, starts)))

    def frames(self, plan: BatchPlan) -> torch.Tensor:
        """The plan's clips as (B, T, H, W, 3) uint8."""
        t, h, w = plan.size
        return torch.stack([self.video(i, h, w)[start:start + t] for i, start in plan.clips])

    def captions_of(self, plan: BatchPlan) -> list[str]:
        return [self.captions[i] for i, _ in plan.clips]

    def batch(self, gen: torch.Generator, batch_size: int) -> Batch:
        plan = self.plan(gen, batch_size)
        return Batch(to_model_range(self.frames(plan)), self.captions_of(plan), plan.n_context)


def load_clipsets(cfg: DataConfig, folders: list[Path]) -> tuple[ClipSet, ClipSet]:
    """(train, validation): every `val_every`-th episode is held out. Only captions and lengths are
    read here; frames stream from disk batch by batch (ClipSet)."""
    sets = ([], [], []), ([], [], [])
    for k, folder in enumerate(folders):
        try:
            meta = json.loads((Path(folder) / META_FILE).read_text())
            caption, n = meta["caption"], int(meta["n_frames"])
        except (OSError, ValueError, KeyError, TypeError):
            load_episode(folder)  # raises EpisodeError naming the file and what is wrong with it
            raise
        videos, captions, lengths = sets[1 if cfg.val_every and k % cfg.val_every == cfg.val_every - 1 else 0]
        videos.append(folder)
        captions.append(caption)
        lengths.append(n)
    if not sets[1][0]:  # tiny datasets: validate on the training clips rather than on nothing
        sets = sets[0], sets[0]
    return tuple(ClipSet(v, c, cfg.sizes, cfg.context, n_frames=n) for v, c, n in sets)
