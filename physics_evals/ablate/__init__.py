"""`python -m physics_evals ablate`: train variants of the learned simulator, evaluate each, report.

    python -m physics_evals ablate --base tiny --vary model.attention=full,factorised --steps 200 --seeds 2

Every variant gets the same data, the same step budget and the same seeds (0..K-1); only the
varied keys differ. Each (variant, seed) is one `python -m simulator train` run under
runs/ablations/<name>/<variant>-s<seed>/ and one `python -m physics_evals run` evaluation of
it next to the ceiling under results/ablations/<name>/; the baselines are evaluated once.
Finished trainings and evaluations are reused, and a killed training resumes from its last
checkpoint, so rerunning the same command after a kill picks up where it stopped. Before the
real runs, a short probe (a few steps and one evaluation) measures the time per step and per
evaluation, and the estimated total is printed.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from toolkit.cli import positive_int
from toolkit.files import atomic_write_json

from .. import options
from .plan import AblationError, estimate, plan, probe, results_in, slug, trained
from .runs import BASELINES, Runner, run_job
from .study import write_study

__all__ = ["AblationError", "Runner", "add_arguments", "main"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--base", default="tiny", help="simulator config size every variant starts from (default tiny)")
    p.add_argument("--vary", action="append", required=True, metavar="KEY=V1,V2",
                   help="a config key and its values, e.g. model.attention=full,factorised (repeat for a grid)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a fixed override for every variant, e.g. data.episodes_per_scenario=16")
    p.add_argument("--steps", type=positive_int, default=200, help="optimiser steps per run: the shared budget (default 200); `--vary train.steps=...` varies it instead")
    p.add_argument("--seeds", type=positive_int, default=2, help="training seeds per variant, 0..K-1 (default 2)")
    options.add_task_options(p, tasks_help="evaluation tasks (default: the whole suite)")
    p.add_argument("--name", help="ablation name (default: the varied keys)")
    p.add_argument("--jobs", type=positive_int, help="runs at once (default: CPU cores / threads, or 1 on a GPU)")
    p.add_argument("--threads", type=positive_int, default=1, help="torch threads per run (default 1)")
    p.add_argument("--runs-root", type=Path, default=Path("runs/ablations"))
    p.add_argument("--results-root", type=Path, default=Path("results/ablations"))
    p.add_argument("--out", type=Path, default=Path("reports/ablations"))


def main(args: argparse.Namespace) -> int:
    from simulator.config import parse_vary  # lazily: the rest of physics_evals runs without torch
    varies = parse_vary(args.vary, args.base, args.set)
    name = slug(args.name or "-".join(k.split(".")[-1] for k, _ in varies))
    root = args.runs_root / name
    jobs = plan(varies, args.seeds, root, args.results_root / name, args.steps)
    cores = len(os.sched_getaffinity(0))
    gpu = _has_gpu()
    parallel = args.jobs or (1 if gpu else max(1, cores // args.threads))
    runner = Runner(args, root)
    command = "python -m physics_evals ablate " + shlex.join(sys.argv[2:] if sys.argv[1:2] == ["ablate"] else sys.argv[1:])
    t0 = time.perf_counter()
    previous = signal.signal(signal.SIGTERM, _interrupt)  # a kill ends the children too; the rerun resumes
    try:
        base_dir = args.results_root / name / "baselines"
        if results_in(base_dir) is None:
            print("evaluating the baselines once ...", flush=True)
            runner.call(runner.eval_cmd(list(BASELINES), base_dir), "baselines-eval")
        todo = [j for j in jobs if not trained(j.run_dir, j.steps) or results_in(j.eval_dir) is None]
        timing = probe(runner, jobs[0]) if todo else {"s_per_step": 0, "overhead_s": 0, "eval_s": 0}
        est = estimate(timing, jobs, parallel)
        steps = "/".join(sorted({str(j.steps) for j in jobs}, key=int))
        print(f"ablation '{name}': {len(jobs)} runs ({len(jobs) - len(todo)} already done), {steps} steps each, "
              f"{parallel} at a time with {args.threads} thread(s); measured {timing['s_per_step']:.2f} s/step, "
              f"{timing['eval_s']:.0f} s per evaluation; estimated time: {est / 60:.1f} min", flush=True)
        progress = _progress(root, est, bool(todo))
        t_runs = time.perf_counter()
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            futures = [pool.submit(run_job, runner, j) for j in todo]
            try:
                for f in futures:
                    f.result()
            except BaseException:  # stop the others before the pool waits for them
                runner.stop()
                for f in futures:
                    f.cancel()
                raise
        elapsed = progress["elapsed_s"] + time.perf_counter() - t_runs
        atomic_write_json(root / "progress.json", {**progress, "elapsed_s": elapsed})
        est = progress["estimate_s"]
    except KeyboardInterrupt:
        runner.stop()
        print("interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    except BaseException:
        runner.stop()
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    timing = {**timing, "total_s": round(time.perf_counter() - t0)}
    path = write_study(name, jobs, results_in(base_dir), args, command, varies, timing, est, elapsed)
    print(f"wrote {path} and {path.with_suffix('.png')} (took {elapsed / 60:.1f} min, estimated {est / 60:.1f} min)")
    return 0


def _progress(root: Path, estimate_s: float, fresh_work: bool) -> dict:
    """The first estimate made for this ablation and the run time spent so far, across invocations."""
    path = root / "progress.json"
    state = json.loads(path.read_text()) if path.is_file() else {}
    if "estimate_s" not in state and fresh_work:
        state = {"estimate_s": estimate_s, "elapsed_s": 0.0}
    return {"estimate_s": state.get("estimate_s", estimate_s), "elapsed_s": state.get("elapsed_s", 0.0)}


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _has_gpu() -> bool:
    import torch  # here only: the rest of physics_evals runs without torch
    return bool(torch.cuda.is_available())
