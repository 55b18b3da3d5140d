"""`python -m physics_evals probe`: can every metric fail? Pairwise accuracy of the metrics on
violation-of-expectation probes (a true clip vs its tampered twin), per violation kind, over the
held-out episodes of the chosen tasks."""
from __future__ import annotations

import sys
from pathlib import Path

from scenarios import load_episode
from . import options
from .episodes import ensure_episodes, select_tasks, usable_episodes


def probe_tasks(tasks, episodes_root: Path, workers: int = 1, progress: bool = True) -> dict[str, dict]:
    """kind -> {"accuracy", "n_pairs", "per_metric"} pooled over every episode of every task."""
    from .probes import probe_report
    failed = ensure_episodes(tasks, episodes_root, workers, progress, warn=lambda m: print(m, file=sys.stderr))
    folders = usable_episodes(tasks, episodes_root, failed)
    pooled: dict[str, dict] = {}
    for task in tasks:
        episodes = [load_episode(f) for f in folders[task.name]]
        for kind, r in probe_report(episodes, task.context).items():
            p = pooled.setdefault(kind, {"correct": 0.0, "n_pairs": 0, "per_metric": {}})
            p["correct"] += r["accuracy"] * r["n_pairs"]
            p["n_pairs"] += r["n_pairs"]
            for m, acc in r["per_metric"].items():
                p["per_metric"][m] = p["per_metric"].get(m, 0.0) + acc * r["n_pairs"]
    return {k: {"accuracy": p["correct"] / p["n_pairs"], "n_pairs": p["n_pairs"],
                "per_metric": {m: c / p["n_pairs"] for m, c in p["per_metric"].items()}}
            for k, p in pooled.items()}


def add_arguments(p) -> None:
    options.add_task_options(p)
    options.add_episodes_root(p)
    options.add_workers(p, "processes generating episodes")


def main(args) -> int:
    from .probes import PROBES
    tasks = select_tasks(args.suite, args.tasks, args.limit)
    report = probe_tasks(tasks, args.episodes_root, args.workers)
    print(f"{'violation':<12} {'pairs':>5} {'accuracy':>8}  per metric")
    for kind, probe in PROBES.items():
        if kind not in report:
            print(f"{kind:<12} {0:>5} {'-':>8}  (no episode of these tasks shows it: {probe.description})")
            continue
        r = report[kind]
        per = ", ".join(f"{m} {a:.2f}" for m, a in r["per_metric"].items())
        print(f"{kind:<12} {r['n_pairs']:>5} {r['accuracy']:>8.2f}  {per}")
    return 0
