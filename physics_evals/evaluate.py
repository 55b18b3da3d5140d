"""The evaluation library: tasks x models -> rollouts -> metrics -> results (the CLI is run_cli.py).

1. held-out episodes are generated once and cached under data/eval_episodes/ (episodes.py);
2. models that must stay in this process (checkpoints) roll out first, cached under rollouts/;
3. every (model, task, episode) is a job for a process pool: get the rollout (cached, or made and
   cached atomically), check it against the task, score every metric of the task;
4. samples become task values with bootstrap CIs and 0..100 scores; results.json and samples.jsonl
   are written atomically under results/<run_id>/.

A killed run resumes from its caches. A bad rollout or a failing metric fails only its own samples.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from tqdm import tqdm

from scenarios import EpisodeError, load_episode
from toolkit.files import check_writable
from toolkit.pool import default_workers, process_pool
from toolkit.provenance import git_revision, versions

from .distributed import Group, start as start_group
from .episodes import ensure_episodes, select_tasks, usable_episodes
from .models import CEILING, Adapter, default_model_specs, resolve_models
from .models.base import UnscorableModelError
from .options import EPISODES_ROOT, RESULTS_ROOT, ROLLOUTS_ROOT
from .results import SCHEMA_VERSION, score_samples, task_scores, write_run
from .summary import summarize_samples
from .seeds import per_seed, seed_record
from .rollouts import RolloutError, check_frames, load_rollout, read_info, rollout_path, write_rollout
from .splits import split_scores
from .tasks import SUITES, Task


@dataclass
class RunConfig:
    suite: str = "default"                        # default | full
    tasks: list[str] | None = None                # task names; None: every task of the suite
    models: list[str] | None = None               # model specs; None: built-ins (+ reference checkpoint)
    limit: int | None = None                      # at most this many episodes per task
    out: Path = RESULTS_ROOT                      # results/<run_id>/
    rollouts_root: Path = ROLLOUTS_ROOT           # rollout cache (fixed contract 2)
    episodes_root: Path = EPISODES_ROOT           # held-out episode cache
    workers: int = field(default_factory=default_workers)  # scoring processes (1: in this process)
    seed: int = 0                                 # bootstrap CIs and re-simulation noise
    seeds: list[int] | None = None                # sampling seeds of checkpoint models (seeds.py); None: one, 0
    progress: bool = True                         # tqdm bars on stderr
    command: str = ""                             # the command line, for the record


@dataclass
class Job:
    """One (model, task, episode): its rollout scored on every metric of the task."""
    model: Adapter
    task: Task
    folder: Path                  # the episode folder
    metrics: tuple[str, ...]      # the task's metrics that are scored
    rollouts_root: Path
    error: str | None = None      # set when the rollout already failed in the main process


_WORKER_METRICS: dict | None = None  # metrics given to run() instead of the registry, in a worker


def _init_worker(metrics: dict | None) -> None:
    """A scoring process: one OpenCV thread (the processes are the parallelism), and the metrics."""
    global _WORKER_METRICS
    _WORKER_METRICS = metrics
    import cv2
    cv2.setNumThreads(1)


def registry() -> dict:
    if _WORKER_METRICS is not None:
        return _WORKER_METRICS
    from .metrics import METRICS
    return METRICS


def obtain_rollout(model: Adapter, task: Task, episode, rollouts_root: Path, make: bool = True):
    """The model's checked frames for one episode: from the cache when it was made by the same
    model version, otherwise made now and cached atomically. Raises RolloutError."""
    if not model.cached:
        return model.rollout(episode.rgb[:task.context], episode.caption, task, episode)
    path = rollout_path(rollouts_root, model.cache_name, task.name, episode.episode_id)
    # the episode's own provenance is part of the key: a remade episode invalidates its rollouts
    fingerprint = f"{model.fingerprint(task)}/{episode.meta['versions'].get('scenarios_source', '')}"
    if path.is_file() and read_info(path).get("fingerprint") == fingerprint:
        try:
            return load_rollout(path, task)
        except RolloutError:
            pass  # an unreadable cache entry is simply made again
    if not make:
        raise RolloutError(f"{path}: no cached rollout of {model.name}")
    frames = model.rollout(episode.rgb[:task.context].copy(), episode.caption, task, episode)
    frames = check_frames(frames, task, f"model {model.name} on {task.name}/{episode.episode_id}")
    write_rollout(path, frames, {"fingerprint": fingerprint, "model": model.name, "task": task.name,
                                 "task_version": task.version, "episode_id": episode.episode_id,
                                 "versions": versions()})
    return frames


def score_job(job: Job, metrics: dict | None = None) -> list[dict]:
    """Sample rows of one job: one per metric, status ok (value, NaN -> None) or failed (error)."""
    from .metrics.base import Clip
    metrics = metrics if metrics is not None else registry()
    base = {"model": job.model.name, "task": job.task.name, "episode_id": job.folder.name}
    if job.model.sample_seed is not None:  # one of several samples of the model (run --seeds)
        base["sample_seed"] = job.model.sample_seed
    error, frames, episode, fmt = job.error, None, None, None
    if error is None:
        try:
            episode = load_episode(job.folder)
            frames = obtain_rollout(job.model, job.task, episode, job.rollouts_root, make=job.model.parallel_safe)
            fmt = getattr(job.model, "source_format", lambda *a: None)(job.task, episode.episode_id)
            if fmt is not None:  # an outside rollout: its own size, frame rate, length and the resampling
                base["source_format"] = fmt
        except (RolloutError, EpisodeError) as e:
            error = str(e)
        except OSError:  # the cache or the disk, not the model: the run stops, naming the file
            raise
        except Exception as e:  # a model that crashes fails its own samples, not the run
            error = f"model {job.model.name} on {job.task.name}/{job.folder.name}: {type(e).__name__}: {e}"
    rows = []
    clip = Clip(truth=episode, context=job.task.context, pred=frames,
                subsampled_chroma=bool(fmt and fmt.get("subsampled_chroma"))) if error is None else None
    for name in job.metrics:
        row = {**base, "metric": name, "group": metrics[name].group}
        if error is not None:
            rows.append({**row, "value": None, "status": "failed", "error": error})
            continue
        try:
            value = metrics[name](clip)
            if math.isinf(value):
                raise ValueError(f"returned {value}")
            rows.append({**row, "value": None if math.isnan(value) else value, "status": "ok"})  # None: n/a
        except Exception as e:
            rows.append({**row, "value": None, "status": "failed", "error": f"metric {name}: {type(e).__name__}: {e}"})
    return rows


def _serial_rollouts(models: list[Adapter], tasks: list[Task], folders: dict, cfg: RunConfig,
                     group: Group | None = None) -> dict:
    """Rollouts of the models that must stay in this process (under torchrun: this rank's share of
    them); returns the error of each that failed."""
    errors = {}
    pairs = [(m, t, f) for m in models if not m.parallel_safe for t in tasks for f in folders[t.name]]
    pairs = group.share(pairs) if group is not None else pairs
    for m, t, folder in tqdm(pairs, desc="rollouts", unit="clip", disable=not cfg.progress or not pairs):
        try:
            obtain_rollout(m, t, load_episode(folder), cfg.rollouts_root)
        except (RolloutError, EpisodeError) as e:
            errors[(m.cache_name, t.name, folder.name)] = str(e)
        except OSError:  # the cache or the disk, not the model: the run stops, naming the file
            raise
        except Exception as e:
            errors[(m.cache_name, t.name, folder.name)] = f"model {m.name} on {t.name}/{folder.name}: {type(e).__name__}: {e}"
    return errors


def run(cfg: RunConfig, tasks: list[Task] | None = None, metrics: dict | None = None, warn=print) -> Path | None:
    """Run the evaluation; return the path of results.json. `tasks`/`metrics` override the suite and
    the registry (tests use tiny tasks). Under torchrun every rank shares the checkpoint rollouts and
    rank 0 alone scores and writes: the other ranks return None (distributed.py)."""
    t0 = time.time()
    group = start_group()  # before any checkpoint is loaded: it picks this rank's GPU
    tasks = tasks if tasks is not None else select_tasks(cfg.suite, cfg.tasks, cfg.limit)
    injected = metrics
    metrics = metrics if metrics is not None else registry()
    for t in tasks:
        unknown = [m for m in t.metrics if m not in metrics]
        if unknown:
            warn(f"note: task {t.name}: metrics {', '.join(unknown)} are not in the registry; not scored")
    specs = cfg.models if cfg.models is not None else \
        default_model_specs(reference=all(getattr(SUITES.get(t.suite), "learned_reference", True) for t in tasks))
    models = resolve_models(specs, {t.name for t in tasks}, seed=cfg.seed)
    if CEILING not in [m.name for m in models]:  # every score is relative to the physical variance
        models += resolve_models([CEILING], seed=cfg.seed)
        warn(f"note: added model {CEILING}: it sets the physical-variance ceiling of every score")
    if cfg.seeds:  # every checkpoint model once per sampling seed (seeds.py)
        models = per_seed(models, cfg.seeds)

    # every folder the run writes to, and every model, is checked before any work: one line, not 0 scores
    check_writable(cfg.out, "results folder (--out)")
    check_writable(cfg.episodes_root, "episode cache (--episodes-root)")
    if any(m.cached for m in models):
        check_writable(cfg.rollouts_root, "rollout cache (--rollouts-root)")
    for m in models:
        m.prepare()  # a checkpoint that cannot load ends the run here, loaded once, never scored as 0
    if group is None or group.main:
        failed = ensure_episodes(tasks, cfg.episodes_root, cfg.workers, cfg.progress, warn)
    if group is not None:  # the other ranks wait for rank 0's episodes
        failed = group.from_main(failed if group.main else None)
    folders = usable_episodes(tasks, cfg.episodes_root, failed)
    errors = _serial_rollouts(models, tasks, folders, cfg, group)
    if group is not None:  # every rank's rollouts are in the cache; rank 0 scores them all
        errors = group.merged(errors)
        group.close()
        if not group.main:
            return None
    jobs = [Job(m, t, f, tuple(k for k in t.metrics if k in metrics), cfg.rollouts_root,
                errors.get((m.cache_name, t.name, f.name)))
            for m in models for t in tasks for f in folders[t.name]]
    rows = []
    bar = tqdm(total=len(jobs), desc="scoring", unit="clip", disable=not cfg.progress)
    with bar:
        if cfg.workers <= 1 or len(jobs) <= 1:
            for job in jobs:
                rows += score_job(job, metrics)
                bar.update()
        else:
            # workers look metrics up by name (the registry's are lambdas, which do not pickle)
            with process_pool(min(cfg.workers, len(jobs)), initializer=_init_worker,
                                     initargs=(injected,)) as pool:
                for r in pool.map(score_job, jobs, chunksize=max(1, len(jobs) // (8 * cfg.workers))):
                    rows += r
                    bar.update()

    unscorable = _unscorable(rows)  # published for no model: not even as a 0
    rows = [r for r in rows if r["model"] not in unscorable]
    models = [m for m in models if m.name not in unscorable]
    if not rows:
        raise UnscorableModelError(_unscorable_line(unscorable, None))
    score_samples(rows, metrics, CEILING)
    suite = "+".join(sorted({t.suite for t in tasks}))
    run_id = _run_id(cfg.out, suite, cfg.seed)
    results = {
        "schema_version": SCHEMA_VERSION,
        "run": {"run_id": run_id, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "git_revision": git_revision(), "versions": versions(), "seed": cfg.seed,
                "command": cfg.command, "suite": suite,
                "limit": cfg.limit, "workers": cfg.workers, "rollouts_root": str(cfg.rollouts_root),
                "episodes_root": str(cfg.episodes_root), "ceiling_model": CEILING, "sample_seeds": cfg.seeds,
                "seconds": round(time.time() - t0, 2)},
        "tasks": {t.name: {**t.record(), "n_episodes": len(folders[t.name]),
                           "episode_ids": [f.name for f in folders[t.name]],
                           "skipped_episodes": {f.name: failed[f] for f in t.episode_folders(cfg.episodes_root)
                                                if f in failed}}
                  for t in tasks},
        "models": {m.name: {**m.record(), **({"seeds": sorted(cfg.seeds)} if cfg.seeds and m.kind == "checkpoint"
                                             else {})} for m in models},
        "scores": task_scores(rows, metrics, cfg.seed),
        "summary": summarize_samples(rows, metrics, ceiling_model=CEILING),
        # extra field: ID, OOD and combinatorial scores and the generalisation gaps, with intervals
        "splits": split_scores(rows, metrics, {t.name: t.split for t in tasks}, CEILING, seed=cfg.seed),
        "metrics": {k: {"group": m.group, "higher_is_better": m.higher_is_better, "perfect": m.perfect,
                        "scale": m.scale, "unit": m.unit, "aggregation": m.aggregation}
                    for k, m in metrics.items() if any(k in t.metrics for t in tasks)},
    }
    if cfg.seeds:  # extra field: each multi-seed model's summary per seed, and their mean and sd
        results["seeds"] = seed_record(rows, metrics, CEILING)
    path = write_run(cfg.out / run_id, results, rows)
    if unscorable:  # the others' results stand; the run still fails
        raise UnscorableModelError(_unscorable_line(unscorable, path))
    return path


def _unscorable(rows: list[dict]) -> dict[str, str]:
    """Models none of whose clips could be scored, with the first error of each. A bad clip fails its own
    samples (and scores 0 there), but a model with no clip scored cannot be scored at all."""
    errors = {}
    for model in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == model]
        if all(r["status"] == "failed" for r in mine):
            errors[model] = mine[0]["error"]
    return errors


def _unscorable_line(unscorable: dict[str, str], path: Path | None) -> str:
    names = ", ".join(unscorable)
    first = next(iter(unscorable.values()))
    rest = f"the other models' results are in {path}" if path else "nothing was published"
    return f"model {names}: no rollout could be scored (first error: {first}); {rest}"


def _run_id(out: Path, suite: str, seed: int) -> str:
    """<local time>-<suite>-seed<seed>, made unique in `out`: its folder is created here, atomically, so two
    runs finishing in the same second take two names (mkdir either creates the folder or fails)."""
    stem = f"{datetime.now():%Y%m%d-%H%M%S}-{suite}-seed{seed}"
    out.mkdir(parents=True, exist_ok=True)
    for k in range(1, 1000):
        run_id = stem if k == 1 else f"{stem}-{k}"
        try:
            (out / run_id).mkdir()
            return run_id
        except FileExistsError:
            continue
    raise FileExistsError(f"{out}: 999 runs named {stem}-*; choose another --out")
