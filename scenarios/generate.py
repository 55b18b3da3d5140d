"""Generate many episodes to disk: parallel across processes or a Ray cluster, resumable, atomic.

Episode k of a batch (k = 0..n-1) uses scenario `names[k % len(names)]` and seed
`seed + k`, so a batch is a pure function of its arguments and a rerun skips the episodes
that are already complete and were made by the same scenario code.

Backends run the same job function (`_run`) and differ only in where it runs: `local` in a process
pool on this machine, `ray` as Ray tasks on a cluster (`pip install -e ".[cluster]"`), which must see
the output folder at the same path (a shared filesystem). Each job writes its own episode atomically,
so a batch killed anywhere resumes with the same command, on either backend.
"""
from __future__ import annotations

import itertools
import multiprocessing
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from tqdm import tqdm

from toolkit.pool import process_pool

from .engine import RenderSpec
from .episode import episode_id, is_current
from .registry import get_scenario


@dataclass(frozen=True)
class Job:
    scenario: str
    seed: int

    def folder(self, root: Path) -> Path:
        s = get_scenario(self.scenario)
        return Path(root) / s.family / s.name / episode_id(s.name, self.seed)


def plan(names: list[str], n: int, seed: int) -> list[Job]:
    """The n jobs of a batch over the named scenarios, starting at `seed`."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    for name in names:
        get_scenario(name)  # unknown names fail before any work starts
    return [Job(names[k % len(names)], seed + k) for k in range(n)]


def _run(job: Job, root: str, spec: RenderSpec, params: dict | None, skip_current: bool = False) -> str:
    from . import generate_episode  # imported in the worker process
    if skip_current and is_current(job.folder(Path(root))):
        return str(job.folder(Path(root)))
    checked = get_scenario(job.scenario).check_overrides(params or {})
    return str(generate_episode(job.scenario, job.seed, spec, checked).save(root))


BACKENDS = ("local", "ray")
IN_FLIGHT_PER_WORKER = 4  # jobs queued per worker: enough to keep it busy, few enough that memory stays flat
# PyBullet keeps the Python lists of every mesh shape it was given (about 0.1 MB per strike episode, not
# freed by resetSimulation nor disconnect): worker processes are replaced after this many episodes each,
# which bounds that to a few MB at the cost of one fork and connect per 200 episodes. (The local pool is
# remade per block rather than given max_tasks_per_child, which can deadlock in Python 3.11.)
EPISODES_PER_PROCESS = 200


def generate_many(root: str | Path, names: list[str], n: int, seed: int = 0, spec: RenderSpec = RenderSpec(),
                  workers: int = 1, progress: bool = True, params: dict | None = None,
                  backend: str = "local", ray_address: str | None = None) -> list[Path]:
    """Write the batch under root; return every episode folder of the batch (existing ones included).

    `params` fixes scenario parameters (checked against each scenario's ranges). `backend` "ray" runs
    the jobs as Ray tasks on the cluster at `ray_address` (None: RAY_ADDRESS if set, else a local
    one; "auto": the cluster this machine belongs to); `workers` is then unused."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if "://" in str(root):
        raise ValueError(f"--out {root}: URLs are not supported; episodes go to a folder every worker sees at "
                         "the same path (a shared filesystem, or a bucket mounted with s3fs/gcsfuse)")
    root = Path(root)
    jobs = plan(names, n, seed)
    # Which episodes are missing, partial or stale: checked here, or on a cluster by each task itself (a
    # driver reading a million meta.json files from a shared disk one by one would be the bottleneck).
    todo = jobs if backend == "ray" else [j for j in jobs if not is_current(j.folder(root))]
    bar = tqdm(total=len(jobs), initial=len(jobs) - len(todo), desc="episodes", unit="ep", disable=not progress)
    with bar:
        if backend == "ray":
            _run_on_ray(todo, str(root), spec, params, ray_address, bar.update)
        elif workers <= 1 or len(todo) <= 1:
            for job in todo:
                _run(job, str(root), spec, params)
                bar.update()
        else:
            workers = min(workers, len(todo))
            # Pool workers fork from a server that has already imported the engine and every scenario (no torch:
            # safe to fork), so they start in milliseconds instead of importing it each (no effect if it runs).
            multiprocessing.get_context("forkserver").set_forkserver_preload(["scenarios.registry"])
            block = EPISODES_PER_PROCESS * workers
            for start in range(0, len(todo), block):
                with process_pool(workers) as pool:
                    _windowed(lambda job: pool.submit(_run, job, str(root), spec, params), todo[start:start + block],
                              IN_FLIGHT_PER_WORKER * workers, lambda fs: wait(fs, return_when=FIRST_COMPLETED).done,
                              lambda f: f.result(), bar.update)
    return [j.folder(root) for j in jobs]


def _windowed(submit: Callable, jobs: Iterable[Job], limit: int, wait_some: Callable, result: Callable,
              done: Callable) -> None:
    """Run jobs with at most `limit` submitted and unfinished: a batch of millions holds a few handles,
    not one per episode. `wait_some(pending)` returns some finished handles; `result` raises a job's error."""
    jobs = iter(jobs)
    pending = {submit(j) for j in itertools.islice(jobs, limit)}
    while pending:
        for handle in wait_some(pending):
            pending.discard(handle)
            result(handle)
            done()
            pending.update(submit(j) for j in itertools.islice(jobs, 1))


def _run_on_ray(todo: list[Job], root: str, spec: RenderSpec, params: dict | None, address: str | None,
                done: Callable) -> None:
    """The jobs as Ray tasks of one CPU each. Joins the running Ray session if there is one (a caller's
    ray.init), else connects to `address` and disconnects at the end."""
    try:
        import ray
    except ImportError:
        raise ValueError("--backend ray needs Ray: pip install -e \".[cluster]\"") from None
    own = not ray.is_initialized()
    if own:
        ray.init(address=address, logging_level="WARNING", log_to_driver=False)
    try:
        # a lost node's jobs run again, elsewhere; workers are replaced like the local pool's
        task = ray.remote(num_cpus=1, max_retries=2, max_calls=EPISODES_PER_PROCESS)(_run)
        limit = IN_FLIGHT_PER_WORKER * max(1, int(ray.cluster_resources().get("CPU", 1)))
        # spec and params go to the object store once, not once per task
        spec_ref, params_ref = ray.put(spec), ray.put(params)
        _windowed(lambda job: task.remote(job, root, spec_ref, params_ref, True), todo, limit,
                  lambda refs: ray.wait(list(refs), num_returns=1)[0], ray.get, done)
    finally:
        if own:
            ray.shutdown()
