"""State change and shatter: bites persist, paint persists and matches, glass breaks when and only when
the truth's does, into as many pieces, which fall, without losing glass.

Areas and piece counts are the tracker's, on the truth and the rollout alike. Series start at the
last context frame so that a change right at the first predicted frame is seen.
"""
from __future__ import annotations

import numpy as np

from .base import Clip, Metric
from .common import horizon, mean_or_nan, objects_where, tracks

FALL_PX = 0.5  # px/frame of vertical motion of the glass's centroid that counts as moving


def _series(clip: Clip, role: str):
    """(truth, rollout, track indices) restricted to frames context-1 .. end for objects of a role."""
    truth, pred = tracks(clip)
    sl = slice(max(clip.context - 1, 0), clip.context + clip.horizon)
    return truth.frames(sl), pred.frames(sl), objects_where(clip, role=role)


def loss(area: np.ndarray) -> float:
    """Largest drop of an area below its running maximum, as a fraction of that maximum."""
    peak = np.maximum.accumulate(area)
    return float(((peak - area) / np.maximum(peak, 1)).max())


def _relative_area_error(clip: Clip, role: str) -> float:
    truth, pred, objs = _series(clip, role)
    errs = [np.abs(pred.area[1:, i] - truth.area[1:, i]) / np.maximum(truth.area[1:, i], 1) for i in objs]
    return float(np.mean(errs)) if errs else float("nan")


def food_regrowth(clip: Clip) -> float:
    """Largest share of the food (its area at the last context frame) that the rollout shows where the
    truth shows the food bitten away: pixels that were food earlier and are bare background now. A
    biter in front of the food is not background, so occlusion never counts; the truth scores 0."""
    truth, pred = tracks(clip)
    out = []
    for i in objects_where(clip, role="food"):
        ever = np.logical_or.accumulate(truth.mask[:, i], axis=0)          # (T, H, W) food so far
        bare = ever & ~truth.mask.any(axis=1)                              # bitten away, nothing in front
        regrown = (pred.mask[:, i] & bare)[horizon(clip)].sum(axis=(1, 2))
        out.append(regrown.max() / max(truth.area[clip.context - 1, i], 1))
    return mean_or_nan(out)


def food_area_error(clip: Clip) -> float:
    return _relative_area_error(clip, "food")


def paint_loss(clip: Clip) -> float:
    """Fraction of painted area lost beyond what the truth loses (the brush passing in front)."""
    truth, pred, objs = _series(clip, "paint")
    return mean_or_nan(max(0.0, loss(pred.area[:, i]) - loss(truth.area[:, i])) for i in objs
                       if truth.area[:, i].max() > 0)


def paint_iou(clip: Clip) -> float:
    """Mean IoU of paint masks over predicted frames where either shows paint."""
    truth, pred, objs = _series(clip, "paint")
    ious = []
    for i in objs:
        inter = (truth.mask[1:, i] & pred.mask[1:, i]).sum(axis=(1, 2))
        union = (truth.mask[1:, i] | pred.mask[1:, i]).sum(axis=(1, 2))
        ious += list(inter[union > 0] / union[union > 0])
    return mean_or_nan(ious)


BREAK_IOU = 0.75  # the glass's mask overlaps its last context mask less than this: it has come apart


def _break_frame(n_components: np.ndarray, mask: np.ndarray | None = None) -> int | None:
    """First predicted frame (0-based in the horizon) where the glass looks broken: two or more pieces,
    or a mask that has left its intact shape (IoU with the last context frame's below BREAK_IOU). The
    shards of a struck pane often stay touching for a while; their shape changes at once."""
    broken = n_components[1:] >= 2
    if mask is not None:
        ref = mask[0]
        inter = (mask[1:] & ref).sum(axis=(1, 2))
        union = (mask[1:] | ref).sum(axis=(1, 2))
        broken |= (inter < BREAK_IOU * np.maximum(union, 1)) & (union > 0)
    hits = np.flatnonzero(broken)
    return int(hits[0]) if len(hits) else None


