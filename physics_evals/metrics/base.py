"""What a metric is, what it sees, and how a raw value becomes a 0..100 score.

Every metric compares one rollout with the simulator's truth for the same episode. It
declares its direction and its perfect value; `Metric.score` maps a raw value to 0..100
where 100 means "no further from perfect than the physical variance" (the distance
that the `resimulated` second take itself has) and `scale` beyond that scores 50.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from scenarios import Episode

PHYSICS_GROUPS = ("permanence", "plausibility", "physics_iq")  # the summary groups; `overall` is their mean
GROUPS = (*PHYSICS_GROUPS, "pixels")  # every metric's group; pixels are reported but never enter a summary


class ClipError(ValueError):
    """A rollout that cannot be compared with its truth (shape, dtype, length); one line naming it."""


@dataclass
class Clip:
    """One rollout next to its truth. Frames after the context only: pred[i] is frame context + i."""
    truth: Episode
    context: int                 # number of context frames the model was given
    pred: np.ndarray             # (T_pred, H, W, 3) uint8, the model's frames
    subsampled_chroma: bool = False  # delivered with colour at a lower resolution (4:2:0 video, JPEG)
    cache: dict = field(default_factory=dict, repr=False)  # per-clip memo (tracks, motion masks)

    @property
    def horizon(self) -> int:
        return int(self.pred.shape[0])

    @property
    def truth_rgb(self) -> np.ndarray:
        """(T_pred, H, W, 3) the true frames the rollout should match."""
        return self.truth.rgb[self.context:self.context + self.horizon]

    def check(self) -> None:
        """Raise ClipError unless pred is (T_pred, H, W, 3) uint8 with the truth's H, W and frames to match."""
        if "checked" in self.cache:
            return
        where = f"rollout for {self.truth.episode_id}"
        p, (T, H, W) = self.pred, self.truth.rgb.shape[:3]
        if not isinstance(p, np.ndarray) or p.dtype != np.uint8 or p.ndim != 4 or p.shape[1:] != (H, W, 3):
            got = f"{p.dtype}{list(p.shape)}" if isinstance(p, np.ndarray) else type(p).__name__
            raise ClipError(f"{where}: frames are {got}, expected uint8[T, {H}, {W}, 3]")
        if self.context < 1 or len(p) == 0 or self.context + len(p) > T:
            raise ClipError(f"{where}: {len(p)} frames after {self.context} context frames, but the truth has {T}")
        self.cache["checked"] = True

    def truth_digest(self) -> str:
        """A digest of the true horizon frames: the key under which truth-side work (motion masks, SSIM's
        reference half) is shared by every model scored on this episode in this process."""
        def compute():
            frames = np.ascontiguousarray(self.truth_rgb)
            return f"{hashlib.blake2b(frames.data, digest_size=16).hexdigest()}-{'x'.join(map(str, frames.shape))}"
        return self.memo("truth_digest", compute)

    def memo(self, key, compute: Callable):
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]


@dataclass(frozen=True)
class Metric:
    name: str
    group: str                    # one of GROUPS
    higher_is_better: bool
    perfect: float                # the value of a perfect rollout (0 for errors, 1 for rates and IoUs)
    scale: float                  # distance from perfect, beyond the physical variance, that scores 50
    fn: Callable[[Clip], float]   # raw value; NaN when the metric does not apply to this clip
    unit: str = ""
    aggregation: str = "mean"     # how per-episode values combine into a task value
    description: str = ""

    def __post_init__(self):
        if self.group not in GROUPS:
            raise ValueError(f"metric {self.name}: group must be one of {GROUPS}, got {self.group!r}")

    def __call__(self, clip: Clip) -> float:
        clip.check()
        return float(self.fn(clip))

    def distance(self, value: float) -> float:
        """How far a value is from perfect, in the metric's units (>= 0)."""
        return max(0.0, (self.perfect - value) if self.higher_is_better else (value - self.perfect))

    def score(self, value: float, ceiling: float | None = None) -> float:
        """0..100: 100 at or better than the physical-variance ceiling value, 50 at `scale` beyond it."""
        if value is None or math.isnan(value):
            return math.nan
        excess = self.distance(value) - (self.distance(ceiling) if ceiling is not None and not math.isnan(ceiling) else 0.0)
        return 100.0 * self.scale / (self.scale + max(0.0, excess))
