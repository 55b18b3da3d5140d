"""`python -m physics_evals report [RESULTS ...] [--out reports/]`: the leaderboard from results files."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .load import DEFAULT_RESULTS_ROOT, find_results


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", nargs="*", metavar="RESULTS",
                        help="results.json files, run folders, or folders of runs (default: the newest run under results/)")
    parser.add_argument("--out", type=Path, default=Path("reports"), help="report folder (default: reports/)")
    parser.add_argument("--results-root", type=Path, default=DEFAULT_RESULTS_ROOT,
                        help="where to look for the newest run when no RESULTS are given (default: results/)")


def main(args: argparse.Namespace) -> int:
    from . import write_report
    try:
        files = find_results(args.results, args.results_root)
        index = write_report(files, args.out)
    except ValueError as e:  # ReportError, the harness's ResultsError: the project's one-line bad-input errors
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"report on {len(files)} run(s): {args.out / 'leaderboard.md'}, {args.out / 'leaderboard.csv'}, {index}")
    return 0


if __name__ == "__main__":  # also runnable on its own: python -m physics_evals.report.cli
    p = argparse.ArgumentParser(prog="python -m physics_evals report", description=__doc__)
    add_arguments(p)
    sys.exit(main(p.parse_args()))
