"""`python -m physics_evals run`: tasks x models -> rollouts -> metrics -> results.

1. held-out episodes are generated once and cached under data/eval_episodes/ (reused when complete);
2. models that must stay in this process (checkpoints) roll out first, cached under rollouts/;
3. every (model, task, episode) is a job for a process pool: get the rollout (cached, or made and
   cached atomically), check it against the task, score every metric of the task;
4. samples become task values with bootstrap CIs and 0..100 scores; results.json and samples.jsonl
   are written atomically under results/<run_id>/.

A killed run resumes from its caches. A bad rollout or a failing metric fails only its own samples.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from tqdm import tqdm

from scenarios import EpisodeError, load_episode
from toolkit.cli import non_negative_int, positive_int
from scenarios.episode import is_current
from scenarios.generate import generate_many
from toolkit.pool import default_workers, process_pool
from toolkit.provenance import git_revision, versions

from .models import CEILING, Adapter, default_model_specs, resolve_models
from .results import SCHEMA_VERSION, format_table, score_samples, summarize_samples, task_scores, write_run
from .rollouts import RolloutError, check_frames, load_rollout, read_info, rollout_path, write_rollout
from .tasks import SUITES, Task, get_tasks


class MetricsUnavailableError(ValueError):
    """The metric registry (physics_evals.metrics.METRICS) cannot be imported or lacks a metric."""


@dataclass
class RunConfig:
    suite: str = "default"                        # default | full
    tasks: list[str] | None = None                # task names; None: every task of the suite
    models: list[str] | None = None               # model specs; None: built-ins (+ reference checkpoint)
    limit: int | None = None                      # at most this many episodes per task
    out: Path = Path("results")                   # results/<run_id>/
    rollouts_root: Path = Path("rollouts")        # rollout cache (fixed contract 2)
    episodes_root: Path = Path("data/eval_episodes")  # held-out episode cache
    workers: int = field(default_factory=default_workers)  # scoring processes (1: in this process)
    seed: int = 0                                 # bootstrap CIs and re-simulation noise
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
    try:
        from .metrics import METRICS
    except ImportError as e:
        raise MetricsUnavailableError(f"physics_evals.metrics.METRICS cannot be imported ({e})") from None
    return METRICS


def select_tasks(cfg: RunConfig, warn=print) -> list[Task]:
    tasks = get_tasks(cfg.tasks, cfg.suite)
    if cfg.tasks is None:  # the whole suite: leave out tasks whose scenarios are not written yet, saying so
        missing = [t for t in tasks if not t.available]
        for t in missing:
            warn(f"note: skipping task {t.name}: scenario {', '.join(t.scenarios)} is not registered")
        tasks = [t for t in tasks if t.available]
    return [t.limited(cfg.limit) for t in tasks]


def _make_episode(base: Path, scenario: str, seed: int, spec) -> str | None:
    """Generate one episode under base; the reason when the scenario cannot make it."""
    try:
        generate_many(base, [scenario], 1, seed, spec, workers=1, progress=False)
    except Exception as e:  # a seed its scenario refuses is left out of the task, not the end of the run
        return f"{scenario} seed {seed} could not be generated ({type(e).__name__}: {e})"
    return None


def ensure_episodes(tasks: list[Task], root: Path, workers: int, progress: bool, warn=print) -> dict[Path, str]:
    """Generate the tasks' held-out episodes that are not on disk yet (complete ones are reused).
    Returns the episode folders that could not be generated, with the reason (each also warned)."""
    todo = {}
    for task in tasks:
        base = task.episodes_root(root)
        for job, folder in zip(task.jobs(), task.episode_folders(root)):
            if not is_current(folder):  # missing, partial, or made by older scenario code
                todo[folder] = (base, job.scenario, job.seed, task.render_spec)
    failed = {}

    def done(folder: Path, error: str | None) -> None:
        if error:
            failed[folder] = error
            warn(f"note: leaving out episode {folder.name}: {error}")
        bar.update()

    bar = tqdm(total=len(todo), desc="episodes", unit="ep", disable=not progress or not todo)
    with bar:
        if workers <= 1 or len(todo) <= 1:
            for folder, args in todo.items():
                done(folder, _make_episode(*args))
        else:
            with process_pool(min(workers, len(todo))) as pool:
                for folder, error in zip(todo, pool.map(_make_episode, *zip(*todo.values()))):
                    done(folder, error)
    return failed


def usable_episodes(tasks: list[Task], root: Path, failed: dict[Path, str]) -> dict[str, list[Path]]:
    """task name -> its episode folders, without those that could not be generated."""
    return {t.name: [f for f in t.episode_folders(root) if f not in failed] for t in tasks}


def obtain_rollout(model: Adapter, task: Task, episode, rollouts_root: Path, make: bool = True):
    """The model's checked frames for one episode: from the cache when it was made by the same
    model version, otherwise made now and cached atomically. Raises RolloutError."""
    if not model.cached:
        return model.rollout(episode.rgb[:task.context], episode.caption, task, episode)
    path = rollout_path(rollouts_root, model.name, task.name, episode.episode_id)
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
    error, frames, episode = job.error, None, None
    if error is None:
        try:
            episode = load_episode(job.folder)
            frames = obtain_rollout(job.model, job.task, episode, job.rollouts_root, make=job.model.parallel_safe)
        except (RolloutError, EpisodeError) as e:
            error = str(e)
        except Exception as e:  # a model that crashes fails its own samples, not the run
            error = f"model {job.model.name} on {job.task.name}/{job.folder.name}: {type(e).__name__}: {e}"
    rows = []
    clip = Clip(truth=episode, context=job.task.context, pred=frames) if error is None else None
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


def _serial_rollouts(models: list[Adapter], tasks: list[Task], folders: dict, cfg: RunConfig) -> dict:
    """Rollouts of the models that must stay in this process; returns the error of each that failed."""
    errors = {}
    pairs = [(m, t, f) for m in models if not m.parallel_safe for t in tasks for f in folders[t.name]]
    for m, t, folder in tqdm(pairs, desc="rollouts", unit="clip", disable=not cfg.progress or not pairs):
        try:
            obtain_rollout(m, t, load_episode(folder), cfg.rollouts_root)
        except (RolloutError, EpisodeError) as e:
            errors[(m.name, t.name, folder.name)] = str(e)
        except Exception as e:
            errors[(m.name, t.name, folder.name)] = f"model {m.name} on {t.name}/{folder.name}: {type(e).__name__}: {e}"
    return errors


def run(cfg: RunConfig, tasks: list[Task] | None = None, metrics: dict | None = None, warn=print) -> Path:
    """Run the evaluation; return the path of results.json. `tasks`/`metrics` override the suite and
    the registry (tests use tiny tasks)."""
    t0 = time.time()
    tasks = tasks if tasks is not None else select_tasks(cfg, warn)
    injected = metrics
    metrics = metrics if metrics is not None else registry()
    for t in tasks:
        unknown = [m for m in t.metrics if m not in metrics]
        if unknown:
            warn(f"note: task {t.name}: metrics {', '.join(unknown)} are not in the registry; not scored")
    specs = cfg.models if cfg.models is not None else default_model_specs()
    models = resolve_models(specs, {t.name for t in tasks}, seed=cfg.seed)
    if CEILING not in [m.name for m in models]:  # every score is relative to the physical variance
        models += resolve_models([CEILING], seed=cfg.seed)
        warn(f"note: added model {CEILING}: it sets the physical-variance ceiling of every score")

    failed = ensure_episodes(tasks, cfg.episodes_root, cfg.workers, cfg.progress, warn)
    folders = usable_episodes(tasks, cfg.episodes_root, failed)
    errors = _serial_rollouts(models, tasks, folders, cfg)
    jobs = [Job(m, t, f, tuple(k for k in t.metrics if k in metrics), cfg.rollouts_root,
                errors.get((m.name, t.name, f.name)))
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

    score_samples(rows, metrics, CEILING)
    suite = "+".join(sorted({t.suite for t in tasks}))
    run_id = _run_id(cfg.out, suite, cfg.seed)
    results = {
        "schema_version": SCHEMA_VERSION,
        "run": {"run_id": run_id, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "git_revision": git_revision(), "versions": versions(), "seed": cfg.seed,
                "command": cfg.command, "suite": suite,
                "limit": cfg.limit, "workers": cfg.workers, "rollouts_root": str(cfg.rollouts_root),
                "episodes_root": str(cfg.episodes_root), "ceiling_model": CEILING,
                "seconds": round(time.time() - t0, 2)},
        "tasks": {t.name: {**t.record(), "n_episodes": len(folders[t.name]),
                           "episode_ids": [f.name for f in folders[t.name]],
                           "skipped_episodes": {f.name: failed[f] for f in t.episode_folders(cfg.episodes_root)
                                                if f in failed}}
                  for t in tasks},
        "models": {m.name: m.record() for m in models},
        "scores": task_scores(rows, metrics, cfg.seed),
        "summary": summarize_samples(rows, metrics, ceiling_model=CEILING),
        "metrics": {k: {"group": m.group, "higher_is_better": m.higher_is_better, "perfect": m.perfect,
                        "scale": m.scale, "unit": m.unit, "aggregation": m.aggregation}
                    for k, m in metrics.items() if any(k in t.metrics for t in tasks)},
    }
    return write_run(cfg.out / run_id, results, rows)


def _run_id(out: Path, suite: str, seed: int) -> str:
    """<local time>-<suite>-seed<seed>, made unique in `out` (its folder is created here)."""
    stem = f"{datetime.now():%Y%m%d-%H%M%S}-{suite}-seed{seed}"
    run_id, k = stem, 1
    while (out / run_id).exists():
        k += 1
        run_id = f"{stem}-{k}"
    (out / run_id).mkdir(parents=True)
    return run_id


# ------------------------------------------------------------------------------------ CLI
def add_arguments(p) -> None:
    p.add_argument("--suite", default="default", choices=list(SUITES), help="task sizes and episode counts")
    p.add_argument("--tasks", nargs="+", metavar="TASK", help="task names (default: the whole suite)")
    p.add_argument("--models", nargs="+", metavar="MODEL",
                   help="ground_truth resimulated copy_last_frame linear_extrapolation rollouts:DIR checkpoint:PATH "
                        "(default: the built-ins, plus checkpoint:simulator/reference when it exists)")
    p.add_argument("--limit", type=positive_int, help="at most N episodes per task")
    p.add_argument("--out", type=Path, default=Path("results"), help="results/<run_id>/ goes here")
    p.add_argument("--rollouts-root", type=Path, default=Path("rollouts"), help="rollout cache")
    p.add_argument("--episodes-root", type=Path, default=Path("data/eval_episodes"), help="held-out episode cache")
    p.add_argument("--workers", type=positive_int, default=default_workers(), help="scoring processes")
    p.add_argument("--seed", type=non_negative_int, default=0, help="bootstrap and re-simulation seed")
    p.add_argument("--no-report", action="store_true", help="do not write reports/ at the end")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def main(args) -> int:
    cfg = RunConfig(suite=args.suite, tasks=args.tasks, models=args.models, limit=args.limit, out=args.out,
                    rollouts_root=args.rollouts_root, episodes_root=args.episodes_root, workers=args.workers,
                    seed=args.seed, progress=not args.no_progress,
                    command=getattr(args, "command_line", ""))
    warn = lambda msg: print(msg, file=sys.stderr)  # noqa: E731
    path = run(cfg, warn=warn)
    from .results import load_results
    print(format_table(load_results(path)))
    print(f"\nwrote {path} and {path.parent / 'samples.jsonl'}")
    if not args.no_report:
        from .report import write_report
        try:
            write_report([path], Path("reports"))
        except ValueError as e:  # the results stand; say why the report does not
            print(f"error: results written, but no report: {e}", file=sys.stderr)
            return 2
        print("wrote reports/")
    return 0
