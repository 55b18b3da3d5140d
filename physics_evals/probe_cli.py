"""`python -m physics_evals probe`: can every metric fail? Pairwise accuracy of the metrics on
violation-of-expectation probes (a true clip vs its tampered twin), per violation kind, over the
held-out episodes of the chosen tasks."""
from __future__ import annotations

import sys
from pathlib import Path

from scenarios import load_episode
from toolkit.files import check_writable

from . import options
from .episodes import ensure_episodes, select_tasks, usable_episodes


def probe_tasks(tasks, folders: dict[str, list[Path]]) -> dict[str, dict]:
    """kind -> {"accuracy", "n_pairs", "per_metric"} pooled over every episode (folders: task -> its usable
    episode folders) of every task."""
    from .probes import probe_report
    pooled: dict[str, dict] = {}
    for task in tasks:
        episodes = [load_episode(f) for f in folders[task.name]]
        for kind, r in probe_report(episodes, task.context).items():
            p = pooled.setdefault(kind, {"correct": 0.0, "n_pairs": 0, "per_metric": {}})
            p["correct"] += r["accuracy"] * r["n_pairs"]
            p["n_pairs"] += r["n_pairs"]
            for m, acc in r["per_metric"].items():
                c, n = p["per_metric"].get(m, (0.0, 0))
                p["per_metric"][m] = (c + acc * r["per_metric_n"][m], n + r["per_metric_n"][m])
    return {k: {"accuracy": p["correct"] / p["n_pairs"], "n_pairs": p["n_pairs"],
                "per_metric": {m: c / n for m, (c, n) in p["per_metric"].items()}}
            for k, p in pooled.items()}


def add_arguments(p) -> None:
    options.add_task_options(p)
    options.add_episodes_root(p)
    options.add_workers(p, "processes generating and scoring episodes")
    p.add_argument("--seed", type=int, default=0, help="seed of the resimulated ceiling (default 0)")
    p.add_argument("--skip", nargs="+", default=[], choices=["voe", "invariance", "sensitivity"],
                   help="parts not to run")
    p.add_argument("--sensitivity-out", type=Path, metavar="MD",
                   help="also write the sensitivity table, with its provenance, to this markdown file")
    p.add_argument("--invariance-out", type=Path, metavar="MD",
                   help="also write the invariance table, with its provenance, to this markdown file")


def main(args) -> int:
    from .probes import PROBES
    tasks = select_tasks(args.suite, args.tasks, args.limit)
    for path, flag in ((args.sensitivity_out, "--sensitivity-out"), (args.invariance_out, "--invariance-out")):
        if path is not None:  # before the minutes of probing that end in writing there
            check_writable(path.parent, f"{flag} {path}: folder")
    # every part probes the same episodes: made (or checked) once, a failed one warned once
    failed = ensure_episodes(tasks, args.episodes_root, args.workers, True, warn=lambda m: print(m, file=sys.stderr))
    folders = usable_episodes(tasks, args.episodes_root, failed)
    if "voe" not in args.skip:
        report = probe_tasks(tasks, folders)
        print("violation-of-expectation probes: pairwise accuracy (truth ranked above its tampered twin)")
        print(f"{'violation':<12} {'pairs':>5} {'accuracy':>8}  per metric")
        for kind, probe in PROBES.items():
            if kind not in report:
                print(f"{kind:<12} {0:>5} {'-':>8}  (no episode of these tasks shows it: {probe.description})")
                continue
            r = report[kind]
            per = ", ".join(f"{m} {a:.2f}" for m, a in r["per_metric"].items())
            print(f"{kind:<12} {r['n_pairs']:>5} {r['accuracy']:>8.2f}  {per}")
    if "invariance" not in args.skip:
        from .invariance import (
            TARGET,
            format_invariance,
            invariance_markdown,
            invariance_report,
        )
        report = invariance_report(tasks, folders, workers=args.workers, seed=args.seed)
        print("\ninvariance probes: summary scores (0..100) of the truth put through each nuisance")
        for line in format_invariance(report):
            print(line)
        if args.invariance_out is not None:
            _write_report(args, tasks, args.invariance_out, "Invariance of the scores to delivery", (
                "Each row is the truth's horizon put through one nuisance (physics_evals/nuisance.py) and scored "
                "exactly as `run` scores a model, against the physical-variance second take (`resimulated`): the "
                "summary scores, the PSNR of the degraded truth against the truth (mean over clips), and the "
                "largest drop of any permanence or plausibility metric's task score below the clean truth's. "
                "Targets: " + ", ".join(f"{g} >= {v:g}" for g, v in TARGET.items()) + "."),
                invariance_markdown(report))
    if "sensitivity" not in args.skip:
        from .sensitivity import DETECT, format_sensitivity, sensitivity_report
        lines = format_sensitivity(sensitivity_report(tasks, folders, workers=args.workers, seed=args.seed))
        print(f"\nsensitivity: smallest graded violation each metric tells from physical variance "
              f"(pairwise accuracy >= {DETECT})")
        for line in lines:
            print(line)
        if args.sensitivity_out is not None:
            from .sensitivity import FAMILIES
            _write_report(args, tasks, args.sensitivity_out, "Sensitivity of each metric", (
                f"Each cell is the smallest graded counterfactual that the metric tells from the physical-variance "
                f"second take (`resimulated`) with pairwise accuracy >= {DETECT} over the episodes where it applies; "
                f"'-' means not even the largest grade (its accuracy given), blank means the counterfactual does not "
                f"apply. Grades: " + "; ".join(f"{f}: {', '.join(g for g, _ in gr)} ({unit})"
                                               for f, (unit, gr) in FAMILIES.items())
                + ". See physics_evals/sensitivity.py."), lines)
    return 0


def _write_report(args, tasks, path: Path, title: str, explanation: str, lines: list[str]) -> None:
    """A generated markdown table with its provenance: the command, git revision, seed, suite and versions."""
    from toolkit.files import atomic_write_bytes
    from toolkit.provenance import git_revision, versions
    ver = versions()
    text = "\n".join([
        f"# {title} (generated: do not edit)", "",
        f"Made by `{getattr(args, 'command_line', 'python -m physics_evals probe')}` at git revision "
        f"`{git_revision()}`, ceiling seed {args.seed}, suite `{args.suite}`, {len(tasks)} tasks, "
        f"versions: " + ", ".join(f"{k} {v}" for k, v in sorted(ver.items()) if isinstance(v, str)) + ".", "",
        explanation, "", *lines, ""])
    atomic_write_bytes(path, text.encode())
    print(f"wrote {path}")
