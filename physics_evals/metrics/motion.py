"""Gravity and motion: trajectories, velocities, free-flight acceleration, hovering, bounce heights.

Over moving objects (roles that are not static). A rollout object that is absent counts as
staying where it was last seen, so vanishing never hides a trajectory error.
"""
from __future__ import annotations

import numpy as np

from scenarios.engine import GRAVITY

from .base import Clip, Metric
from .common import diagonal, filled_centroids, horizon, mean_or_nan, objects_where, tracks

FREE_FLIGHT_TOLERANCE = 0.15  # |a - g| / g below which an interval between frames is free flight
MIN_FIT_FRAMES = 5            # frames needed to fit an acceleration
FALL_PX = 1.0                 # px/frame downwards that counts as "truly falling"
HOVER_FRACTION = 0.25         # a rollout moving less than this fraction of the true fall hovers
APEX_PROMINENCE = 1.0         # px an apex must rise above the lowest point since the previous apex


def trajectory_error(clip: Clip) -> float:
    truth, pred = tracks(clip)
    h, objs = horizon(clip), objects_where(clip, moving=True)
    seen = truth.certain()[h][:, objs]   # a sliver's centroid is not the object's
    if not seen.any():
        return float("nan")
    d = np.linalg.norm(truth.centroid[h][:, objs] - filled_centroids(pred)[h][:, objs], axis=-1)[seen]
    return float(np.nan_to_num(d, nan=diagonal(clip)).mean())


def velocity_error(clip: Clip) -> float:
    """|v_rollout - v_truth| in px/frame over frames where the truth clearly shows the object now and before."""
    truth, pred = tracks(clip)
    objs = objects_where(clip, moving=True)
    t = np.arange(max(clip.context, 1), clip.context + clip.horizon)
    vt = truth.centroid[t][:, objs] - truth.centroid[t - 1][:, objs]
    fp = filled_centroids(pred)
    vp = fp[t][:, objs] - fp[t - 1][:, objs]
    clear = truth.certain()
    ok = clear[t][:, objs] & clear[t - 1][:, objs]
    if not ok.any():
        return float("nan")
    return float(np.nan_to_num(np.linalg.norm(vp - vt, axis=-1)[ok], nan=diagonal(clip)).mean())


def free_flight_window(clip: Clip, obj_id: int) -> range | None:
    """The longest run of frames, ending in the horizon, over which the true world acceleration is g
    straight down (from the recorded velocities)."""
    v = clip.truth.state(obj_id, "linear_velocity")[: clip.context + clip.horizon]
    a = np.diff(v, axis=0) * clip.truth.fps                      # (T-1, 3), interval t-1 -> t
    free = np.linalg.norm(a - [0.0, 0.0, -GRAVITY], axis=-1) < FREE_FLIGHT_TOLERANCE * GRAVITY
    best, start = None, None
    for k, f in enumerate(list(free) + [False]):                  # interval k joins frames k, k+1
        if f and start is None:
            start = k
        if not f and start is not None:
            run = range(start, k + 1)
            if run[-1] >= clip.context and (best is None or len(run) > len(best)):
                best = run
            start = None
    return best


def fitted_acceleration(xy: np.ndarray) -> np.ndarray:
    """(2,) px/frame^2 from a least-squares parabola through (n, 2) positions at frames 0..n-1, n >= 3.
    Its t^2 coefficient is the positions' projection on the quadratic orthogonal to 1 and t over these
    frames, (t - m)^2 - mean((t - m)^2): elementwise sums, the same bits whatever BLAS and LAPACK kernels
    the processor gets (np.polyfit solves through LAPACK, whose kernels round differently from one
    processor to the next)."""
    t = np.arange(len(xy), dtype=np.float64)
    q = (t - t.mean()) ** 2
    q -= q.mean()
    return 2.0 * (q[:, None] * np.asarray(xy, np.float64)).sum(0) / (q * q).sum()


