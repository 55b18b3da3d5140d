"""The report's statistics against the time to merely read the results they are made of.

A leaderboard's intervals are paired bootstraps over episodes: N_BOOT draws for the summary, again for
each family and for the generalisation table, each draw the whole summary formula (physics_evals.summary).
Load = read, parse and check results.json and samples.jsonl (what any report must do); build = every
table of the leaderboard with its intervals (no figures, no HTML). Printed: both times, build over load,
and summarised bootstrap draws per second. The committed default-suite run and the committed full-suite
run by default (each a folder holding results.json and samples.jsonl).

    python benchmarks/bench_report.py [RESULTS ...]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from physics_evals.report.leaderboard import build
from physics_evals.report.load import find_results, load_results
from physics_evals.summary import N_BOOT

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = [ROOT / "reports" / "results", ROOT / "reports" / "full"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="*", type=Path, default=DEFAULT,
                    help="results.json files or folders of runs (default: the committed default and full runs)")
    args = ap.parse_args()
    for path in args.results:
        files = find_results([path])
        t0 = time.perf_counter()
        results = load_results(files)
        load_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        board = build(results)
        build_s = time.perf_counter() - t0
        tables = 1 + len(board.families) + (board.splits is not None)  # each bootstrapped N_BOOT times
        print(f"{path}: {len(results.samples)} samples, {len(results.models)} models, {len(results.tasks)} tasks")
        print(f"  load {load_s:.2f} s, build {build_s:.2f} s: build / load {build_s / load_s:.1f}x; "
              f"{tables * N_BOOT / build_s:.0f} summarised bootstrap draws/s ({tables} tables x {N_BOOT} draws)")


if __name__ == "__main__":
    main()
