"""`python -m physics_evals report [RESULTS ...] [--out reports/]`: the leaderboard from results files."""
from __future__ import annotations

import argparse
from pathlib import Path

from toolkit.files import check_writable

from .load import DEFAULT_RESULTS_ROOT, find_results


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", nargs="*", metavar="RESULTS",
                        help="results.json files, run folders, or folders of runs (default: rebuild the report folder "
                             "from the runs it holds in <out>/results/, or else the newest run under --results-root)")
    parser.add_argument("--out", type=Path, default=Path("reports"), help="report folder (default: reports/)")
    parser.add_argument("--results-root", type=Path, default=DEFAULT_RESULTS_ROOT,
                        help="where to look for the newest run when no RESULTS are given (default: results/)")


def main(args: argparse.Namespace) -> int:
    from . import write_report
    check_writable(args.out, "report folder (--out)")
    files = find_results(args.results, args.results_root, report=args.out)
    index = write_report(files, args.out)  # bad input and file-system errors: one line (toolkit.cli)
    print(f"report on {len(files)} run(s): {args.out / 'leaderboard.md'}, {args.out / 'leaderboard.csv'}, {index}")
    return 0
