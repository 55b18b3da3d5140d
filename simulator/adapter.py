"""The harness's way in: `load(path).rollout(context_frames, caption, task) -> frames`.

    model = simulator.adapter.load("simulator/reference")
    frames = model.rollout(context_frames, caption, task)   # uint8 (task.horizon, H, W, 3)

`context_frames` is uint8 (C, H, W, 3); `task` is any object with .horizon, .fps, .height and
.width. When the task's resolution is the model's (64x64 for the reference) frames pass untouched;
otherwise they are resized to the model's and the prediction back (sample.WorldModel.continue_clip).
A horizon longer than the model's window is reached by autoregressive extension. The result is
deterministic for a given input (the sampler's generator is seeded). This module only wraps
sample.py, which never imports it back.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .sample import ContextError, Task, WorldModel

__all__ = ["ContextError", "SimulatorModel", "Task", "load"]


class SimulatorModel:
    def __init__(self, world: WorldModel, path: str):
        self.world, self.path = world, path

    def rollout(self, context_frames: np.ndarray, caption: str, task, steps: int | None = None,
                guidance: float | None = None, sampler: str | None = None, seed: int = 0) -> np.ndarray:
        return self.world.continue_clip(context_frames, caption, task, steps=steps, guidance=guidance,
                                        sampler=sampler, seed=seed)


def load(path: str | Path, device: str | None = None) -> SimulatorModel:
    """A checkpoint folder (or any file inside it) as a model with `.rollout`. Uses a GPU when present."""
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    return SimulatorModel(WorldModel.load(path, device), str(path))
