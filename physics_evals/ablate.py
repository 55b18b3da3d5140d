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
import itertools
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

BASELINES = ("resimulated", "copy_last_frame", "linear_extrapolation")
PROBE_STEPS = 3       # optimiser steps of the timing probe (after data loading and model build)
SECTIONS = ("model", "data", "train", "vae")  # simulator config sections a short key may belong to


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

    @property
    def model(self) -> str:
        return f"{self.slug}-s{self.seed}"


# ------------------------------------------------------------------------------------ the request
def split_values(text: str) -> list[str]:
    """'full,factorised' -> ['full', 'factorised']; commas inside [] or () stay: '[2],[4,6]' -> ['[2]', '[4,6]']."""
    out, depth, cur = [], 0, ""
    for ch in text:
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    out.append(cur.strip())
    return [v for v in out if v]


def resolve_key(key: str) -> str:
    """A full config key: 'model.attention' as is, 'attention' when exactly one section has that field."""
    import dataclasses
    from simulator.config import Config
    cfg = Config()
    if "." in key:
        return key
    owners = [s for s in SECTIONS if key in {f.name for f in dataclasses.fields(getattr(cfg, s))}]
    if len(owners) == 1:
        return f"{owners[0]}.{key}"
    if owners:
        raise AblationError(f"ablation key '{key}' is ambiguous: say {' or '.join(f'{s}.{key}' for s in owners)}")
    raise AblationError(f"unknown ablation key '{key}': not a field of the simulator config "
                        f"(for example model.attention, model.patch, data.context, train.lr)")


def parse_vary(items: list[str], base: str, fixed: list[str]) -> list[tuple[str, list[str]]]:
    """[(full key, [value texts])], every value checked against the simulator's config now."""
    from simulator.config import SimulatorError, get_config
    out = []
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not split_values(values):
            raise AblationError(f"--vary '{item}': expected key=v1,v2,... for example model.attention=full,factorised")
        full = resolve_key(key.strip())
        vals = split_values(values)
        for v in vals:
            try:
                get_config(base, fixed + [f"{full}={v}"])
            except SimulatorError as e:
                raise AblationError(f"--vary {full}: {e}") from None
        out.append((full, vals))
    return out


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "x"


def plan(varies: list[tuple[str, list[str]]], seeds: int, runs_root: Path, results_root: Path) -> list[Job]:
    keys = [k for k, _ in varies]
    jobs = []
    for combo in itertools.product(*[vals for _, vals in varies]):
        setting = dict(zip(keys, combo))
        name = ", ".join(f"{k}={v}" for k, v in setting.items())
        s = "_".join(slug(f"{k.split('.')[-1]}-{v}") for k, v in setting.items())
        for seed in range(seeds):
            jobs.append(Job(name, s, setting, seed, runs_root / f"{s}-s{seed}", results_root / f"{s}-s{seed}"))
    return jobs


# ------------------------------------------------------------------------------------ state on disk
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


# ------------------------------------------------------------------------------------ commands
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


def probe(runner: Runner, job: Job, steps: int) -> dict:
    """Seconds per step, per-run overhead and per-evaluation time, from a few steps of the first variant."""
    cache = runner.root / "probe.json"
    if cache.is_file():
        return json.loads(cache.read_text())
    tmp = runner.root / ".probe"
    shutil.rmtree(tmp, ignore_errors=True)
    n = min(PROBE_STEPS, steps)
    total = runner.call(runner.train_cmd(job.setting, job.seed, n, tmp / "run"), "probe-train")
    wall = manifest(tmp / "run")["log"][-1]["wall_s"]
    eval_s = runner.call(runner.eval_cmd(["resimulated", f"probe=checkpoint:{tmp / 'run'}"], tmp / "eval"), "probe-eval")
    shutil.rmtree(runner.root / "rollouts" / "probe", ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)
    timing = {"s_per_step": wall / n, "overhead_s": max(0.0, total - wall), "eval_s": eval_s, "threads": runner.args.threads}
    cache.write_text(json.dumps(timing, indent=1))
    return timing


def estimate(timing: dict, jobs: list[Job], steps: int, parallel: int) -> float:
    per = [(0 if trained(j.run_dir, steps) else timing["overhead_s"] + steps * timing["s_per_step"]) +
           (0 if results_in(j.eval_dir) else timing["eval_s"]) for j in jobs]
    return sum(per) / max(1, min(parallel, len(per)))


def run_job(runner: Runner, job: Job, steps: int) -> None:
    if not trained(job.run_dir, steps):
        print(f"  train {job.model} ...", flush=True)
        runner.call(runner.train_cmd(job.setting, job.seed, steps, job.run_dir), f"{job.model}-train")
    if results_in(job.eval_dir) is None:
        print(f"  evaluate {job.model} ...", flush=True)
        runner.call(runner.eval_cmd(["resimulated", f"{job.model}=checkpoint:{job.run_dir}"], job.eval_dir),
                    f"{job.model}-eval")
    print(f"  done {job.model}", flush=True)


