"""From per-episode samples to results.json (fixed contract 3): task values with bootstrap CIs,
0..100 scores against the physical-variance ceiling; the per-model summary is physics_evals.summary's.

A sample is one (model, task, episode, metric) raw value. Its score is `Metric.score(value,
ceiling)` where the ceiling is the `resimulated` model's value on the same episode and metric:
100 means "as close to the truth as a second physical take". A failed sample (bad rollout,
metric error) scores 0, so a model cannot gain by failing on hard episodes; a NaN value means
the metric does not apply to that clip and is left out.
"""
from __future__ import annotations

import json
import math
import zlib
from collections import defaultdict
from pathlib import Path

import numpy as np

from toolkit.files import atomic_write_bytes, atomic_write_json, read_json

from .metrics.base import PHYSICS_GROUPS

SCHEMA_VERSION = 1
RESULTS_FILE = "results.json"
SAMPLES_FILE = "samples.jsonl"
SUMMARY_KEYS = ("overall", *PHYSICS_GROUPS)  # each model's summary, in table order; overall: the groups' mean
N_BOOT = 1000  # bootstrap resamples for 95% CIs


class ResultsError(ValueError):
    """A results file that does not follow fixed contract 3; the message names the file and field."""


def bootstrap_ci(values, seed: int, key: str, n_boot: int = N_BOOT, stat=np.mean) -> tuple[float, float]:
    """Seeded percentile bootstrap 95% CI of stat(values); the key makes each CI's draws its own."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return math.nan, math.nan
    if v.size == 1:
        return float(v[0]), float(v[0])
    rng = np.random.default_rng([seed, zlib.crc32(key.encode())])
    idx = rng.integers(0, v.size, size=(n_boot, v.size))
    stats = stat(v[idx], axis=1)
    return float(np.percentile(stats, 2.5)), float(np.percentile(stats, 97.5))


def _ok(row: dict) -> bool:
    return row["status"] == "ok" and row["value"] is not None and not math.isnan(row["value"])


def score_samples(rows: list[dict], metrics: dict, ceiling_model: str = "resimulated") -> None:
    """Add 'score' (0..100, None when not applicable) to every row, in place."""
    ceiling = {(r["task"], r["episode_id"], r["metric"]): r["value"] for r in rows
               if r["model"] == ceiling_model and _ok(r)}
    for r in rows:
        m = metrics.get(r["metric"])
        if r["status"] != "ok":
            r["score"] = 0.0
        elif m is None or not _ok(r):
            r["score"] = None
        else:
            s = m.score(r["value"], ceiling.get((r["task"], r["episode_id"], r["metric"])))
            r["score"] = None if math.isnan(s) else float(s)


def task_scores(rows: list[dict], metrics: dict, seed: int) -> list[dict]:
    """One contract score entry per (model, task, metric): the raw value aggregated over episodes with
    its bootstrap CI, plus the 0..100 score (mean over episodes, failures count 0) with its CI."""
    groups = defaultdict(list)
    for r in rows:
        groups[(r["model"], r["task"], r["metric"])].append(r)
    out = []
    for (model, task, metric), rs in groups.items():
        m = metrics.get(metric)
        stat = np.median if m is not None and m.aggregation == "median" else np.mean
        values = [r["value"] for r in rs if _ok(r)]
        scores = [r["score"] for r in rs if r.get("score") is not None]
        key = f"{model}/{task}/{metric}"
        lo, hi = bootstrap_ci(values, seed, key, stat=stat)
        slo, shi = bootstrap_ci(scores, seed, key + "/score")
        out.append({
            "model": model, "task": task, "metric": metric,
            "value": float(stat(values)) if values else None, "ci_low": _num(lo), "ci_high": _num(hi),
            "n": len(values), "higher_is_better": bool(m.higher_is_better) if m is not None else None,
            "group": m.group if m is not None else None, "aggregation": m.aggregation if m is not None else "mean",
            "n_failed": sum(r["status"] != "ok" for r in rs),
            "score": float(np.mean(scores)) if scores else None, "score_ci_low": _num(slo), "score_ci_high": _num(shi),
        })
    return out


def _num(x: float) -> float | None:
    return None if x is None or math.isnan(x) else float(x)


# ------------------------------------------------------------------------------------
CONTRACT = {
    "run": ("run_id", "created", "git_revision", "versions", "seed", "command"),
    "task": ("family", "version", "n_episodes", "context_frames", "horizon"),
    "model": ("kind", "source"),
    "score": ("model", "task", "metric", "value", "ci_low", "ci_high", "n", "higher_is_better"),
    "summary": SUMMARY_KEYS,
}
MODEL_KINDS = ("baseline", "checkpoint", "rollouts")


def validate_results(obj: dict, where: str = "results.json") -> None:
    """Raise ResultsError unless obj follows fixed contract 3 (extra fields are allowed)."""
    def need(d, keys, what):
        if not isinstance(d, dict):
            raise ResultsError(f"{where}: {what} is not an object")
        missing = [k for k in keys if k not in d]
        if missing:
            raise ResultsError(f"{where}: {what} lacks {', '.join(missing)}")
    need(obj, ("schema_version", "run", "tasks", "models", "scores", "summary"), "the top level")
    if obj["schema_version"] != SCHEMA_VERSION:
        raise ResultsError(f"{where}: schema_version {obj['schema_version']}, expected {SCHEMA_VERSION}")
    need(obj["run"], CONTRACT["run"], "run")
    for key in ("tasks", "models", "summary"):  # objects keyed by name, before anything iterates them
        if not isinstance(obj[key], dict):
            raise ResultsError(f"{where}: {key} is not an object (got {type(obj[key]).__name__})")
    for name, t in obj["tasks"].items():
        need(t, CONTRACT["task"], f"task {name}")
    for name, m in obj["models"].items():
        need(m, CONTRACT["model"], f"model {name}")
        if m["kind"] not in MODEL_KINDS:
            raise ResultsError(f"{where}: model {name} has kind {m['kind']!r}, expected one of {MODEL_KINDS}")
    if not isinstance(obj["scores"], list):
        raise ResultsError(f"{where}: scores is not a list")
    for i, s in enumerate(obj["scores"]):
        need(s, CONTRACT["score"], f"scores[{i}]")
        if s["model"] not in obj["models"] or s["task"] not in obj["tasks"]:
            raise ResultsError(f"{where}: scores[{i}] names a model or task that is not listed")
    for name, s in obj["summary"].items():
        need(s, CONTRACT["summary"], f"summary of {name}")


def write_run(folder: Path, results: dict, rows: list[dict]) -> Path:
    """Write samples.jsonl then results.json, each atomically; results.json marks the run complete."""
    validate_results(results)
    lines = "".join(json.dumps(r, allow_nan=False) + "\n" for r in rows)
    atomic_write_bytes(folder / SAMPLES_FILE, lines.encode())
    atomic_write_json(folder / RESULTS_FILE, results)
    return folder / RESULTS_FILE


def load_results(path: str | Path) -> dict:
    path = Path(path)
    path = path / RESULTS_FILE if path.is_dir() else path
    if not path.is_file():
        raise ResultsError(f"{path}: no such results file")
    obj = read_json(path, ResultsError)
    validate_results(obj, str(path))
    return obj


def format_table(results: dict) -> str:
    """The summary (0..100) per model, then the mean score per model and task."""
    models = list(results["models"])
    tasks = list(results["tasks"])
    cols = PHYSICS_GROUPS + ("overall",)
    w = max([len(m) for m in models] + [10])
    lines = [f"{'model':<{w}}  " + "  ".join(f"{c:>12}" for c in cols)]
    for m in models:
        s = results["summary"].get(m, {})
        lines.append(f"{m:<{w}}  " + "  ".join(f"{_fmt(s.get(c)):>12}" for c in cols))
    per = defaultdict(list)
    for s in results["scores"]:
        if s.get("group") in PHYSICS_GROUPS and s.get("score") is not None:
            per[(s["model"], s["task"])].append(s["score"])
    tw = max([len(t) for t in tasks] + [4])
    lines += ["", "mean score per task (0..100; failures count 0)",
              f"{'task':<{tw}}  " + "  ".join(f"{m:>{max(len(m), 6)}}" for m in models)]
    for t in tasks:
        lines.append(f"{t:<{tw}}  " + "  ".join(
            f"{_fmt(float(np.mean(per[(m, t)])) if per[(m, t)] else None):>{max(len(m), 6)}}" for m in models))
    failed = sum(s.get("n_failed", 0) for s in results["scores"])
    if failed:
        lines.append(f"\n{failed} samples failed (see samples.jsonl, status 'failed')")
    return "\n".join(lines)


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.1f}"
