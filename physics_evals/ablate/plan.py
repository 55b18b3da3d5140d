"""An ablation's plan: one job per (variant, seed), what is already on disk, and the time estimate."""
from __future__ import annotations

import itertools
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from toolkit.files import atomic_write_json

from ..models import CEILING

PROBE_STEPS = 3       # optimiser steps of the timing probe (after data loading and model build)


class AblationError(ValueError):
    """A bad ablation request or a failed step; the message is one line naming what is wrong."""


@dataclass
class Job:
    variant: str                  # display name, e.g. "model.attention=full"
    slug: str                     # file-system and model name, e.g. "attention-full"
    setting: dict[str, str]       # key -> value text
    seed: int                     # training seed
    run_dir: Path                 # the simulator's run folder
    eval_dir: Path                # where `physics_evals run` puts <run_id>/results.json
    steps: int                    # optimiser steps: --steps, or this variant's train.steps (a compute study)

    @property
    def model(self) -> str:
        return f"{self.slug}-s{self.seed}"


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "x"


def plan(varies: list[tuple[str, list[str]]], seeds: int, runs_root: Path, results_root: Path, steps: int) -> list[Job]:
    keys = [k for k, _ in varies]
    jobs = []
    for combo in itertools.product(*[vals for _, vals in varies]):
        setting = dict(zip(keys, combo))
        name = ", ".join(f"{k}={v}" for k, v in setting.items())
        s = "_".join(slug(f"{k.split('.')[-1]}-{v}") for k, v in setting.items())
        for seed in range(seeds):
            n = int(setting.get("train.steps", steps))
            jobs.append(Job(name, s, setting, seed, runs_root / f"{s}-s{seed}", results_root / f"{s}-s{seed}", n))
    return jobs


def manifest(run_dir: Path) -> dict | None:
    try:
        return json.loads((run_dir / "manifest.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def trained(run_dir: Path, steps: int) -> bool:
    m = manifest(run_dir)
    if m is None:
        return False
    if m.get("step", 0) > steps:
        raise AblationError(f"{run_dir}: holds a run of {m['step']} steps but this ablation asks for {steps}; "
                            "choose another --name")
    return m.get("step", 0) == steps


def results_in(eval_dir: Path) -> Path | None:
    found = sorted(eval_dir.glob("*/results.json"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def probe(runner, job: Job) -> dict:
    """Seconds per step, per-run overhead and per-evaluation time, from a few steps of the first variant."""
    cache = runner.root / "probe.json"
    if cache.is_file():
        return json.loads(cache.read_text())
    tmp = runner.root / ".probe"
    shutil.rmtree(tmp, ignore_errors=True)
    n = min(PROBE_STEPS, job.steps)
    total = runner.call(runner.train_cmd(job.setting, job.seed, n, tmp / "run"), "probe-train")
    wall = manifest(tmp / "run")["log"][-1]["wall_s"]
    eval_s = runner.call(runner.eval_cmd([CEILING, f"probe=checkpoint:{tmp / 'run'}"], tmp / "eval"), "probe-eval")
    shutil.rmtree(runner.root / "rollouts" / "probe", ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)
    timing = {"s_per_step": wall / n, "overhead_s": max(0.0, total - wall), "eval_s": eval_s, "threads": runner.args.threads}
    atomic_write_json(cache, timing)
    return timing


def estimate(timing: dict, jobs: list[Job], parallel: int) -> float:
    per = [(0 if trained(j.run_dir, j.steps) else timing["overhead_s"] + j.steps * timing["s_per_step"]) +
           (0 if results_in(j.eval_dir) else timing["eval_s"]) for j in jobs]
    return sum(per) / max(1, min(parallel, len(per)))
