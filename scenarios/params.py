"""What a scenario draws its parameters from: the object palettes and the parameter ranges.

One declaration of a range serves sampling, `python -m scenarios ls`, the checks on `--set`
overrides and the training/out-of-distribution split (`scenarios/registry.py`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# Distinct saturated colours (RGB 0..1) so objects can be found in generated pixels by hue.
PALETTE = {
    "red": (0.90, 0.10, 0.10), "orange": (0.95, 0.55, 0.05), "yellow": (0.92, 0.85, 0.05),
    "green": (0.10, 0.75, 0.15), "cyan": (0.05, 0.80, 0.85), "blue": (0.10, 0.25, 0.95),
    "purple": (0.55, 0.15, 0.85), "magenta": (0.90, 0.10, 0.70),
}
# Colours no training episode shows: the "unseen colours" of the out-of-distribution split. Their hues
# (OpenCV units 43, 76, 104, 127, 169) sit in the gaps between PALETTE's (0, 17, 28, 62, 92, 115, 137, 158),
# at least 23 units from each other, so the objects of one OOD episode stay distinct to the colour-keyed tracker.
OOD_PALETTE = {
    "lime": (0.55, 0.90, 0.10), "jade": (0.10, 0.85, 0.50), "azure": (0.10, 0.55, 0.95),
    "violet": (0.30, 0.10, 0.95), "rose": (0.95, 0.10, 0.40),
}
COLOURS = {**PALETTE, **OOD_PALETTE}
GROUND_RGB = (0.55, 0.55, 0.55)  # unsaturated, so it never keys as an object


def rgb_of(colour: str | tuple) -> tuple[float, float, float]:
    """A colour name (PALETTE or OOD_PALETTE) or an RGB tuple (0..1) as an RGB tuple."""
    return COLOURS[colour] if isinstance(colour, str) else tuple(colour)


# Parameter ranges.
@dataclass(frozen=True)
class Uniform:
    lo: float
    hi: float
    def sample(self, rng: np.random.Generator) -> float: return float(rng.uniform(self.lo, self.hi))
    def __contains__(self, v) -> bool: return self.lo <= v <= self.hi
    def __str__(self) -> str: return f"uniform[{self.lo:g}, {self.hi:g}]"


@dataclass(frozen=True)
class LogUniform:
    lo: float
    hi: float
    def sample(self, rng: np.random.Generator) -> float: return float(np.exp(rng.uniform(np.log(self.lo), np.log(self.hi))))
    def __contains__(self, v) -> bool: return self.lo * (1 - 1e-12) <= v <= self.hi * (1 + 1e-12)  # exp(log(x)) rounding
    def __str__(self) -> str: return f"log-uniform[{self.lo:g}, {self.hi:g}]"


@dataclass(frozen=True)
class Integer:
    lo: int
    hi: int  # inclusive
    def sample(self, rng: np.random.Generator) -> int: return int(rng.integers(self.lo, self.hi + 1))
    def __contains__(self, v) -> bool: return v == int(v) and self.lo <= v <= self.hi
    def __str__(self) -> str: return f"integer[{self.lo}, {self.hi}]"


@dataclass(frozen=True)
class Choice:
    options: tuple
    def sample(self, rng: np.random.Generator) -> Any: return self.options[int(rng.integers(len(self.options)))]
    def __contains__(self, v) -> bool: return v in self.options
    def __str__(self) -> str: return "one of " + ", ".join(map(str, self.options))


def sample_colours(rng: np.random.Generator, n: int, palette: dict = PALETTE) -> list[str]:
    """n different colour names of the palette (a scenario passes its own: `Scenario.palette`)."""
    names = list(palette)
    return [names[i] for i in rng.choice(len(names), size=n, replace=False)]
