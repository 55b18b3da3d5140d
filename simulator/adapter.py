"""The harness's way in: `load(path).rollout(context_frames, caption, task) -> frames`.

    model = simulator.adapter.load("simulator/reference")
    frames = model.rollout(context_frames, caption, task)   # uint8 (task.horizon, H, W, 3)

`context_frames` is uint8 (C, H, W, 3); `task` is any object with .horizon, .fps, .height and
.width. Frames are resized to the model's training resolution and the prediction back to the
task's; a horizon longer than the model's window is reached by autoregressive extension. The
result is deterministic for a given input (the sampler's generator is seeded).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .config import SimulatorError
from .data import resize_video
from .sample import WorldModel


class ContextError(SimulatorError):
    """Context frames or a task the model cannot take."""


@dataclass(frozen=True)
class Task:
    """The attributes the adapter reads from a harness task (any object with them will do)."""
    horizon: int
    fps: float = 15
    height: int = 64
    width: int = 64


class SimulatorModel:
    def __init__(self, world: WorldModel, path: str):
        self.world, self.path = world, path

    def rollout(self, context_frames: np.ndarray, caption: str, task, steps: int | None = None,
                guidance: float | None = None, sampler: str | None = None, seed: int = 0) -> np.ndarray:
        frames = np.asarray(context_frames)
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] < 1:
            raise ContextError(f"context_frames must be uint8 (C, H, W, 3) with C >= 1, got {frames.dtype}{list(frames.shape)}")
        horizon, height, width = int(task.horizon), int(task.height), int(task.width)
        if horizon < 1 or height < 1 or width < 1:
            raise ContextError(f"task horizon, height and width must be positive, got {horizon}, {height}, {width}")
        small = resize_video(frames, self.world.height, self.world.width)[None]      # (1, C, h, w, 3)
        pred = self.world.rollout(small, [str(caption)], horizon, steps=steps, guidance=guidance,
                                  sampler=sampler, seed=seed)[0]                     # (horizon, h, w, 3)
        return resize_video(pred, height, width)


def load(path: str | Path, device: str | None = None) -> SimulatorModel:
    """A checkpoint folder (or any file inside it) as a model with `.rollout`. Uses a GPU when present."""
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    return SimulatorModel(WorldModel.load(path, device), str(path))
