"""Violation-of-expectation probes (IntPhys style): a true clip and its tampered twin.

Each probe takes a ground-truth Episode and the number of context frames and returns the
twin's predicted frames (T - context, H, W, 3) uint8, or None when the episode has nothing
to tamper with (no occlusion, no fall, no bite...). Tampering is done in pixel space with the
true segmentation: an object is removed by painting its pixels with what the same pixels show
at the nearest frame where the object is elsewhere, and pasted by copying its pixels.

Each kind names the metrics that must catch it: a pair counts as ranked correctly when every
one of them puts the true clip strictly closer to perfect than the twin.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable

import cv2
import numpy as np

from scenarios import Episode
from scenarios.engine import STATIC_ROLES
from scenarios.params import PALETTE

from .metrics import METRICS, Clip

DELAY = 3          # frames a "late" object comes back after the truth's reappearance
SHIFT = 12         # px an "elsewhere" object is moved by
REASSEMBLE_AFTER = 3  # frames after the break at which the glass starts to run backwards
HEAL_AFTER = 2     # frames a bite stays visible before it heals


# -- pixel surgery --------------------------------------------------------------------------
def background(ep: Episode, obj_id: int) -> np.ndarray:
    """(T, H, W, 3) frames with object obj_id removed: each of its pixels takes the colour it has at the
    nearest frame where the object does not cover it (inpainted where it always does)."""
    rgb, covered = ep.rgb.copy(), ep.seg == obj_id
    todo = covered.copy()
    T = len(rgb)
    for d in range(1, T):
        for t in range(T):
            for s in (t - d, t + d):
                if 0 <= s < T and todo[t].any():
                    take = todo[t] & ~covered[s]
                    rgb[t][take] = ep.rgb[s][take]
                    todo[t] &= ~take
    for t in np.flatnonzero(todo.any(axis=(1, 2))):
        rgb[t] = cv2.inpaint(np.ascontiguousarray(rgb[t]), todo[t].astype(np.uint8), 3, cv2.INPAINT_TELEA)
    return rgb


def paste(dst: np.ndarray, src: np.ndarray, mask: np.ndarray, dx: int = 0, dy: int = 0) -> None:
    """Copy src's pixels under mask into dst (both (H, W, 3)), shifted by (dx, dy); clipped at the edges."""
    ys, xs = np.nonzero(mask)
    ty, tx = ys + dy, xs + dx
    ok = (ty >= 0) & (ty < dst.shape[0]) & (tx >= 0) & (tx < dst.shape[1])
    dst[ty[ok], tx[ok]] = src[ys[ok], xs[ok]]


def _first_event(ep: Episode, kind: str, after: int = 0) -> dict | None:
    return next((e for e in ep.events_of(kind) if e["frame"] >= after), None)


def _only(ep: Episode, role: str) -> dict | None:
    objs = ep.objects_with_role(role)
    return objs[0] if objs else None


# -- the probes -----------------------------------------------------------------------------
def vanish(ep: Episode, context: int) -> np.ndarray | None:
    """The object goes behind the occluder and never comes out."""
    e = _first_event(ep, "reappeared", after=context)
    if e is None:
        return None
    oid, r = e["objects"][0], e["frame"]
    out = ep.rgb.copy()
    out[r:] = background(ep, oid)[r:]
    return out[context:]


def late(ep: Episode, context: int, delay: int = DELAY) -> np.ndarray | None:
    """The object comes out from behind the occluder `delay` frames late (and stays behind schedule)."""
    e = _first_event(ep, "reappeared", after=context)
    if e is None or e["frame"] + delay >= ep.n_frames:
        return None
    oid, r = e["objects"][0], e["frame"]
    out = ep.rgb.copy()
    out[r:] = background(ep, oid)[r:]
    for t in range(r + delay, ep.n_frames):
        paste(out[t], ep.rgb[t - delay], ep.seg[t - delay] == oid)
    return out[context:]


def elsewhere(ep: Episode, context: int, shift: int = SHIFT) -> np.ndarray | None:
    """The object comes out from behind the occluder `shift` px away from where it should."""
    e = _first_event(ep, "reappeared", after=context)
    if e is None:
        return None
    oid, r = e["objects"][0], e["frame"]
    H, W = ep.rgb.shape[1:3]
    ys, xs = np.nonzero((ep.seg[r:] == oid).any(0))
    # the shift that keeps the object in the image, preferring up (off the ground)
    shifts = [(0, -shift), (shift, 0), (-shift, 0), (0, shift)]
    dx, dy = next(((dx, dy) for dx, dy in shifts if 0 <= ys.min() + dy and ys.max() + dy < H
                   and 0 <= xs.min() + dx and xs.max() + dx < W), shifts[0])
    out = ep.rgb.copy()
    out[r:] = background(ep, oid)[r:]
    for t in range(r, ep.n_frames):
        paste(out[t], ep.rgb[t], ep.seg[t] == oid, dx, dy)
    return out[context:]


