"""Scripted motion shared by the state-change scenarios: smooth keyframe interpolation."""
from __future__ import annotations

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
