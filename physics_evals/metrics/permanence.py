"""Object permanence: objects stay, hide exactly where the truth hides them, come back on time and in
place, never spawn or vanish, and keep their number and colours.

All values are over the horizon frames and the trackable objects (every object with a saturated
colour, occluders included: a wall that vanishes is a permanence failure too).
"""
from __future__ import annotations

import numpy as np

from .base import Clip, Metric
from .common import diagonal, horizon, mean_or_nan, objects_where, tracks, transitions

MATCH_TOLERANCE = 1  # frames: an appearance within this many frames of the truth's is explained


def presence_accuracy(clip: Clip) -> float:
    """Per object and frame, the rollout shows the object exactly when the truth does, over the frames
    where the truth itself is clear (a sliver at an occluder's edge is neither in nor out: don't care)."""
    truth, pred = tracks(clip)
    objs, h = objects_where(clip), horizon(clip)
    if not objs:
        return float("nan")
    clear = ~truth.uncertain()[h][:, objs]
    if not clear.any():
        return float("nan")
    return float((truth.present[h][:, objs] == pred.present[h][:, objs])[clear].mean())


def _window(marginal: np.ndarray, t: int) -> tuple[int, int]:
    """The frames over which a transition at t may equally happen: the run of frames before t in which
    the truth shows the object only in part, through the first frame from t on that is clear."""
    lo, hi = t, t
    while lo - 1 >= 0 and marginal[lo - 1]:
        lo -= 1
    while hi + 1 < len(marginal) and marginal[hi]:
        hi += 1
    return lo, hi


def reappearances(clip: Clip) -> list[tuple[int, int, int, tuple[int, int]]]:
    """(track index, first hidden frame s, reappearance frame r, the window of frames around r in
    which the truth shows the object only in part) for every object that the truth shows again inside
    the horizon after it was hidden inside the image (not after leaving the view)."""
    truth, _ = tracks(clip)
    out = []
    positions = {i: clip.truth.to_pixels(clip.truth.state(o["id"], "position")) for i, o in enumerate(clip.truth.objects)}
    H, W = clip.pred.shape[1:3]
    marginal = truth.uncertain()
    for i in objects_where(clip):
        p = truth.present[:, i]
        appear, _ = transitions(p, clip.context)
        for r in appear:
            if not p[:r].any():
                continue  # first appearance: entering, not reappearing
            x, y = positions[i][r - 1]
            if not (0 <= x <= W - 1 and 0 <= y <= H - 1):
                continue  # it was outside the image, not hidden
            s = r - 1
            while s > 0 and not p[s - 1]:
                s -= 1
            out.append((i, s, int(r), _window(marginal[:, i], int(r))))
    return out


def _pred_reappearance(clip: Clip, i: int, s: int, r: int) -> int | None:
    """The rollout's reappearance frame matching the truth's r: its appearance nearest to r; s when it
    never hid the object (it is there all along); None when it never comes back."""
    _, pred = tracks(clip)
    appear, _ = transitions(pred.present[:, i], clip.context)
    if len(appear):
        return int(appear[np.argmin(np.abs(appear - r))])
    return s if pred.present[r:, i].any() else None


def reappear_time_error(clip: Clip) -> float:
    """Frames between the rollout's reappearance and the truth's; over the frames where the truth shows
    only a sliver of the object, any frame is right."""
    errors = []
    for i, s, r, (lo, hi) in reappearances(clip):
        rp = _pred_reappearance(clip, i, s, r)
        errors.append(clip.horizon if rp is None else max(0, lo - rp, rp - hi))
    return mean_or_nan(errors)


def reappear_position_error(clip: Clip) -> float:
    """Centroid distance over the first 3 frames from the truth's reappearance on where both clearly
    show the object; the image diagonal when the rollout never shows it again."""
    truth, pred = tracks(clip)
    clear = truth.certain()
    errors = []
    for i, s, r, _ in reappearances(clip):
        both = np.flatnonzero(clear[r:, i] & pred.present[r:, i])[:3] + r
        if len(both):
            errors.append(np.linalg.norm(truth.centroid[both, i] - pred.centroid[both, i], axis=-1).mean())
        elif not pred.present[r:, i].any():
            errors.append(diagonal(clip))
    return mean_or_nan(errors)