# ------------------------------------------------------------------------------------ the report
def collect(jobs: list[Job], baseline_results: Path) -> tuple[list, dict]:
    from .report import stats
    from .report.ablation import Variant
    from .report.load import load_results
    variants: dict[str, Variant] = {}
    seeds_per_variant = max(1, len({j.seed for j in jobs}))
    for j in jobs:
        path = results_in(j.eval_dir)
        res = load_results([path])
        v = variants.setdefault(j.variant, Variant(j.variant, j.setting, {}))
        v.seeds[j.seed] = {g: x for g, x in res.summary.get(j.model, {}).items() if x is not None}
        if seeds_per_variant == 1 and stats.check(res)[0]:
            v.run_cis[j.seed] = stats.intervals(res).get(j.model, {})
        log = (manifest(j.run_dir) or {}).get("log", [{}])
        v.info[j.seed] = {"run_dir": str(j.run_dir), "results": str(path), "train_s": log[-1].get("wall_s"),
                          "val_loss": log[-1].get("val_loss")}
    base = load_results([baseline_results])
    baselines = {m: {g: x for g, x in base.summary.get(m, {}).items() if x is not None} for m in BASELINES}
    return list(variants.values()), baselines


def write(name: str, variants, baselines, meta: dict, out_dir: Path, raw: dict) -> Path:
    from .report import install
    from .report.ablation import figure, markdown
    files = {f"{name}.png": figure(variants, meta["keys"], baselines),
             f"{name}.json": (json.dumps(raw, indent=1) + "\n").encode()}
    files[f"{name}.md"] = markdown(name, variants, baselines, meta, f"{name}.png").encode()
    install(files, out_dir)
    return out_dir / f"{name}.md"


# ------------------------------------------------------------------------------------ CLI
def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--base", default="tiny", help="simulator config size every variant starts from (default tiny)")
    p.add_argument("--vary", action="append", required=True, metavar="KEY=V1,V2",
                   help="a config key and its values, e.g. model.attention=full,factorised (repeat for a grid)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a fixed override for every variant, e.g. data.episodes_per_scenario=16")
    p.add_argument("--steps", type=int, default=200, help="optimiser steps per run: the shared budget (default 200)")
    p.add_argument("--seeds", type=int, default=2, help="training seeds per variant, 0..K-1 (default 2)")
    p.add_argument("--tasks", nargs="+", metavar="TASK", help="evaluation tasks (default: the whole suite)")
    p.add_argument("--suite", default="default", help="evaluation suite (default: default)")
    p.add_argument("--limit", type=int, help="at most N episodes per task")
    p.add_argument("--name", help="ablation name (default: the varied keys)")
    p.add_argument("--jobs", type=int, help="runs at once (default: CPU cores / threads, or 1 on a GPU)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per run (default 1)")
    p.add_argument("--runs-root", type=Path, default=Path("runs/ablations"))
    p.add_argument("--results-root", type=Path, default=Path("results/ablations"))
    p.add_argument("--out", type=Path, default=Path("reports/ablations"))


def main(args: argparse.Namespace) -> int:
    if args.steps <= 0 or args.seeds <= 0 or args.threads <= 0:
        raise AblationError("--steps, --seeds and --threads must be positive")
    varies = parse_vary(args.vary, args.base, args.set)
    name = slug(args.name or "-".join(k.split(".")[-1] for k, _ in varies))
    root = args.runs_root / name
    jobs = plan(varies, args.seeds, root, args.results_root / name)
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
        todo = [j for j in jobs if not trained(j.run_dir, args.steps) or results_in(j.eval_dir) is None]
        timing = probe(runner, jobs[0], args.steps) if todo else {"s_per_step": 0, "overhead_s": 0, "eval_s": 0}
        est = estimate(timing, jobs, args.steps, parallel)
        print(f"ablation '{name}': {len(jobs)} runs ({len(jobs) - len(todo)} already done), {args.steps} steps each, "
              f"{parallel} at a time with {args.threads} thread(s); measured {timing['s_per_step']:.2f} s/step, "
              f"{timing['eval_s']:.0f} s per evaluation; estimated time: {est / 60:.1f} min", flush=True)
        progress = _progress(root, est, bool(todo))
        t_runs = time.perf_counter()
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            futures = [pool.submit(run_job, runner, j, args.steps) for j in todo]
            try:
                for f in futures:
                    f.result()
            except BaseException:  # stop the others before the pool waits for them
                runner.stop()
                for f in futures:
                    f.cancel()
                raise
        elapsed = progress["elapsed_s"] + time.perf_counter() - t_runs
        (root / "progress.json").write_text(json.dumps({**progress, "elapsed_s": elapsed}))
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
    from toolkit.provenance import versions
    variants, baselines = collect(jobs, results_in(base_dir))
    v = versions()
    meta = {"command": command, "keys": [k for k, _ in varies], "base": args.base, "fixed": args.set,
            "steps": args.steps, "seeds": list(range(args.seeds)), "tasks": args.tasks or [],
            "estimate_s": est, "elapsed_s": elapsed,
            "provenance": [f"git revision {v.get('git_revision')}",
                           "versions: " + ", ".join(f"{k} {x}" for k, x in sorted(v.items()) if k != "git_revision"),
                           f"timing probe: {json.dumps(timing)}", f"total wall time {time.perf_counter() - t0:.0f} s"]}
    raw = {"name": name, **{k: meta[k] for k in ("command", "keys", "base", "fixed", "steps", "seeds", "tasks")},
           "variants": [{"name": x.name, "setting": x.setting, "seeds": x.seeds, "info": x.info} for x in variants],
           "baselines": baselines}
    path = write(name, variants, baselines, meta, args.out, raw)
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
    try:
        import torch
        return bool(torch.cuda.is_available())
    except ImportError:
        return False


if __name__ == "__main__":
    p = argparse.ArgumentParser(prog="python -m physics_evals ablate", description=__doc__)
    add_arguments(p)
    sys.exit(main(p.parse_args()))
