"""Generate many episodes to disk: parallel across processes, resumable, atomic.

Episode k of a batch (k = 0..n-1) uses scenario `names[k % len(names)]` and seed
`seed + k`, so a batch is a pure function of its arguments and a rerun skips the episodes
that are already complete and were made by the same scenario code.
"""
from __future__ import annotations

from concurrent.futures import as_completed
from dataclasses import dataclass
from pathlib import Path

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


def _run(job: Job, root: str, spec: RenderSpec, params: dict | None) -> str:
    from . import generate_episode  # imported in the worker process
    checked = get_scenario(job.scenario).check_overrides(params or {})
    return str(generate_episode(job.scenario, job.seed, spec, checked).save(root))


def generate_many(root: str | Path, names: list[str], n: int, seed: int = 0, spec: RenderSpec = RenderSpec(),
                  workers: int = 1, progress: bool = True, params: dict | None = None) -> list[Path]:
    """Write the batch under root; return every episode folder of the batch (existing ones included).

    `params` fixes scenario parameters (checked against each scenario's ranges)."""
    root = Path(root)
    jobs = plan(names, n, seed)
    todo = [j for j in jobs if not is_current(j.folder(root))]  # missing, partial or stale
    bar = tqdm(total=len(jobs), initial=len(jobs) - len(todo), desc="episodes", unit="ep", disable=not progress)
    with bar:
        if workers <= 1 or len(todo) <= 1:
            for job in todo:
                _run(job, str(root), spec, params)
                bar.update()
        else:
            with process_pool(min(workers, len(todo))) as pool:
                futures = [pool.submit(_run, job, str(root), spec, params) for job in todo]
                for future in as_completed(futures):
                    future.result()
                    bar.update()
    return [j.folder(root) for j in jobs]

