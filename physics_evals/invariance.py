"""Invariance probes: degraded truth must score as the truth.

For every episode of the chosen tasks, the truth's horizon goes through each nuisance
(physics_evals.nuisance: codecs, JPEG, another resolution, blur, brightness and colour drift, noise)
and is scored exactly as `run` scores a model: every metric of the task against the `resimulated`
physical-variance ceiling, summarised by physics_evals.summary. Reported per nuisance: the
summary scores (overall, permanence, plausibility, physics_iq) and the largest drop of any metric's
task score below the clean truth's, with the task and metric that drop. Deliveries that drop information
(half the frame rate: nuisance.NO_TARGET) are probed and reported the same way, but held to no target.

    invariance_report(tasks, folders)  # nuisance -> {"summary", "largest_drop", "drops"}
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from scenarios import load_episode
from toolkit.pool import map_concat

from .nuisance import NO_TARGET, PROBED

TARGET = {"overall": 95.0, "permanence": 95.0}  # what every nuisance must keep on the default suite
TOLERANCE = 1.0  # on one clip, a nuisance may move a metric's distance from perfect by this times its scale
                 # (its score stays at or above 50); tests/test_invariance.py holds every metric to it
CLEAN, CEILING = "truth", "resimulated"


def _rows(model: str, task, episode, frames: np.ndarray, subsampled_chroma: bool = False) -> list[dict]:
    """Sample rows of one clip, as the runner writes them."""
    from .metrics import METRICS, Clip
    clip = Clip(episode, task.context, frames, subsampled_chroma)
    out = []
    for name in task.metrics:
        if name not in METRICS:
            continue
        v = METRICS[name](clip)
        out.append({"model": model, "task": task.name, "episode_id": episode.episode_id, "metric": name,
                    "group": METRICS[name].group, "value": None if math.isnan(v) else v, "status": "ok"})
    return out


def episode_rows(task, folder: Path, nuisances: tuple[str, ...], seed: int = 0) -> list[dict]:
    """Rows of the clean truth, the ceiling and each degraded truth of one episode."""
    from .models.baselines import Resimulated
    ep = load_episode(folder)
    truth = ep.rgb[task.context:task.context + task.horizon]
    rows = _rows(CLEAN, task, ep, truth)
    rows += _rows(CEILING, task, ep, Resimulated(seed=seed).rollout(ep.rgb[:task.context], ep.caption, task, ep))
    for n in nuisances:
        rows += _rows(n, task, ep, PROBED[n].apply(truth, task.fps), PROBED[n].subsampled_chroma)
    return rows


def _job(args):
    return episode_rows(*args)


def invariance_report(tasks, folders: dict[str, list[Path]], nuisances: tuple[str, ...] = tuple(PROBED),
                      workers: int = 1, seed: int = 0) -> dict[str, dict]:
    """nuisance -> {"summary": {group: score}, "largest_drop": (drop, task, metric), "drops": {(task,
    metric): drop}, "psnr": dB}; plus the clean truth's summary under CLEAN. "psnr" is the mean over clips of
    the degraded truth's PSNR against the truth (the `psnr` metric): how much the nuisance changes the pixels,
    next to how little it changes the scores."""
    from .metrics import METRICS
    from .results import score_samples
    from .summary import summarize_samples
    jobs = [(t, f, tuple(nuisances), seed) for t in tasks for f in folders[t.name]]
    rows: list[dict] = map_concat(_job, jobs, workers)
    summary = summarize_samples(rows, METRICS, ceiling_model=CEILING)
    score_samples(rows, METRICS, CEILING)
    task_score: dict[tuple, list] = {}
    psnr: dict[str, list] = {}
    for r in rows:
        if r["score"] is not None and METRICS[r["metric"]].group in ("permanence", "plausibility"):
            task_score.setdefault((r["model"], r["task"], r["metric"]), []).append(r["score"])
        elif r["metric"] == "psnr" and r["value"] is not None:
            psnr.setdefault(r["model"], []).append(r["value"])
    mean = {k: float(np.mean(v)) for k, v in task_score.items()}
    out = {CLEAN: {"summary": summary[CLEAN], "largest_drop": (0.0, "", ""), "drops": {}, "psnr": None}}
    for n in nuisances:
        drops = {(t, m): mean[(CLEAN, t, m)] - s for (model, t, m), s in mean.items()
                 if model == n and (CLEAN, t, m) in mean}
        worst = max(drops.items(), key=lambda kv: kv[1], default=((("", ""), 0.0)))
        out[n] = {"summary": summary[n], "largest_drop": (max(0.0, worst[1]), *worst[0]), "drops": drops,
                  "psnr": float(np.mean(psnr[n])) if n in psnr else None}
    return out


def meets_target(summary: dict) -> bool:
    return all(summary.get(g) is None or summary[g] >= v for g, v in TARGET.items())


def _verdict(name: str, summary: dict) -> str:
    return "no target" if name in NO_TARGET else "met" if meets_target(summary) else "**not met**"


def _cells(r: dict) -> tuple[list[str], str]:
    """(the four summary scores and the PSNR, each as printed; the largest drop as printed) of one nuisance."""
    s = r["summary"]
    scores = ["-" if s.get(g) is None else f"{s[g]:.1f}" for g in ("overall", "permanence", "plausibility", "physics_iq")]
    drop, task, metric = r["largest_drop"]
    return [*scores, "-" if r.get("psnr") is None else f"{r['psnr']:.1f}"], \
        (f"{drop:5.1f}  {metric} on {task}" if metric else "    -")


def format_invariance(report: dict[str, dict]) -> list[str]:
    """The table `probe` prints: one line per nuisance."""
    lines = [(f"{'nuisance':<13} {'overall':>7} {'perm':>6} {'plaus':>6} {'piq':>6} {'psnr':>5}  "
              "largest metric drop (task score)")]
    for n, r in report.items():
        (o, pe, pl, q, db), what = _cells(r)
        flag = {"met": "", "no target": "  (no target)"}.get(_verdict(n, r["summary"]), "  << below target")
        lines.append(f"{n:<13} {o:>7} {pe:>6} {pl:>6} {q:>6} {db:>5}  {what}{flag}")
    return lines


def invariance_markdown(report: dict[str, dict]) -> list[str]:
    """The same table in markdown (what `probe --invariance-out` writes), each nuisance described."""
    lines = [("| nuisance | what it does | overall | permanence | plausibility | physics_iq | PSNR (dB) | "
              "largest drop of a metric's task score | targets |"), "|" + "---|" * 9]
    for n, r in report.items():
        cells, what = _cells(r)
        about = PROBED[n].description if n in PROBED else "the clean truth"
        lines.append(f"| {n} | {about} | " + " | ".join(cells) + f" | {' '.join(what.split())} | {_verdict(n, r['summary'])} |")
    return lines
