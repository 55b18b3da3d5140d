"""Generalisation scores: per model, the summary over each split's tasks and the generalisation gaps.

PhyWorld separates in-distribution (ID), out-of-distribution (OOD) and combinatorial generalisation;
every task says which split it measures (`Task.split`). For each model this gives the `overall`
summary (the harness's own formula, physics_evals.summary, restricted to one split's tasks) of each split
present, and the gaps ID - OOD and ID - comb: how much worse the model does outside its training
distribution (a positive gap is a drop). Each comes with a 95% interval from a seeded percentile
bootstrap over episodes: every draw resamples the episodes of every task once (paired: one draw
serves every model and every split, since scores are taken against the ceiling's same episodes) and
the gap is taken inside each draw, so its interval is of the difference itself.

results.json carries this as an extra top-level section `splits` (fixed contract 3 plus a field):
    {model: {"id": {"overall", "ci_low", "ci_high", "n_tasks"}, "ood": {...}, "comb": {...},
             "gap_ood": {"value", "ci_low", "ci_high"}, "gap_comb": {...}}}
"""
from __future__ import annotations

import numpy as np

from .metrics.base import PHYSICS_GROUPS
from .summary import N_BOOT, EpisodeScores, bootstrap_weights, percentile_interval

SPLITS = ("id", "ood", "comb")  # as tasks.SPLITS (not imported: the report reads results without tasks)
GAPS = {"gap_ood": "ood", "gap_comb": "comb"}  # gap key -> the split subtracted from ID


def split_of_tasks(task_records: dict[str, dict]) -> dict[str, str]:
    """task -> split from results.json's task records (records without one are in-distribution)."""
    return {t: rec.get("split", "id") for t, rec in task_records.items()}


def split_scores(rows: list[dict], metrics: dict, task_split: dict[str, str], ceiling_model: str,
                 n_boot: int = N_BOOT, seed: int = 0) -> dict[str, dict]:
    """Per model: each split's overall score with its CI, and the gaps to ID with theirs (see the
    module docstring). Splits without tasks, and gaps without both sides, are left out."""
    by_split = {s: sorted(t for t, v in task_split.items() if v == s) for s in SPLITS}
    by_split = {s: ts for s, ts in by_split.items() if ts}
    if not by_split:
        return {}
    read = [r for r in rows  # only the samples the summary reads (pixel metrics never enter it)
            if r["task"] in task_split and r["metric"] in metrics and metrics[r["metric"]].group in PHYSICS_GROUPS]
    table = EpisodeScores(read, metrics, ceiling_model)
    points = {s: table.points(ts) for s, ts in by_split.items()}
    weights = bootstrap_weights(table, n_boot, np.random.default_rng([seed, 10]))  # 10: this bootstrap's own stream
    draws = {s: table.summary(weights, ts) for s, ts in by_split.items()}
    out = {}
    for model in sorted({m for p in points.values() for m, row in p.items() if row["overall"] is not None}):
        entry = {}
        for s in by_split:
            point = points[s].get(model, {}).get("overall")
            if point is not None:
                lo, hi = percentile_interval(draws[s][model]["overall"]) or (None, None)
                entry[s] = {"overall": point, "ci_low": lo, "ci_high": hi, "n_tasks": len(by_split[s])}
        for gap, other in GAPS.items():
            if "id" in entry and other in entry:
                lo, hi = percentile_interval(draws["id"][model]["overall"] - draws[other][model]["overall"]) or (None, None)
                entry[gap] = {"value": entry["id"]["overall"] - entry[other]["overall"], "ci_low": lo, "ci_high": hi}
        out[model] = entry
    return out


def format_splits(splits: dict[str, dict]) -> list[str]:
    """Plain-text lines: per model, each split's overall [95% CI] and the gaps (for the run's printout)."""
    if not splits:
        return []
    present = [s for s in SPLITS if any(s in e for e in splits.values())]
    gaps = [g for g in GAPS if any(g in e for e in splits.values())]
    w = max([len(m) for m in splits] + [10])

    def cell(d: dict | None, key: str) -> str:
        if not d or d.get(key) is None:
            return "—"
        ci = "" if d.get("ci_low") is None else f" [{d['ci_low']:.1f}, {d['ci_high']:.1f}]"
        return f"{d[key]:.1f}{ci}"
    lines = ["", "generalisation: overall (0..100) per split, gap = ID minus the split (95% CI)",
             f"{'model':<{w}}  " + "  ".join(f"{c:>20}" for c in present + [g.replace('_', ' ID-') for g in gaps])]
    for m, e in splits.items():
        lines.append(f"{m:<{w}}  " + "  ".join(f"{cell(e.get(s), 'overall'):>20}" for s in present) +
                     "".join(f"  {cell(e.get(g), 'value'):>20}" for g in gaps))
    return lines
