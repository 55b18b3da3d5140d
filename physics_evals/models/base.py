"""The model adapter interface: context frames (and a caption) in, predicted frames out."""
from __future__ import annotations

import numpy as np


class UnknownModelError(ValueError):
    """An unknown model name or a model spec that points nowhere; the message says which."""


class ModelLoadError(ValueError):
    """A model that cannot be loaded (a corrupt or incomplete checkpoint); the message names it."""


class UnscorableModelError(ValueError):
    """A model none of whose rollouts could be scored: the run publishes nothing rather than a 0."""


class Adapter:
    """A model the harness can ask for rollouts.

    `rollout(context_frames, caption, task, episode)` takes (task.context, H, W, 3) uint8 frames and
    returns (task.horizon, H, W, 3) uint8 frames continuing them at task.fps. `episode` (the truth) is
    given for the oracles (ground truth, re-simulation) and for finding an outside model's file;
    a real model must not look at it.
    """
    name: str                    # folder name under rollouts/ and key in results.json
    kind: str = "baseline"       # baseline | checkpoint | rollouts (results.json "models" kind)
    source: str = ""             # what the model is (a path, a description)
    parallel_safe: bool = True   # may run inside scoring worker processes
    cached: bool = True          # rollouts are cached under rollouts_root (False: read in place)
    sample_seed: int | None = None  # the sampling seed of one of several samples (run --seeds); None: the one sample

    @property
    def cache_name(self) -> str:
        """Folder of this model's rollouts under rollouts/: each sampling seed is cached on its own."""
        return self.name if self.sample_seed is None else f"{self.name}@seed{self.sample_seed}"

    def prepare(self) -> None:
        """Load what the model needs, once, before any rollout; raises ModelLoadError naming the model."""

    def rollout(self, context_frames: np.ndarray, caption: str, task, episode=None) -> np.ndarray:
        raise NotImplementedError

    def fingerprint(self, task) -> str:
        """Changes whenever this model's rollout for the task would change (cache key)."""
        return f"{self.name}/{task.name}/v{task.version}"

    def record(self) -> dict:
        return {"kind": self.kind, "source": self.source}