def _falling(ep: Episode, context: int) -> dict | None:
    """A moving object that truly falls (downward world velocity) while its centroid goes down by more
    than a pixel per frame in the horizon. The world velocity keeps out objects whose centroid only
    seems to drop because an occluder covers part of them."""
    for o in ep.objects:
        if o["role"] in STATIC_ROLES:
            continue
        m = ep.seg == o["id"]
        area = m.sum(axis=(1, 2))
        ys = (m.sum(2) * np.arange(m.shape[1])).sum(1) / np.maximum(area, 1)
        vz = ep.state(o["id"], "linear_velocity")[:, 2]
        t = np.arange(context, ep.n_frames)
        if ((area[t] > 0) & (area[t - 1] > 0) & (ys[t] - ys[t - 1] > 1.0) & (vz[t] < -0.1)).any():
            return o
    return None


def float_(ep: Episode, context: int) -> np.ndarray | None:
    """A falling object stops in mid-air where the context left it."""
    o = _falling(ep, context)
    if o is None or not (ep.seg[context - 1] == o["id"]).any():
        return None
    out = background(ep, o["id"])
    for t in range(context, ep.n_frames):
        paste(out[t], ep.rgb[context - 1], ep.seg[context - 1] == o["id"])
    return out[context:]


def _unused_colour(ep: Episode) -> np.ndarray:
    """(3,) RGB 0..255 of the palette colour whose hue is farthest from every object's."""
    def hue(rgb):
        return float(cv2.cvtColor(np.uint8([[rgb]]), cv2.COLOR_RGB2HSV)[0, 0, 0])
    used = [hue(o["rgb"]) for o in ep.objects]
    cands = [np.round(np.array(c) * 255).astype(np.uint8) for c in PALETTE.values()]
    gap = lambda c: min([min(abs(hue(c) - h), 180 - abs(hue(c) - h)) for h in used] or [90.0])  # noqa: E731
    return max(cands, key=gap)


