"""The summary formula over episode weights (physics_evals.summary) against the same formula written row by row.

The row-by-row form below is the summary as the harness computed it before it took weights: one pass over
the rows, a bootstrap draw being the draw's rows with a repeated episode's rows counted again. The array
form must give the same numbers on unit weights and on every draw, through failed samples, metrics that do
not apply (NaN), a model that skipped episodes, a task whose ceiling IoU is 0 and one whose ceiling failed.
"""
from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pytest
from _evals_helpers import TOY_METRICS

from physics_evals.metrics.base import PHYSICS_GROUPS, Metric
from physics_evals.metrics.physics_iq import physics_iq_score
from physics_evals.results import score_samples
from physics_evals.summary import EpisodeScores, bootstrap_weights, summarize_samples

METRICS = {**TOY_METRICS,  # and a pixel metric, which never enters the summary
           "psnr": Metric("psnr", "pixels", True, perfect=50.0, scale=5.0, fn=TOY_METRICS["reappears"].fn)}


def row_by_row(rows: list[dict], metrics: dict, ceiling_model: str = "resimulated") -> dict:
    """The summary, one pass over the rows (the module docstring)."""
    rows = [dict(r) for r in rows]
    score_samples(rows, metrics, ceiling_model)
    per, piq_values = defaultdict(list), defaultdict(lambda: defaultdict(list))
    episodes, failed = defaultdict(set), defaultdict(set)
    for r in rows:
        m = metrics.get(r["metric"])
        if m is not None and m.group in PHYSICS_GROUPS[:2] and r["score"] is not None:
            per[(r["model"], m.group, r["task"], r["metric"])].append(r["score"])
        elif m is not None and m.group == "physics_iq":
            key = (r["model"], r["task"])
            episodes[key].add(r["episode_id"])
            if r["status"] != "ok":
                failed[key].add(r["episode_id"])
            elif r["value"] is not None and not math.isnan(r["value"]):
                piq_values[key][r["metric"]].append(r["value"])
    groups = defaultdict(lambda: defaultdict(list))
    for (model, group, _, _), scores in per.items():
        groups[model][group].append(float(np.mean(scores)))
    for (model, task), eps in episodes.items():
        ceiling = piq_values.get((ceiling_model, task))
        if not ceiling:
            continue
        ok_fraction = 1.0 - len(failed[(model, task)]) / len(eps)
        try:
            s = physics_iq_score(piq_values[(model, task)], ceiling) if ok_fraction > 0 else 0.0
        except (ValueError, ZeroDivisionError):
            continue
        if not math.isnan(s):
            groups[model]["physics_iq"].append(s * ok_fraction)
    out = {}
    for model in sorted({r["model"] for r in rows}):
        row = {g: float(np.mean(groups[model][g])) if groups[model][g] else None for g in PHYSICS_GROUPS}
        present = [v for v in row.values() if v is not None]
        out[model] = {**row, "overall": float(np.mean(present)) if present else None}
    return out


def samples(seed: int = 0) -> list[dict]:
    """Two models and the ceiling on three tasks, with the awkward cases the formula must survive."""
    rng = np.random.default_rng(seed)
    rows = []
    for task, n in (("t-a", 7), ("t-b", 5), ("t-zero", 4), ("t-lost", 3)):
        for model in ("resimulated", "good", "bad"):
            for e in range(n):
                if model == "bad" and task == "t-b" and e < 4:
                    continue  # a model that skipped episodes: a third of the draws miss its last one
                # t-lost: the ceiling failed every episode (no Physics-IQ score for anyone), "bad" too
                fails = model == "bad" and (e % 3 == 1 or task == "t-lost") or (model, task) == ("resimulated", "t-lost")
                for metric, m in METRICS.items():
                    if metric == "piq_mse":
                        value = rng.uniform(0.0, 0.02)
                    elif m.group == "physics_iq":
                        value = 0.0 if task == "t-zero" and metric == "piq_spatial_iou" else rng.uniform(0.3, 1.0)
                    elif metric == "position_error":
                        value = math.nan if e == 2 else rng.uniform(0.0, 1.0)  # does not apply to one clip
                    else:
                        value = rng.uniform(0.0, 50.0) if metric == "psnr" else float(rng.integers(0, 2))
                    rows.append({"model": model, "task": task, "episode_id": f"{task}-{e}", "metric": metric,
                                 "status": "failed" if fails else "ok", "value": None if fails else value})
    return rows


def duplicated(rows: list[dict], table: EpisodeScores, weights: np.ndarray) -> list[dict]:
    """The rows of a draw: each episode's rows repeated as often as its weight, the copies renamed."""
    count = {col: int(w) for col, w in zip(table.columns, weights)}
    return [{**r, "episode_id": f"{r['episode_id']}#{j}"}
            for r in rows for j in range(count[(r["task"], r["episode_id"])])]


def assert_same(got: dict, want: dict) -> None:
    assert set(got) == set(want)
    for model, row in want.items():
        for group, v in row.items():
            mine = got[model][group]
            if v is None:
                assert mine is None or math.isnan(mine), (model, group, mine)
            else:
                assert mine == pytest.approx(v, abs=1e-9), (model, group)


def test_unit_weights_give_the_row_by_row_summary_with_its_awkward_cases():
    rows = samples()
    want = row_by_row(rows, METRICS)
    assert_same(summarize_samples(rows, METRICS), want)
    assert want["bad"]["physics_iq"] < want["good"]["physics_iq"]  # failures count: the cases are exercised
    for tasks in (["t-a"], ["t-b", "t-zero"], ["t-zero"]):
        assert_same(summarize_samples(rows, METRICS, tasks=tasks),
                    row_by_row([r for r in rows if r["task"] in tasks], METRICS))
    # the task whose ceiling IoU is 0 has no Physics-IQ score, but its other groups do count
    zero = summarize_samples(rows, METRICS, tasks=["t-zero"])["good"]
    assert zero["physics_iq"] is None and zero["permanence"] is not None
    lost = summarize_samples(rows, METRICS, tasks=["t-lost"])  # no ceiling: no score, not a 0 for the failures
    assert lost["bad"]["physics_iq"] is None and lost["bad"]["permanence"] == 0.0


@pytest.mark.parametrize("tasks", [None, ["t-a", "t-b"]])
def test_a_draw_as_weights_is_the_draw_as_repeated_rows(tasks):
    rows = samples(1)
    table = EpisodeScores(rows, METRICS)
    weights = bootstrap_weights(table, 40, np.random.default_rng(3), tasks)
    draws = table.summary(weights, tasks)
    for d in range(len(weights)):
        want = row_by_row(duplicated(rows, table, weights[d]), METRICS)
        assert_same({m: {g: v[d] for g, v in row.items()} for m, row in draws.items()}, want)


def test_bootstrap_weights_resample_each_task_on_its_own_and_are_seeded():
    table = EpisodeScores(samples(), METRICS)
    w = bootstrap_weights(table, 200, np.random.default_rng(0), ["t-a", "t-b"])
    tasks = np.array([task for task, _ in table.columns])
    for task, n in (("t-a", 7), ("t-b", 5)):
        assert (w[:, tasks == task].sum(1) == n).all()  # each draw keeps each task's episode count
    assert (w[:, tasks == "t-zero"] == 0).all()         # tasks left out weigh nothing
    assert (w == 0).any() and (w > 1).any()             # drawn with replacement
    assert np.array_equal(w, bootstrap_weights(table, 200, np.random.default_rng(0), ["t-a", "t-b"]))
