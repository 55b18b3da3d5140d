"""`python -m physics_evals run`: score models on tasks and write results/<run_id>/ (the work is
done by evaluate.py; this module reads the command line and prints)."""
from __future__ import annotations

import sys
from argparse import ArgumentTypeError
from pathlib import Path

from toolkit.cli import non_negative_int
from toolkit.files import check_writable

from . import options
from .evaluate import RunConfig, run
from .results import format_table
from .seeds import seed_lines
from .splits import format_splits

REPORTS = Path("reports")  # where `run` writes its report


def add_arguments(p) -> None:
    options.add_task_options(p)
    p.add_argument("--models", nargs="+", action=options.CommaList, metavar="MODEL",
                   help="ground_truth resimulated copy_last_frame linear_extrapolation rollouts:DIR checkpoint:PATH, "
                        "space- or comma-separated (default: the built-ins, plus checkpoint:simulator/reference when "
                        "it exists and the suite is not hd)")
    p.add_argument("--out", type=Path, default=options.RESULTS_ROOT, help="results/<run_id>/ goes here")
    options.add_rollouts_root(p)
    options.add_episodes_root(p)
    options.add_workers(p, "scoring processes")
    p.add_argument("--seed", type=non_negative_int, default=0, help="bootstrap and re-simulation seed")
    p.add_argument("--seeds", nargs="+", action=options.CommaList, metavar="S",
                   help="sample every checkpoint model once per seed (e.g. 0 1 2 3), each cached on its own; "
                        "results give mean ± sd over seeds")
    p.add_argument("--no-report", action="store_true", help="do not write reports/ at the end")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def _seeds(values: list[str] | None) -> list[int] | None:
    """--seeds as distinct integers >= 0 (seed 0 is a seed like any other)."""
    if values is None:
        return None
    try:
        seeds = [non_negative_int(v) for v in values]
    except ArgumentTypeError as e:
        raise ValueError(f"--seeds: {e}") from None
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds: each seed once, got {' '.join(values)}")
    return seeds


def main(args) -> int:
    seeds = _seeds(args.seeds)
    cfg = RunConfig(seeds=seeds, suite=args.suite, tasks=args.tasks, models=args.models, limit=args.limit, out=args.out,
                    rollouts_root=args.rollouts_root, episodes_root=args.episodes_root, workers=args.workers,
                    seed=args.seed, progress=not args.no_progress,
                    command=getattr(args, "command_line", ""))
    warn = lambda msg: print(msg, file=sys.stderr)  # noqa: E731
    if not args.no_report:
        check_writable(REPORTS, "report folder")  # before the run, not after it
    path = run(cfg, warn=warn)
    if path is None:  # a torchrun rank other than 0: its rollouts are cached, rank 0 reports
        return 0
    from .results import load_results
    results = load_results(path)
    print("\n".join([format_table(results), *format_splits(results.get("splits", {})), *seed_lines(results)]))
    print(f"\nwrote {path} and {path.parent / 'samples.jsonl'}")
    if not args.no_report:
        from .report import write_report
        try:
            write_report([path], REPORTS)
        except ValueError as e:  # the results stand; say why the report does not
            print(f"error: results written, but no report: {e}", file=sys.stderr)
            return 2
        print("wrote reports/")
    return 0
