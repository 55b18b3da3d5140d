"""Shared helpers of the harness tests (tiny tasks, stand-in metrics, rollout folders)."""
from __future__ import annotations

import math

import numpy as np

from physics_evals.metrics.base import Clip, Metric
from physics_evals.tasks import Task
from scenarios.episode import HELD_OUT_SEED


def tiny_task(name="tiny-drop", scenario="free_fall", family="gravity", metrics=("stub_mse", "stub_presence"),
              n_episodes=2, seed=HELD_OUT_SEED + 900_000, context=3, horizon=5, size=32) -> Task:
    """A task at test size: 32x32, 8 frames, its own seed block far from the suites'."""
    return Task(name=name, family=family, scenarios=(scenario,), metrics=tuple(metrics), seed=seed,
                n_episodes=n_episodes, context=context, horizon=horizon, height=size, width=size, fps=15,
                suite="test")


def _mse(clip: Clip) -> float:
    return float(np.mean((clip.pred.astype(np.float64) - clip.truth_rgb) ** 2))


def _presence(clip: Clip) -> float:
    """Fraction of frames where a saturated (object-coloured) pixel exists iff it does in the truth."""
    def present(frames):
        f = frames.astype(np.int16)
        return (f.max(-1) - f.min(-1) > 80).any(axis=(1, 2))
    return float(np.mean(present(clip.pred) == present(clip.truth_rgb)))


# Stand-in metrics for harness tests that must not depend on the real registry's numbers.
STUB_METRICS = {
    "stub_mse": Metric("stub_mse", "plausibility", higher_is_better=False, perfect=0.0, scale=50.0, fn=_mse),
    "stub_presence": Metric("stub_presence", "permanence", higher_is_better=True, perfect=1.0, scale=0.1, fn=_presence),
}


def write_npz(root, model, task, episode_id, frames):
    """An outside model's rollout file, written as a user would (any dtype, no checks)."""
    path = root / model / task / f"{episode_id}.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, rgb=frames)
    return path


def _never(clip):
    return math.nan


# Toy metrics (the real registry's are tested by their owners), in every summary group; the
# physics_iq group takes the four Physics-IQ names so the harness's Physics-IQ score applies.
TOY_METRICS = {
    **{name: Metric(name, "physics_iq", True, perfect=1.0, scale=0.2, fn=_never)
       for name in ("piq_spatial_iou", "piq_spatiotemporal_iou", "piq_weighted_spatial_iou")},
    "piq_mse": Metric("piq_mse", "physics_iq", False, perfect=0.0, scale=0.01, fn=_never),
    "motion_iou": Metric("motion_iou", "plausibility", True, perfect=1.0, scale=0.2, fn=_never),
    "position_error": Metric("position_error", "plausibility", False, perfect=0.0, scale=0.5, fn=_never),
    "reappears": Metric("reappears", "permanence", True, perfect=1.0, scale=0.3, fn=_never),
}
