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
