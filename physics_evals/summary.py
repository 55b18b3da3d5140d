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
counted again, as a few array operations per task instead of a pass over the rows per draw.
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np

from .metrics.base import PHYSICS_GROUPS
from .metrics.physics_iq import PIQ_KEYS, physics_iq_of_means
from .results import score_samples

N_BOOT = 500  # bootstrap draws of a summary interval (report and results.json); the 2.5% tail rests on ~12
MEAN_GROUPS = PHYSICS_GROUPS[:2]  # groups that are means of episode scores; physics_iq is a score of means


def _wsum(w: np.ndarray, a: np.ndarray) -> np.ndarray:
    """(draws, rows): each row of `a` (rows, episodes) summed over episodes under each draw's weights. Not a
    matrix product: BLAS sums in an order that depends on the CPU, and a report must rebuild byte for byte
    on any machine; numpy's reduction order is fixed."""
    return (w[:, None, :] * a[None, :, :]).sum(-1)


class _TaskBlock:
    """One task's samples as arrays over its episodes (its columns)."""

    def __init__(self, columns: slice):
        self.columns = columns
        self.pairs: list[tuple[str, str, str]] = []  # (model, group, metric) of each row of score_sum
        self.models: list[str] = []                  # model of each row of the Physics-IQ arrays

    def fill(self, scored: list, piq_cells: list) -> None:
        width = self.columns.stop - self.columns.start
        self.score_sum = np.zeros((len(self.pairs), width))  # repeated rows (if any) add up, as in a draw
        self.score_n = np.zeros_like(self.score_sum)
        for p, e, value in scored:
            self.score_sum[p, e] += value
            self.score_n[p, e] += 1
        shape = (len(PIQ_KEYS), len(self.models), width)
        self.piq_sum, self.piq_n = np.zeros(shape), np.zeros(shape)
        self.piq_present, self.piq_failed = np.zeros(shape[1:]), np.zeros(shape[1:])  # episodes, not samples
        for q, e, r in piq_cells:
            self.piq_present[q, e] = 1
            if r["status"] != "ok":
                self.piq_failed[q, e] = 1
            elif r["metric"] in PIQ_KEYS and r["value"] is not None and not np.isnan(r["value"]):
                k = PIQ_KEYS.index(r["metric"])
                self.piq_sum[k, q, e] += r["value"]
                self.piq_n[k, q, e] += 1


