"""What every object metric needs from a clip: truth and rollout tracks on one time axis.

Both are measured with the same instrument (the colour tracker): the truth on the true
frames, the rollout on its own frames, so a perfect rollout measures exactly like the truth
and the tracker's small biases cancel (tests/test_tracker.py checks the instrument against
the true masks). Frame index t runs over the context and the horizon; the rollout's context
frames are the truth's (the model was given them), so "the frame before the first predicted
one" is always defined.
"""
from __future__ import annotations

import hashlib
import json
from collections import OrderedDict

import numpy as np

from scenarios.engine import STATIC_ROLES

from ..tracker import Tracks, track
from .base import Clip


_TRUTH_CACHE: "OrderedDict[tuple, tuple[Tracks, Tracks]]" = OrderedDict()
_TRUTH_CACHE_SIZE = 32  # episodes: every model scored on an episode in this process reuses its truth tracks


def truth_tracks(clip: Clip) -> tuple[Tracks, Tracks]:
    """(context tracks, truth tracks over context + horizon), cached per process. The key is a digest
    of the frames and objects themselves, so two episodes never share an entry, whatever their ids."""
    end = clip.context + clip.horizon
    h = hashlib.blake2b(np.ascontiguousarray(clip.truth.rgb[:end]).data, digest_size=16)
    h.update(json.dumps(clip.truth.objects, sort_keys=True, default=str).encode())
    key = (h.hexdigest(), clip.context, clip.horizon)
    if key in _TRUTH_CACHE:
        _TRUTH_CACHE.move_to_end(key)
        return _TRUTH_CACHE[key]
    # the horizon is tracked on its own for the truth as for the rollout, so that the instrument's
    # clip-wide estimates (an object's shading) see the same frames on both sides
    context = track(clip.truth.rgb[:clip.context], clip.truth.objects)
    _TRUTH_CACHE[key] = context, context.then(track(clip.truth_rgb, clip.truth.objects))
    if len(_TRUTH_CACHE) > _TRUTH_CACHE_SIZE:
        _TRUTH_CACHE.popitem(last=False)
    return _TRUTH_CACHE[key]


def tracks(clip: Clip) -> tuple[Tracks, Tracks]:
    """(truth, rollout) tracks over frames 0 .. context + horizon - 1."""
    def compute():
        context, truth = truth_tracks(clip)
        return truth, context.then(track(clip.pred, clip.truth.objects, mixtures=clip.subsampled_chroma))
    return clip.memo("tracks", compute)


def horizon(clip: Clip) -> slice:
    return slice(clip.context, clip.context + clip.horizon)


def objects_where(clip: Clip, moving: bool | None = None, role: str | None = None) -> list[int]:
    """Track indices of trackable objects, optionally only moving ones (not a static role) or one role."""
    truth, _ = tracks(clip)
    out = []
    for i, o in enumerate(clip.truth.objects):
        if not truth.trackable[i]:
            continue
        if moving is not None and (o["role"] not in STATIC_ROLES) != moving:
            continue
        if role is not None and o["role"] != role:
            continue
        out.append(i)
    return out


def filled_centroids(tr: Tracks) -> np.ndarray:
    """(T, O, 2) centroids where an absent object stays where it was last seen (NaN before first seen)."""
    c = tr.centroid
    T, O = c.shape[:2]
    seen = np.where(np.isnan(c[:, :, 0]), 0, np.arange(T)[:, None])       # (T, O): t where seen, else 0
    last = np.maximum.accumulate(seen, axis=0)                             # the last frame seen so far
    return c[last, np.arange(O)]


def transitions(present: np.ndarray, start: int) -> tuple[np.ndarray, np.ndarray]:
    """Frames t >= start (t >= 1) where an object appears (absent at t-1, present at t) and disappears."""
    p = np.asarray(present, bool)
    t = np.arange(max(start, 1), len(p))
    return t[p[t] & ~p[t - 1]], t[~p[t] & p[t - 1]]


def diagonal(clip: Clip) -> float:
    """The image diagonal in pixels: the cost of an object that is nowhere to be found."""
    return float(np.hypot(*clip.pred.shape[1:3]))


def mean_or_nan(values) -> float:
    values = [v for v in values if v is not None and not np.isnan(v)]
    return float(np.mean(values)) if values else float("nan")
