"""Scripted motion shared by the state-change scenarios: smooth keyframe interpolation."""
from __future__ import annotations

import bisect

import numpy as np


def keyframed(t: float, times: list[float], values: list) -> np.ndarray:
    """Value at time t of a path through (time, value) keyframes with smoothstep easing between them,
    so a scripted tool starts and stops each leg gently; held constant outside the keyframes."""
    times = np.asarray(times, float)            # (K,) increasing
    values = np.asarray(values, float)          # (K, D)
    if t <= times[0]:
        return values[0]
    if t >= times[-1]:
        return values[-1]
    k = int(np.searchsorted(times, t, side="right")) - 1
    s = (t - times[k]) / (times[k + 1] - times[k])
    s = s * s * (3.0 - 2.0 * s)
    return values[k] + s * (values[k + 1] - values[k])


class Keyframes:
    """`keyframed` along one path, for a tool scripted at every physics step: the same operations in the
    same order on Python floats (the same IEEE doubles) at a fraction of numpy's cost on a 3-vector."""

    def __init__(self, times, values):
        self.times = [float(t) for t in times]
        self.values = [[float(v) for v in row] for row in values]

    def __call__(self, t: float) -> list[float]:
        times, values = self.times, self.values
        if t <= times[0]:
            return values[0]
        if t >= times[-1]:
            return values[-1]
        k = bisect.bisect_right(times, t) - 1  # np.searchsorted(times, t, side="right") - 1
        s = (t - times[k]) / (times[k + 1] - times[k])
        s = s * s * (3.0 - 2.0 * s)
        return [a + s * (b - a) for a, b in zip(values[k], values[k + 1])]