class EpisodeScores:
    """Samples as arrays over the episodes (columns) of every task, ready to be summarised under any weights.
    Each task is a block of its own (its pairs by its episodes), so memory grows with the samples."""

    def __init__(self, rows: list[dict], metrics: dict, ceiling_model: str = "resimulated"):
        rows = [dict(r) for r in rows]
        score_samples(rows, metrics, ceiling_model)
        self.ceiling_model = ceiling_model
        self.columns = sorted({(r["task"], r["episode_id"]) for r in rows})  # each task's columns are contiguous
        column = {c: i for i, c in enumerate(self.columns)}
        start: dict[str, int] = {}
        for i, (task, _) in enumerate(self.columns):
            start.setdefault(task, i)
        ends = [*list(start.values())[1:], len(self.columns)]
        self.blocks = {task: _TaskBlock(slice(s, e)) for (task, s), e in zip(start.items(), ends)}
        self.models_of_task: dict[str, set[str]] = defaultdict(set)
        pair_index: dict[tuple, int] = {}
        model_index: dict[tuple, int] = {}
        scored, piq_cells = defaultdict(list), defaultdict(list)
        for r in rows:
            task = r["task"]
            self.models_of_task[task].add(r["model"])
            m = metrics.get(r["metric"])
            if m is None:
                continue
            block, e = self.blocks[task], column[(task, r["episode_id"])] - start[task]
            if m.group in MEAN_GROUPS and r["score"] is not None:
                key = (task, r["model"], m.group, r["metric"])
                if key not in pair_index:
                    pair_index[key] = len(block.pairs)
                    block.pairs.append(key[1:])
                scored[task].append((pair_index[key], e, r["score"]))
            elif m.group == "physics_iq":
                key = (task, r["model"])
                if key not in model_index:
                    model_index[key] = len(block.models)
                    block.models.append(r["model"])
                piq_cells[task].append((model_index[key], e, r))
        for task, block in self.blocks.items():
            block.fill(scored[task], piq_cells[task])

    def tasks(self) -> list[str]:
        return sorted(self.models_of_task)

    def summary(self, weights: np.ndarray, tasks: list[str] | None = None) -> dict[str, dict[str, np.ndarray]]:
        """{model: {group: values}} with one value per row of `weights` (draws x columns); NaN where a
        group has nothing to average. `tasks` restricts the summary (e.g. to one family)."""
        w = np.atleast_2d(np.asarray(weights, np.float64))
        keep = sorted(set(self.tasks() if tasks is None else tasks) & set(self.blocks))
        models = sorted({m for t in keep for m in self.models_of_task[t]})
        total = {m: {g: np.zeros(len(w)) for g in PHYSICS_GROUPS} for m in models}
        count = {m: {g: np.zeros(len(w)) for g in PHYSICS_GROUPS} for m in models}

        def add(model, group, values):
            ok = ~np.isnan(values)
            total[model][group] += np.where(ok, values, 0.0)
            count[model][group] += ok

        for task in keep:
            block = self.blocks[task]
            wt = w[:, block.columns]
            with np.errstate(divide="ignore", invalid="ignore"):
                means = _wsum(wt, block.score_sum) / _wsum(wt, block.score_n)  # draws x pairs; NaN: none drawn
            for j, (model, group, _) in enumerate(block.pairs):
                add(model, group, means[:, j])
            for model, value in self._physics_iq(wt, block).items():
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

    def points(self, tasks: list[str] | None = None) -> dict[str, dict[str, float | None]]:
        """The summary itself (every episode once): {model: {group: 0..100 or None}}."""
        out = self.summary(np.ones((1, len(self.columns))), tasks)
        return {m: {g: None if np.isnan(v[0]) else float(v[0]) for g, v in row.items()} for m, row in out.items()}

    def _physics_iq(self, w: np.ndarray, block: _TaskBlock) -> dict[str, np.ndarray]:
        """model -> the task's Physics-IQ score per draw, NaN where it is undefined (no ceiling values, a
        metric with no values, a ceiling IoU of 0, or no episode of the model drawn); w: the task's columns."""
        if self.ceiling_model not in block.models:
            return {}
        c = block.models.index(self.ceiling_model)
        shape = (len(w), len(PIQ_KEYS), len(block.models))
        n = _wsum(w, block.piq_n.reshape(-1, w.shape[1])).reshape(shape)  # draws x metrics x models
        with np.errstate(divide="ignore", invalid="ignore"):
            means = _wsum(w, block.piq_sum.reshape(-1, w.shape[1])).reshape(shape) / n
            drawn, failed = _wsum(w, block.piq_present), _wsum(w, block.piq_failed)  # draws x models
            ok_fraction = 1.0 - failed / drawn
        has_ceiling = (n[:, :, c] > 0).any(1)
        ceiling = {k: means[:, i, c] for i, k in enumerate(PIQ_KEYS)}
        out = {}
        for q, model in enumerate(block.models):
            mine = {k: means[:, i, q] for i, k in enumerate(PIQ_KEYS)}
            score = np.where(ok_fraction[:, q] > 0, physics_iq_of_means(mine, ceiling) * ok_fraction[:, q], 0.0)
            out[model] = np.where(has_ceiling & (drawn[:, q] > 0), score, np.nan)
        return out


def summarize_samples(rows: list[dict], metrics: dict, tasks: list[str] | None = None,
                      ceiling_model: str = "resimulated") -> dict[str, dict[str, float | None]]:
    """The summary of the samples (the module docstring's formula), per model: {group: 0..100 or None}.
    Rows need no 'score' yet; `tasks` restricts the summary (e.g. to one family)."""
    return EpisodeScores([r for r in rows if tasks is None or r["task"] in tasks], metrics, ceiling_model).points()


def percentile_interval(draws: np.ndarray) -> tuple[float, float] | None:
    """The 95% percentile interval of a summary value's bootstrap draws (NaN draws left out); None if none."""
    draws = draws[~np.isnan(draws)]
    return (float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))) if draws.size else None


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
