"""The summary: per model, permanence, plausibility, physics_iq and overall on 0..100, from per-episode samples.

The one formula (fixed contract 3's `summary`):
- permanence and plausibility: the mean over the group's (task, metric) pairs of the mean episode score;
- physics_iq: the mean over tasks of the Physics-IQ score of the task's mean metric values against the
  ceiling's on the same episodes, scaled by the fraction of episodes whose samples did not fail;
- overall: the mean of the groups present.
Failed samples score 0; a sample whose metric does not apply (NaN) is left out.

It is written over episode weights. `EpisodeScores(rows, metrics)` lays the samples out as arrays with one
column per (task, episode), and `summary(weights)` evaluates the formula for many weightings at once.
Weights of one give the summary of the samples (`summarize_samples`). A bootstrap draw's weights are each
episode's multiplicity in the draw (`bootstrap_weights`): the same as the draw's rows with a repeated episode
counted again, as a few matrix products instead of a pass over the rows per draw.
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np

from .metrics.base import PHYSICS_GROUPS
from .metrics.physics_iq import PIQ_KEYS, physics_iq_of_means
from .results import score_samples

N_BOOT = 500  # bootstrap draws of a summary interval (report and results.json); the 2.5% tail rests on ~12
MEAN_GROUPS = PHYSICS_GROUPS[:2]  # groups that are means of episode scores; physics_iq is a score of means


class EpisodeScores:
    """Samples as arrays over the episodes (columns) of every task, ready to be summarised under any weights."""

    def __init__(self, rows: list[dict], metrics: dict, ceiling_model: str = "resimulated"):
        rows = [dict(r) for r in rows]
        score_samples(rows, metrics, ceiling_model)
        self.ceiling_model = ceiling_model
        self.columns = sorted({(r["task"], r["episode_id"]) for r in rows})
        column = {c: i for i, c in enumerate(self.columns)}
        self.models_of_task: dict[str, set[str]] = defaultdict(set)
        pairs: dict[tuple, int] = {}  # (model, group, task, metric) -> row of the score arrays
        scored: list[tuple[int, int, float]] = []
        piq: dict[tuple[str, str], int] = {}  # (model, task) -> row of the Physics-IQ arrays
        piq_cells: list[tuple[int, int, str, dict]] = []
        for r in rows:
            self.models_of_task[r["task"]].add(r["model"])
            m = metrics.get(r["metric"])
            if m is None:
                continue
            e = column[(r["task"], r["episode_id"])]
            if m.group in MEAN_GROUPS and r["score"] is not None:
                p = pairs.setdefault((r["model"], m.group, r["task"], r["metric"]), len(pairs))
                scored.append((p, e, r["score"]))
            elif m.group == "physics_iq":
                q = piq.setdefault((r["model"], r["task"]), len(piq))
                piq_cells.append((q, e, r["metric"], r))
        self.pairs = list(pairs)
        self.score_sum = np.zeros((len(pairs), len(self.columns)))  # repeated rows (if any) add up, as in a draw
        self.score_n = np.zeros_like(self.score_sum)
        for p, e, s in scored:
            self.score_sum[p, e] += s
            self.score_n[p, e] += 1
        self.piq = list(piq)
        shape = (len(PIQ_KEYS), len(piq), len(self.columns))
        self.piq_sum, self.piq_n = np.zeros(shape), np.zeros(shape)
        self.piq_present, self.piq_failed = np.zeros(shape[1:]), np.zeros(shape[1:])  # episodes, not samples
        for q, e, metric, r in piq_cells:
            self.piq_present[q, e] = 1
            if r["status"] != "ok":
                self.piq_failed[q, e] = 1
            elif metric in PIQ_KEYS and r["value"] is not None and not np.isnan(r["value"]):
                k = PIQ_KEYS.index(metric)
                self.piq_sum[k, q, e] += r["value"]
                self.piq_n[k, q, e] += 1

    def tasks(self) -> list[str]:
        return sorted(self.models_of_task)

    def summary(self, weights: np.ndarray, tasks: list[str] | None = None) -> dict[str, dict[str, np.ndarray]]:
        """{model: {group: values}} with one value per row of `weights` (draws x columns); NaN where a
        group has nothing to average. `tasks` restricts the summary (e.g. to one family)."""
        w = np.atleast_2d(np.asarray(weights, np.float64))
        keep = set(self.tasks() if tasks is None else tasks)
        models = sorted({m for t in keep for m in self.models_of_task.get(t, ())})
        total = {m: {g: np.zeros(len(w)) for g in PHYSICS_GROUPS} for m in models}
        count = {m: {g: np.zeros(len(w)) for g in PHYSICS_GROUPS} for m in models}

        def add(model, group, values):
            ok = ~np.isnan(values)
            total[model][group] += np.where(ok, values, 0.0)
            count[model][group] += ok

        rows = [i for i, (_, _, task, _) in enumerate(self.pairs) if task in keep]
        with np.errstate(divide="ignore", invalid="ignore"):
            means = (w @ self.score_sum[rows].T) / (w @ self.score_n[rows].T)  # draws x pairs; NaN: none drawn
        for j, i in enumerate(rows):
            model, group, _, _ = self.pairs[i]
            add(model, group, means[:, j])
        for (model, task), value in self._physics_iq(w, keep).items():
            add(model, "physics_iq", value)

        out = {}
        for m in models:
            with np.errstate(divide="ignore", invalid="ignore"):
                row = {g: total[m][g] / count[m][g] for g in PHYSICS_GROUPS}
            present = np.stack([~np.isnan(row[g]) for g in PHYSICS_GROUPS])
            values = np.stack([np.where(np.isnan(row[g]), 0.0, row[g]) for g in PHYSICS_GROUPS])
            with np.errstate(divide="ignore", invalid="ignore"):
                row["overall"] = values.sum(0) / present.sum(0)
            out[m] = row
        return out

    def _physics_iq(self, w: np.ndarray, keep: set[str]) -> dict[tuple[str, str], np.ndarray]:
        """(model, task) -> the task's Physics-IQ score per draw, NaN where it is undefined (no ceiling
        values, a metric with no values, a ceiling IoU of 0, or no episode of the model drawn)."""
        index = {key: q for q, key in enumerate(self.piq)}
        shape = (len(w), len(PIQ_KEYS), len(self.piq))
        n = (w @ self.piq_n.reshape(-1, len(self.columns)).T).reshape(shape)  # draws x metrics x (model, task)
        with np.errstate(divide="ignore", invalid="ignore"):
            means = (w @ self.piq_sum.reshape(-1, len(self.columns)).T).reshape(shape) / n
            drawn, failed = w @ self.piq_present.T, w @ self.piq_failed.T  # draws x (model, task)
            ok_fraction = 1.0 - failed / drawn
        has_values = (n > 0).any(1)
        out = {}
        for q, (model, task) in enumerate(self.piq):
            c = index.get((self.ceiling_model, task))
            if task not in keep or c is None:
                continue
            mine = {k: means[:, i, q] for i, k in enumerate(PIQ_KEYS)}
            ceiling = {k: means[:, i, c] for i, k in enumerate(PIQ_KEYS)}
            score = np.where(ok_fraction[:, q] > 0, physics_iq_of_means(mine, ceiling) * ok_fraction[:, q], 0.0)
            out[(model, task)] = np.where(has_values[:, c] & (drawn[:, q] > 0), score, np.nan)
        return out


def summarize_samples(rows: list[dict], metrics: dict, tasks: list[str] | None = None,
                      ceiling_model: str = "resimulated") -> dict[str, dict[str, float | None]]:
    """The summary of the samples (the module docstring's formula), per model: {group: 0..100 or None}.
    Rows need no 'score' yet; `tasks` restricts the summary (e.g. to one family)."""
    table = EpisodeScores([r for r in rows if tasks is None or r["task"] in tasks], metrics, ceiling_model)
    out = table.summary(np.ones((1, len(table.columns))))
    return {m: {g: None if np.isnan(v[0]) else float(v[0]) for g, v in row.items()} for m, row in out.items()}


def bootstrap_weights(table: EpisodeScores, n_boot: int, rng: np.random.Generator,
                      tasks: list[str] | None = None) -> np.ndarray:
    """n_boot paired bootstrap draws over episodes, as weights (draws x columns): each task's episodes are
    drawn with replacement, one draw shared by every model and metric (paired: scores are taken against the
    ceiling's same episodes). Tasks left out of `tasks` get weight 0."""
    by_task: dict[str, list[int]] = defaultdict(list)
    for i, (task, _) in enumerate(table.columns):
        by_task[task].append(i)
    chosen = sorted(by_task if tasks is None else set(tasks) & set(by_task))
    w = np.zeros((n_boot, len(table.columns)))
    for d in range(n_boot):
        for task in chosen:
            cols = by_task[task]
            w[d, cols] = np.bincount(rng.integers(0, len(cols), size=len(cols)), minlength=len(cols))
    return w
