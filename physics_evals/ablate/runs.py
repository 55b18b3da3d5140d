"""The child commands of an ablation: `python -m simulator train` for each variant and seed, and
`python -m physics_evals run` to evaluate each trained checkpoint (and the baselines once)."""
from __future__ import annotations

import itertools
import os
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path

from ..models import CEILING, FLOORS
from .plan import AblationError, Job, results_in, trained

BASELINES = (CEILING, *FLOORS)  # evaluated once per ablation


class Runner:
    """Runs the child commands, each logged to a file; ends the ones it started if it is interrupted."""

    def __init__(self, args, root: Path):
        self.args, self.root = args, root
        self.logs = root / "logs"
        self.procs: set[subprocess.Popen] = set()
        self.lock = threading.Lock()
        self.stopped = False
        self.py = sys.executable

    def env(self) -> dict:
        t = str(self.args.threads)
        return {**os.environ, "OMP_NUM_THREADS": t, "MKL_NUM_THREADS": t}

    def call(self, cmd: list[str], log_name: str) -> float:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{log_name}.log"
        t0 = time.perf_counter()
        with open(log, "a") as f:
            f.write(f"$ {shlex.join(cmd)}\n")
            f.flush()
            with self.lock:
                if self.stopped:
                    raise KeyboardInterrupt
                proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=self.env())
                self.procs.add(proc)
            rc = proc.wait()
            with self.lock:
                self.procs.discard(proc)
        if rc != 0:
            tail = [l for l in log.read_text().splitlines() if l.strip()][-1:] or ["(no output)"]
            raise AblationError(f"`{shlex.join(cmd[1:4])} ...` failed (exit {rc}): {tail[0][:200]}; log: {log}")
        return time.perf_counter() - t0

    def stop(self):
        """End the children this runner started (each by its own pid) and start no more."""
        with self.lock:
            self.stopped = True
            for p in self.procs:
                p.terminate()

    def train_cmd(self, setting: dict, seed: int, steps: int, out: Path) -> list[str]:
        a = self.args
        sets = [*a.set, *(f"{k}={v}" for k, v in setting.items()), f"train.threads={a.threads}"]
        return [self.py, "-m", "simulator", "train", "--config", a.base, *itertools.chain(*(("--set", s) for s in sets)),
                "--steps", str(steps), "--seed", str(seed), "--out", str(out), "--quiet"]

    def eval_cmd(self, models: list[str], out: Path) -> list[str]:
        a = self.args
        cmd = [self.py, "-m", "physics_evals", "run", "--models", *models, "--out", str(out),
               "--rollouts-root", str(self.root / "rollouts"), "--workers", "1", "--seed", "0",
               "--suite", a.suite, "--no-report", "--no-progress"]
        if a.tasks:
            cmd += ["--tasks", *a.tasks]
        if a.limit:
            cmd += ["--limit", str(a.limit)]
        return cmd


def run_job(runner: Runner, job: Job) -> None:
    if not trained(job.run_dir, job.steps):
        print(f"  train {job.model} ...", flush=True)
        runner.call(runner.train_cmd(job.setting, job.seed, job.steps, job.run_dir), f"{job.model}-train")
    if results_in(job.eval_dir) is None:
        print(f"  evaluate {job.model} ...", flush=True)
        runner.call(runner.eval_cmd([CEILING, f"{job.model}=checkpoint:{job.run_dir}"], job.eval_dir),
                    f"{job.model}-eval")
    print(f"  done {job.model}", flush=True)