def _unmatched(a: np.ndarray, windows: list[tuple[int, int]]) -> int:
    """How many frames in a fall in no window (each widened by MATCH_TOLERANCE)."""
    return int(sum(not any(lo - MATCH_TOLERANCE <= t <= hi + MATCH_TOLERANCE for lo, hi in windows) for t in a))


def _windows(times: np.ndarray, marginal: np.ndarray) -> list[tuple[int, int]]:
    return [_window(marginal, int(t)) for t in times]


def spawn_vanish_rate(clip: Clip) -> float:
    """Appearances and disappearances that the truth does not have (and the truth's that the rollout
    lacks, e.g. an object that never comes back), plus new blobs of unknown colour; per object-frame.
    A transition matches one of the same kind within MATCH_TOLERANCE frames, or anywhere over the
    frames where the truth shows the object only in part."""
    truth, pred = tracks(clip)
    objs = objects_where(clip)
    if not objs:
        return float("nan")
    events = 0
    marginal = truth.uncertain()
    for i in objs:
        ta, td = transitions(truth.present[:, i], clip.context)
        pa, pd = transitions(pred.present[:, i], clip.context)
        wa, wd = _windows(ta, marginal[:, i]), _windows(td, marginal[:, i])
        events += _unmatched(pa, wa) + _unmatched(pd, wd)
        events += _unmatched(ta, _windows(pa, marginal[:, i])) + _unmatched(td, _windows(pd, marginal[:, i]))
    h = np.arange(clip.context, clip.context + clip.horizon)
    h = h[h >= 1]
    spawned = lambda n: np.maximum(0, n[h] - n[h - 1])  # noqa: E731, new unknown blobs per frame
    events += int(np.maximum(0, spawned(pred.n_unknown) - spawned(truth.n_unknown)).sum())
    return events / (len(objs) * clip.horizon)


def _clear_present(tr, objs, h, clear) -> np.ndarray:
    return np.where(clear, tr.present[h][:, objs], False)


def count_conservation(clip: Clip) -> float:
    """Fraction of frames where the number of objects seen (known colours plus unknown blobs) is the
    truth's, counting the objects the truth shows clearly or not at all (not slivers)."""
    truth, pred = tracks(clip)
    objs, h = objects_where(clip), horizon(clip)
    if not objs:
        return float("nan")
    clear = ~truth.uncertain()[h][:, objs]
    count = lambda tr: _clear_present(tr, objs, h, clear).sum(1) + tr.n_unknown[h]  # noqa: E731
    return float((count(truth) == count(pred)).mean())


def identity_conservation(clip: Clip) -> float:
    """Fraction of frames where the set of colours seen (an unknown colour counts as one more) is the
    truth's, over the objects the truth shows clearly or not at all."""
    truth, pred = tracks(clip)
    objs, h = objects_where(clip), horizon(clip)
    if not objs:
        return float("nan")
    clear = ~truth.uncertain()[h][:, objs]
    same = (_clear_present(truth, objs, h, clear) == _clear_present(pred, objs, h, clear)).all(1)
    same &= (truth.n_unknown[h] > 0) == (pred.n_unknown[h] > 0)
    return float(same.mean())


METRICS = [
    Metric("presence_accuracy", "permanence", True, 1.0, 0.1, presence_accuracy, "fraction",
           description="per object and frame, detected presence agrees with the truth's visibility"),
    Metric("reappear_time_error", "permanence", False, 0.0, 2.0, reappear_time_error, "frames",
           description="after occlusion, frames between the rollout's and the truth's reappearance (horizon if never)"),
    Metric("reappear_position_error", "permanence", False, 0.0, 4.0, reappear_position_error, "px",
           description="centroid distance just after reappearance (image diagonal if never)"),
    Metric("spawn_vanish_rate", "permanence", False, 0.0, 0.02, spawn_vanish_rate, "per object-frame",
           description="appearances/disappearances the truth does not explain, and new unknown-colour blobs"),
    Metric("count_conservation", "permanence", True, 1.0, 0.1, count_conservation, "fraction",
           description="fraction of frames with the true number of visible objects"),
    Metric("identity_conservation", "permanence", True, 1.0, 0.1, identity_conservation, "fraction",
           description="fraction of frames with the true set of visible colours"),
]
