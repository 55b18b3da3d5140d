"""Every metric, keyed by name, with its group, direction and 0..100 scale.

    from physics_evals.metrics import METRICS, Clip, evaluate
    values = evaluate(Clip(truth=episode, context=4, pred=frames))        # name -> raw value (NaN: n/a)
    scores = {n: METRICS[n].score(v, ceiling.get(n)) for n, v in values.items()}

The summary over models, tasks and episodes has one formula: physics_evals.summary.
"""
from __future__ import annotations

from typing import Iterable

from . import motion, permanence, physics_iq, pixels, state
from .base import GROUPS, PHYSICS_GROUPS, Clip, ClipError, Metric
from .physics_iq import motion_masks, physics_iq_score

METRICS: dict[str, Metric] = {m.name: m for mod in (permanence, motion, state, physics_iq, pixels) for m in mod.METRICS}


class UnknownMetricError(ValueError):
    """A metric name that is not in METRICS; the message lists the choices."""


def get_metric(name: str) -> Metric:
    if name not in METRICS:
        raise UnknownMetricError(f"unknown metric '{name}'; choose from {', '.join(METRICS)}")
    return METRICS[name]


def evaluate(clip: Clip, names: Iterable[str] | None = None) -> dict[str, float]:
    """Raw values of the named metrics (all by default) on one clip; NaN where a metric does not apply."""
    return {n: get_metric(n)(clip) for n in (METRICS if names is None else names)}


__all__ = ["Clip", "ClipError", "GROUPS", "METRICS", "Metric", "PHYSICS_GROUPS", "UnknownMetricError", "evaluate",
           "get_metric", "motion_masks", "physics_iq_score"]