def break_frame_error(clip: Clip) -> float:
    """Frames between the rollout's and the truth's break; the horizon when only one of them breaks."""
    truth, pred, objs = _series(clip, "glass")
    errs = []
    for i in objs:
        bt = _break_frame(truth.n_components[:, i], truth.mask[:, i])
        bp = _break_frame(pred.n_components[:, i], pred.mask[:, i])
        errs.append(0.0 if bt is None and bp is None else clip.horizon if bt is None or bp is None else abs(bt - bp))
    return mean_or_nan(errs)


def shard_count_error(clip: Clip) -> float:
    """|pieces_rollout - pieces_truth| / pieces_truth over frames from the truth's break on (pieces
    apart by more than the tracker's grouping gap); not applicable where the truth's never come apart."""
    truth, pred, objs = _series(clip, "glass")
    errs = []
    for i in objs:
        bt = _break_frame(truth.n_components[:, i], truth.mask[:, i])
        # pieces are counted where they are clearly apart; where the truth's never are, the count
        # says nothing about this clip (a codec opens and shuts hairline cracks)
        if bt is not None and (truth.n_components[1 + bt:, i] >= 2).any():
            nt, np_ = truth.n_components[1 + bt:, i], pred.n_components[1 + bt:, i]
            errs.append(np.mean(np.abs(np_ - nt) / np.maximum(nt, 1)))
    return mean_or_nan(errs)


def shards_fall(clip: Clip) -> float:
    """After the truth's break: fraction of frames where the rollout's glass centroid moves vertically
    like the truth's (down, still or up, with a FALL_PX dead zone): glass that stays whole, or
    re-assembles upwards, disagrees. The break is the simulator's shatter event, not the frame where
    the pieces first look apart: shards can fall a while before the tracker sees them separate."""
    truth, pred, objs = _series(clip, "glass")
    shatter = [e["frame"] for e in clip.truth.events_of("shatter") if e["frame"] < clip.context + clip.horizon]
    agree = []
    for i in objs:
        bt = (max(min(shatter) - clip.context, 0) if shatter else _break_frame(truth.n_components[:, i], truth.mask[:, i]))
        if bt is None:
            continue
        t = np.arange(1 + bt, len(truth.area))
        def direction(c):
            dy = np.nan_to_num(c[t, i, 1] - c[t - 1, i, 1], nan=0.0)
            return np.sign(dy) * (np.abs(dy) > FALL_PX)
        agree += list(direction(truth.centroid) == direction(pred.centroid))
    return mean_or_nan(agree)


def glass_area_error(clip: Clip) -> float:
    return _relative_area_error(clip, "glass")


METRICS = [
    Metric("food_regrowth", "plausibility", False, 0.0, 0.1, food_regrowth, "fraction",
           description="largest fraction of the food's area shown again where the truth has bitten it away"),
    Metric("food_area_error", "plausibility", False, 0.0, 0.1, food_area_error, "relative",
           description="food area vs the truth's, relative, per frame"),
    Metric("paint_loss", "plausibility", False, 0.0, 0.1, paint_loss, "fraction",
           description="fraction of painted area lost over time"),
    Metric("paint_iou", "plausibility", True, 1.0, 0.2, paint_iou, "IoU",
           description="IoU of the paint masks with the truth's, per frame"),
    Metric("break_frame_error", "plausibility", False, 0.0, 2.0, break_frame_error, "frames",
           description="frames between the rollout's and the truth's break (horizon if only one breaks)"),
    Metric("shard_count_error", "plausibility", False, 0.0, 0.5, shard_count_error, "relative",
           description="number of glass pieces vs the truth's after the break, relative"),
    Metric("shards_fall", "plausibility", True, 1.0, 0.2, shards_fall, "fraction",
           description="after the break, the glass moves down/up/not in the same frames as the truth's"),
    Metric("glass_area_error", "plausibility", False, 0.0, 0.2, glass_area_error, "relative",
           description="glass area (intact or in pieces) vs the truth's, relative, per frame"),
]