def spawn(ep: Episode, context: int) -> np.ndarray | None:
    """A new object of an unused colour appears from nowhere a third into the horizon and stays."""
    t0 = context + (ep.n_frames - context) // 3
    H, W = ep.rgb.shape[1:3]
    size = max(3, H // 10)
    occupied = (ep.seg[t0:] >= 0).any(0)
    # the free square nearest the image centre, above the middle row
    spots = [(y, x) for y in range(2, H // 2 - size) for x in range(2, W - size - 2)
             if not occupied[y - 2:y + size + 2, x - 2:x + size + 2].any()]
    if not spots:
        return None
    y, x = min(spots, key=lambda p: abs(p[0] - H // 3) + abs(p[1] - W // 2))
    out = ep.rgb.copy()
    out[t0:, y:y + size, x:x + size] = _unused_colour(ep)
    return out[context:]


def heal(ep: Episode, context: int) -> np.ndarray | None:
    """Bitten food grows back: HEAL_AFTER frames after the last bite (at the first predicted frame if
    that is later) the food looks again as it did before the first bite (where the least of it was
    hidden)."""
    food = _only(ep, "food")
    bites = [e["frame"] for e in ep.events_of("bite") if e["frame"] + HEAL_AFTER < ep.n_frames]
    if food is None or not bites or bites[0] < 1:
        return None
    area = (ep.seg[:bites[0]] == food["id"]).sum(axis=(1, 2))
    before = int(np.argmax(area))
    out = ep.rgb.copy()
    for t in range(max(bites[-1] + HEAL_AFTER, context), ep.n_frames):
        paste(out[t], ep.rgb[before], ep.seg[before] == food["id"])
    return out[context:]


def fade(ep: Episode, context: int) -> np.ndarray | None:
    """Paint fades: over the first half of the horizon a growing share of the painted pixels turns back
    to canvas, and all of it is gone after that."""
    paint = _only(ep, "paint")
    if paint is None or not (ep.seg[context:] == paint["id"]).any():
        return None
    bg = background(ep, paint["id"])
    order = np.random.default_rng(0).random(ep.seg.shape[1:])   # which pixels fade first (fixed)
    out = ep.rgb.copy()
    n = max(1, (ep.n_frames - context) // 2)
    for k, t in enumerate(range(context, ep.n_frames)):
        gone = (ep.seg[t] == paint["id"]) & (order < (k + 1) / n)
        out[t][gone] = bg[t][gone]
    return out[context:]


def _glass_break(ep: Episode, context: int) -> tuple[dict, int] | None:
    glass, e = _only(ep, "glass"), _first_event(ep, "shatter", after=context)
    return None if glass is None or e is None or e["frame"] < 1 else (glass, e["frame"])


def never_break(ep: Episode, context: int) -> np.ndarray | None:
    """The glass stays whole: from the break on it looks as it did just before."""
    found = _glass_break(ep, context)
    if found is None:
        return None
    glass, b = found
    out = background(ep, glass["id"])
    out[:b] = ep.rgb[:b]
    for t in range(b, ep.n_frames):
        paste(out[t], ep.rgb[b - 1], ep.seg[b - 1] == glass["id"])
    return out[context:]


def unbreak(ep: Episode, context: int) -> np.ndarray | None:
    """The glass breaks, then runs backwards into one piece and stays whole."""
    found = _glass_break(ep, context)
    if found is None or found[1] + REASSEMBLE_AFTER + 2 >= ep.n_frames:
        return None
    glass, b = found
    turn = b + REASSEMBLE_AFTER
    out = ep.rgb.copy()
    bg = background(ep, glass["id"])
    for t in range(turn + 1, ep.n_frames):
        src = max(b - 1, 2 * turn - t)   # mirror time about the turn, until the intact glass
        out[t] = bg[t]
        paste(out[t], ep.rgb[src], ep.seg[src] == glass["id"])
    return out[context:]


@dataclass(frozen=True)
class Probe:
    kind: str
    description: str
    catches: tuple[str, ...]                                  # metrics that must rank the truth first
    make: Callable[[Episode, int], np.ndarray | None]         # (episode, context) -> twin frames or None


PROBES: dict[str, Probe] = {p.kind: p for p in [
    Probe("vanish", "an object vanishes behind the occluder", ("presence_accuracy", "reappear_time_error", "spawn_vanish_rate"), vanish),
    Probe("late", "an object reappears late", ("reappear_time_error",), late),
    Probe("elsewhere", "an object reappears at another place", ("reappear_position_error", "trajectory_error"), elsewhere),
    Probe("float", "a falling object hovers", ("hover_rate", "trajectory_error"), float_),
    Probe("spawn", "an object appears from nowhere", ("spawn_vanish_rate", "count_conservation", "identity_conservation"), spawn),
    Probe("heal", "a bite heals", ("food_regrowth", "food_area_error"), heal),
    Probe("fade", "paint strokes fade", ("paint_loss", "paint_iou"), fade),
    Probe("never_break", "glass stays whole", ("break_frame_error", "shard_count_error", "shards_fall"), never_break),
    Probe("unbreak", "broken glass re-assembles", ("shard_count_error", "shards_fall"), unbreak),
]}


def ranks_truth_first(metric: str, truth_value: float, twin_value: float) -> bool:
    """The truth is strictly closer to perfect than the twin (a NaN twin is a failure)."""
    m = METRICS[metric]
    if math.isnan(truth_value) or math.isnan(twin_value):
        return False
    return m.distance(truth_value) < m.distance(twin_value)


def probe_report(episodes: Iterable[Episode], context: int) -> dict[str, dict]:
    """kind -> {"accuracy", "n_pairs", "per_metric": {metric: accuracy}} over the episodes a probe
    applies to; kinds that apply to none are left out. A metric that does not apply to an episode
    (NaN on the truth: e.g. a shard count where the truth's shards never come clearly apart) is left
    out of that pair; a pair needs at least one metric that applies, and all of those must rank it."""
    tallies: dict[str, dict] = {}
    for ep in episodes:
        truth_clip = Clip(ep, context, ep.rgb[context:])
        for kind, probe in PROBES.items():
            twin = probe.make(ep, context)
            if twin is None:
                continue
            twin_clip = Clip(ep, context, twin)
            truth_values = {m: METRICS[m](truth_clip) for m in probe.catches}
            ok = {m: ranks_truth_first(m, v, METRICS[m](twin_clip)) for m, v in truth_values.items()
                  if not math.isnan(v)}
            t = tallies.setdefault(kind, {"correct": 0, "n_pairs": 0, "per_metric": {m: [0, 0] for m in probe.catches}})
            t["n_pairs"] += 1
            t["correct"] += bool(ok) and all(ok.values())
            for m, good in ok.items():
                t["per_metric"][m][0] += good
                t["per_metric"][m][1] += 1
    return {k: {"accuracy": t["correct"] / t["n_pairs"], "n_pairs": t["n_pairs"],
                "per_metric": {m: c / n for m, (c, n) in t["per_metric"].items() if n},
                "per_metric_n": {m: n for m, (c, n) in t["per_metric"].items() if n}}
            for k, t in tallies.items()}


def probe_accuracy(episodes: Iterable[Episode], context: int) -> dict[str, float]:
    """kind -> fraction of (true clip, tampered twin) pairs that the kind's metrics rank correctly."""
    return {k: r["accuracy"] for k, r in probe_report(episodes, context).items()}
