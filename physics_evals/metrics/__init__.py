"""Every metric, keyed by name; groups and their 0..100 summaries.

    from physics_evals.metrics import METRICS, Clip, evaluate, summarise
    values = evaluate(Clip(truth=episode, context=4, pred=frames))        # name -> raw value (NaN: n/a)
    scores = {n: METRICS[n].score(v, ceiling.get(n)) for n, v in values.items()}
    summarise(scores)  # {"permanence": .., "plausibility": .., "physics_iq": .., "pixels": .., "overall": ..}
"""
from __future__ import annotations

import math
from typing import Iterable, Mapping

from . import motion, permanence, physics_iq, pixels, state
from .base import GROUPS, Clip, ClipError, Metric
from .physics_iq import motion_masks, physics_iq_score

METRICS: dict[str, Metric] = {m.name: m for mod in (permanence, motion, state, physics_iq, pixels) for m in mod.METRICS}
PHYSICS_GROUPS = ("permanence", "plausibility", "physics_iq")  # the groups that make up `overall`


class UnknownMetricError(ValueError):
    """A metric name that is not in METRICS; the message lists the choices."""


def get_metric(name: str) -> Metric:
    if name not in METRICS:
        raise UnknownMetricError(f"unknown metric '{name}'; choose from {', '.join(METRICS)}")
    return METRICS[name]


def summary_groups() -> dict[str, list[str]]:
    """group -> names of its metrics, in registry order."""
    return {g: [n for n, m in METRICS.items() if m.group == g] for g in GROUPS}


def evaluate(clip: Clip, names: Iterable[str] | None = None) -> dict[str, float]:
    """Raw values of the named metrics (all by default) on one clip; NaN where a metric does not apply."""
    return {n: get_metric(n)(clip) for n in (METRICS if names is None else names)}


def summarise(scores: Mapping[str, float]) -> dict[str, float]:
    """Per-group means of 0..100 metric scores (NaNs skipped) and `overall`, the mean of the physics
    groups that have a value. Pixels are reported as a group but never enter `overall`."""
    out = {}
    for group, names in summary_groups().items():
        vals = [scores[n] for n in names if n in scores and not math.isnan(scores[n])]
        out[group] = sum(vals) / len(vals) if vals else math.nan
    phys = [out[g] for g in PHYSICS_GROUPS if not math.isnan(out[g])]
    out["overall"] = sum(phys) / len(phys) if phys else math.nan
    return out


__all__ = ["Clip", "ClipError", "GROUPS", "METRICS", "Metric", "PHYSICS_GROUPS", "UnknownMetricError", "evaluate",
           "get_metric", "motion_masks", "physics_iq_score", "summarise", "summary_groups"]