def acceleration_error(clip: Clip) -> float:
    """|a_rollout - a_truth| / |a_truth| of image-space accelerations fitted over free flight."""
    truth, pred = tracks(clip)
    fp, errors = filled_centroids(pred), []
    for i in objects_where(clip, moving=True):
        window = free_flight_window(clip, clip.truth.objects[i]["id"])
        if window is None:
            continue
        frames = [t for t in window if t >= clip.context - 2 and truth.certain()[t, i]]
        if len(frames) < MIN_FIT_FRAMES or frames[-1] - frames[0] + 1 != len(frames):
            continue
        at = fitted_acceleration(truth.centroid[frames, i])
        xy = fp[frames, i]
        ap = fitted_acceleration(xy) if not np.isnan(xy).any() else np.zeros(2)
        size = np.linalg.norm(at, axis=-1)   # (a norm over an axis is a sum; of a vector, a BLAS dot)
        if size > 1e-3:
            errors.append(np.linalg.norm(ap - at, axis=-1) / size)
    return mean_or_nan(errors)


def hover_rate(clip: Clip) -> float:
    """Fraction of frames where the truth falls (> FALL_PX px/frame) and the rollout barely descends."""
    truth, pred = tracks(clip)
    objs = objects_where(clip, moving=True)
    t = np.arange(max(clip.context, 1), clip.context + clip.horizon)
    dy_t = truth.centroid[t][:, objs, 1] - truth.centroid[t - 1][:, objs, 1]
    fp = filled_centroids(pred)
    dy_p = fp[t][:, objs, 1] - fp[t - 1][:, objs, 1]
    falling = np.nan_to_num(dy_t, nan=0.0) > FALL_PX
    if not falling.any():
        return float("nan")
    return float((np.nan_to_num(dy_p, nan=0.0)[falling] < HOVER_FRACTION * dy_t[falling]).mean())


def apex_growth(y: np.ndarray) -> float:
    """Largest rise (px) of an apex over the previous one in an image-space height series y (down is +).

    Apexes are the local highest points (minima of y), the first frame if the object then descends,
    and the last frame if it is still rising; each must stand APEX_PROMINENCE above the lowest point
    since the previous apex.
    """
    y = y[~np.isnan(y)]
    if len(y) < 3:
        return 0.0
    apexes, low = [], -np.inf  # apex values of y; the lowest point (largest y) since the last apex
    for t in range(len(y)):
        before = y[t - 1] if t > 0 else np.inf
        after = y[t + 1] if t + 1 < len(y) else np.inf
        if y[t] < before and y[t] <= after and (not apexes or low - y[t] >= APEX_PROMINENCE):
            apexes.append(y[t])
            low = y[t]
        low = max(low, y[t])
    rises = [a - b for a, b in zip(apexes, apexes[1:])]  # previous apex y minus this apex y: > 0 is higher
    return float(max([0.0] + rises))


def bounce_growth(clip: Clip) -> float:
    """How much more the rollout's bounce apexes grow than the truth's (px; 0 when fine). Applies to
    moving objects that bounce in the truth (their vertical world velocity turns from down to up)."""
    truth, pred = tracks(clip)
    end = clip.context + clip.horizon
    fp, out = filled_centroids(pred), []
    for i in objects_where(clip, moving=True):
        vz = clip.truth.state(clip.truth.objects[i]["id"], "linear_velocity")[:end, 2]
        if ((vz[:-1] < 0) & (vz[1:] > 0)).any():
            out.append(max(0.0, apex_growth(fp[:end, i, 1]) - apex_growth(truth.centroid[:end, i, 1])))
    return mean_or_nan(out)


METRICS = [
    Metric("trajectory_error", "plausibility", False, 0.0, 3.0, trajectory_error, "px",
           description="centroid distance to the truth over frames where the truth shows the object"),
    Metric("acceleration_error", "plausibility", False, 0.0, 0.5, acceleration_error, "relative",
           description="image-space acceleration fitted over true free flight vs the truth's, relative"),
    Metric("velocity_error", "plausibility", False, 0.0, 1.0, velocity_error, "px/frame",
           description="centroid velocity error per frame (as in PhyWorld)"),
    Metric("hover_rate", "plausibility", False, 0.0, 0.2, hover_rate, "fraction",
           description="fraction of truly falling frames in which the rollout's object stays put"),
    Metric("bounce_growth", "plausibility", False, 0.0, 2.0, bounce_growth, "px",
           description="largest increase of successive bounce apex heights beyond the truth's"),
]
