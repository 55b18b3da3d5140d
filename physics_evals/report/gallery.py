"""What each model's rollouts look like next to the truth: examples and worst failures.

Rollouts come from the cache the run wrote (`<rollouts_root>/<model>/<task>/<episode_id>.npz`
or `.mp4`), the truth from the episodes (`<episodes_root>/<family>/<scenario>/<episode_id>/`).
Media that cannot be found (a report made on another machine) become a line saying where
they were looked for; the rest of the report is unaffected.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from physics_evals.rollouts import RolloutError, find_rollout, read_rollout
from scenarios.episode import EpisodeError, is_complete, load_episode
from toolkit.provenance import PROJECT_ROOT

from .figures import side_by_side_gif, strip
from .load import Results, Run


@dataclass
class Media:
    title: str              # one line above the picture
    caption: str            # what the picture shows
    mime: str = ""          # image/png or image/gif; "" when missing
    data: bytes = b""       # the encoded picture
    missing: str = ""       # why there is no picture
    width: int = 0          # the picture's own width in pixels (the page scales it up, within the column)


def _resolve(path: str | None) -> Path | None:
    if not path:
        return None
    p = Path(path)
    return p if p.is_absolute() or p.exists() else PROJECT_ROOT / p


@functools.lru_cache(maxsize=64)
def _episode(folder: str):
    return load_episode(folder)


def _spec_root(root: Path, task: str, rec: dict) -> Path | None:
    """The harness's per-render-spec episode folder of a task, rebuilt from its results.json record."""
    try:
        from physics_evals.tasks import Task
        t = Task(name=task, family=rec["family"], scenarios=tuple(rec["scenarios"]), metrics=tuple(rec.get("metrics", ())),
                 seed=rec["seed"], n_episodes=rec["n_episodes"], context=rec["context_frames"], horizon=rec["horizon"],
                 height=rec["height"], width=rec["width"], fps=rec["fps"], suite=rec.get("suite", "default"),
                 version=rec["version"])
        return t.episodes_root(root)
    except (ImportError, KeyError, TypeError, ValueError):  # a record without the sizes: search instead
        return None


def truth_folder(results: Results, run: Run, task: str, episode_id: str) -> Path | None:
    root = _resolve(run.data["run"].get("episodes_root"))
    if root is None:
        return None
    rec = results.tasks[task]
    bases = [b for b in (_spec_root(root, task, rec), root) if b is not None]
    for base in bases:
        for scenario in rec.get("scenarios", []):
            if is_complete(base / rec["family"] / scenario / episode_id):
                return base / rec["family"] / scenario / episode_id
    found = [p for pattern in (f"{rec['family']}/*/{episode_id}", f"*/{rec['family']}/*/{episode_id}")
             for p in sorted(root.glob(pattern)) if is_complete(p)]
    return found[0] if found else None


def rollout_file(run: Run, model: str, task: str, episode_id: str) -> Path | None:
    root = _resolve(run.data["run"].get("rollouts_root"))
    try:
        return None if root is None else find_rollout(root, model, task, episode_id)
    except RolloutError:
        return None


def _clip(results: Results, model: str, task: str, episode_id: str):
    """(truth frames after the context, last context frame or None, rollout, fps) or a reason string."""
    run = results.run_of_model[model]
    folder = truth_folder(results, run, task, episode_id)
    if folder is None:
        return f"truth episode {episode_id} not found under {run.data['run'].get('episodes_root')}"
    path = rollout_file(run, model, task, episode_id)
    if path is None:
        return f"rollout not cached at {run.data['run'].get('rollouts_root')}/{model}/{task}/{episode_id}.npz"
    try:
        ep = _episode(str(folder))
        pred = np.asarray(read_rollout(path), dtype=np.uint8)
    except (EpisodeError, RolloutError, OSError, ValueError, KeyError) as e:
        return f"cannot read {path} or {folder}: {e}"
    ctx = int(results.tasks[task].get("context_frames", 0))
    truth = ep.rgb[ctx:ctx + len(pred)]
    if len(truth) == 0 or len(pred) == 0:
        return f"{path}: no frames to show after {ctx} context frames"
    return truth, (ep.rgb[ctx - 1] if ctx > 0 else None), pred, float(ep.fps)


def _picture(title: str, caption: str, mime: str, data: bytes) -> Media:
    from io import BytesIO
    from PIL import Image
    return Media(title, caption, mime, data, width=Image.open(BytesIO(data)).width)


def example_episodes(results: Results) -> list[tuple[str, str]]:
    """(task, episode_id): the first episode of the first task of each family, the same for every model."""
    out = []
    for family in results.families():
        for task in results.tasks_of(family):
            ids = results.tasks[task].get("episode_ids") or sorted(
                {s["episode_id"] for s in results.samples if s["task"] == task})
            if ids:
                out.append((task, ids[0]))
                break
    return out


def examples(results: Results, model: str) -> list[Media]:
    """Animated truth | rollout for the example episodes, each with a frame strip."""
    media = []
    for task, eid in example_episodes(results):
        clip = _clip(results, model, task, eid)
        title = f"{task} / {eid}"
        if isinstance(clip, str):
            media.append(Media(title, "", missing=clip))
            continue
        truth, context, pred, fps = clip
        media.append(_picture(title, "animated: truth (left), rollout (right)", "image/gif",
                              side_by_side_gif(truth, pred, fps)))
        media.append(_picture(title, "truth (top), rollout (bottom); first column: last context frame",
                              "image/png", strip(truth, pred, context)))
    return media


def worst_failures(results: Results, model: str) -> list[Media]:
    """Per metric, the episode where this model scored worst, as a truth/rollout strip. An episode that
    is the worst for several metrics is shown once, titled with all of them; a metric whose worst value
    is still perfect (nothing went wrong) is left out."""
    hib = {s["metric"]: bool(s.get("higher_is_better", True)) for s in results.scores}
    worst: dict[str, dict] = {}
    for s in results.samples:
        if s["model"] != model or s["metric"] not in hib or s.get("status", "ok") != "ok" or s.get("value") is None:
            continue
        v = float(s["value"])
        if math.isnan(v):
            continue
        cur = worst.get(s["metric"])
        if cur is None or (v < float(cur["value"]) if hib[s["metric"]] else v > float(cur["value"])):
            worst[s["metric"]] = s
    by_episode: dict[tuple[str, str], list[str]] = {}
    for metric in sorted(worst):
        s, perfect = worst[metric], results.metrics.get(metric, {}).get("perfect")
        if perfect is not None and float(s["value"]) == float(perfect):
            continue
        by_episode.setdefault((s["task"], s["episode_id"]), []).append(
            f"{metric} = {float(s['value']):.4g} ({'higher' if hib[metric] else 'lower'} is better)")
    media = []
    for (task, episode_id), titles in by_episode.items():
        caption = f"{task} / {episode_id}: truth (top), rollout (bottom)"
        clip = _clip(results, model, task, episode_id)
        if isinstance(clip, str):
            media.append(Media("; ".join(titles), caption, missing=clip))
            continue
        truth, context, pred, _ = clip
        media.append(_picture("; ".join(titles), caption, "image/png", strip(truth, pred, context)))
    return media
