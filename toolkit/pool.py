"""The one process pool of the project."""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor


def default_workers() -> int:
    """Processes to use by default: every core this process may run on."""
    return max(1, len(os.sched_getaffinity(0)))


def process_pool(workers: int, **kwargs) -> ProcessPoolExecutor:
    """A process pool whose workers start clean from a fork server, not forked from this process:
    forking a process that has already run torch (OpenMP threads) can deadlock the children."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("forkserver"), **kwargs)


def map_concat(fn, jobs: list, workers: int) -> list:
    """fn over jobs, each returning a list, concatenated in job order: in this process for one worker or
    one job, otherwise in a pool (fn must then be a module-level function, which pickles)."""
    out: list = []
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            out += fn(job)
        return out
    with process_pool(min(workers, len(jobs))) as pool:
        for part in pool.map(fn, jobs):
            out += part
    return out
