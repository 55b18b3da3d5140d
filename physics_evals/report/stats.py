"""95% confidence intervals for summary scores: a paired, seeded bootstrap over episodes.

results.json carries CIs for each (model, task, metric) value but only points for the summary.
Here the episodes of every task are resampled with replacement (one draw shared by all models
and metrics: paired, since scores are taken against the ceiling's same episode) and each draw
is summarised by the harness's own summary formula (`physics_evals.summary`, which takes a draw as
episode weights), so the intervals are of exactly the numbers in the table. The metrics are rebuilt from the
records results.json carries (group, direction, perfect value, scale), so a report needs no
metric code. Before any interval is shown, the unresampled summary is checked against
results.json; when it does not reproduce, the report says so instead of printing intervals
of something else.
"""
from __future__ import annotations

import math

import numpy as np

from ..models import CEILING
from ..summary import N_BOOT, EpisodeScores, bootstrap_weights, percentile_interval
from .load import GROUPS, Results

BOOT_SEED = 0         # the bootstrap is seeded so a report is a pure function of its inputs
REPRODUCE_TOL = 1e-6  # summary points must match results.json to this (absolute, on 0..100)


def _unused(clip):  # metrics rebuilt from records are never run on clips, only used to score values
    raise RuntimeError("a metric rebuilt from results.json cannot measure clips")


def metrics_of(results: Results) -> dict:
    """Metric objects for scoring sample values: from results.json's records, else the registry."""
    from physics_evals.metrics.base import Metric
    out = {}
    for name, rec in results.metrics.items():
        if all(k in rec for k in ("group", "higher_is_better", "perfect", "scale")):
            out[name] = Metric(name, rec["group"], bool(rec["higher_is_better"]), float(rec["perfect"]),
                               float(rec["scale"]), _unused, aggregation=rec.get("aggregation", "mean"))
    missing = {r["metric"] for r in results.samples} - set(out)
    if missing:
        from physics_evals.metrics import METRICS
        out.update({m: METRICS[m] for m in missing if m in METRICS})
    return out


def ceiling_model(results: Results) -> str:
    names = {run.data["run"].get("ceiling_model", CEILING) for run in results.runs}
    return names.pop() if len(names) == 1 else CEILING


def episode_scores(results: Results) -> EpisodeScores:
    """The results' samples laid out for the summary formula; built once per Results."""
    if results.episode_scores is None:
        results.episode_scores = EpisodeScores(results.samples, metrics_of(results), ceiling_model(results))
    return results.episode_scores


def summarize(results: Results, tasks: list[str] | None = None) -> dict[str, dict]:
    """{model: {group: 0..100 or None}} of the samples, over the given tasks (all by default)."""
    return episode_scores(results).points(tasks)


def reproduces(got: dict, want: dict, tol: float = REPRODUCE_TOL) -> bool:
    """True when every summary value in `want` (results.json) is matched by `got` (None matches None)."""
    checked = 0
    for model, row in want.items():
        for g in GROUPS:
            v, mine = row.get(g), got.get(model, {}).get(g)
            if v is None or (isinstance(v, float) and math.isnan(v)):
                if mine is not None and not math.isnan(mine):
                    return False
                continue
            if mine is None or abs(mine - v) > tol:
                return False
            checked += 1
    return checked > 0


def check(results: Results) -> tuple[bool, str]:
    """Whether intervals can be made, with the line that says how they are made (or why not)."""
    if not results.samples:
        return False, "summary intervals: not shown (the runs have no samples.jsonl to bootstrap)"
    try:
        ok = reproduces(summarize(results), results.summary)
    except (ImportError, KeyError, TypeError, ValueError):
        ok = False
    if not ok:
        return False, ("summary intervals: not shown (the samples in samples.jsonl do not reproduce the "
                       "summary in results.json)")
    return True, (f"summary intervals: paired percentile bootstrap over episodes ({N_BOOT} draws, seed {BOOT_SEED}), "
                  "each draw summarised by the harness's summary formula")


def intervals(results: Results, tasks: list[str] | None = None, n_boot: int = N_BOOT,
              seed: int = BOOT_SEED) -> dict[str, dict[str, tuple[float, float]]]:
    """{model: {group: (ci_low, ci_high)}} over the given tasks (all by default)."""
    tasks = sorted(results.tasks) if tasks is None else sorted(tasks)
    table = episode_scores(results)
    draws = table.summary(bootstrap_weights(table, n_boot, np.random.default_rng(seed), tasks), tasks)
    out = {m: {g: percentile_interval(v) for g, v in row.items()} for m, row in draws.items()}
    return {m: {g: ci for g, ci in row.items() if ci is not None} for m, row in out.items() if any(row.values())}
