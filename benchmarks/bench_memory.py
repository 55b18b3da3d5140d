"""Peak memory against the number of episodes, at two counts, in one run: it must stay flat.

Three workloads, each run as its own process (one worker, so all of its work is in that process)
at a small and a large episode count; the peak resident set size of each comes from the kernel
(wait4's ru_maxrss). Episodes are streamed everywhere: generated and written one at a time, scored
one at a time, and read batch by batch in training, so only bookkeeping grows with the count.

- generate: `python -m scenarios generate` of N episodes (64x64, 32 frames);
- run:      `python -m physics_evals run` on the full suite's gravity-drop task, at --limit N, with
            the built-in models (the reference checkpoint's rollouts would only add time);
- train:    `python -m simulator train` of the reference config (tiny) for a few steps on N episodes
            per scenario.

    python benchmarks/bench_memory.py [--generate 100 1000] [--run 3 24] [--train 2 16] [--steps 3]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def peak_rss_mb(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """(peak RSS in MiB, seconds) of a command run to completion; its output is dropped unless it fails."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=log, stderr=log)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            log.seek(0)
            sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{log.read().decode()[-2000:]}")
    return usage.ru_maxrss / 1024, time.perf_counter() - t0  # ru_maxrss is in KiB on Linux


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--generate", type=int, nargs=2, default=[100, 1000], metavar=("SMALL", "LARGE"))
    ap.add_argument("--run", type=int, nargs=2, default=[3, 24], metavar=("SMALL", "LARGE"),
                    help="episodes of the task (--limit)")
    ap.add_argument("--train", type=int, nargs=2, default=[2, 16], metavar=("SMALL", "LARGE"),
                    help="episodes per scenario (data.episodes_per_scenario)")
    ap.add_argument("--steps", type=int, default=3, help="training steps")
    ap.add_argument("--only", nargs="+", choices=("generate", "run", "train"), default=["generate", "run", "train"])
    args = ap.parse_args()
    py = sys.executable
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"{'workload':<10}{'episodes':>10}{'peak RSS MiB':>14}{'seconds':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cwd = Path.cwd()
        for what in args.only:
            peaks = []
            for n in getattr(args, what):
                if what == "generate":
                    cmd = [py, "-m", "scenarios", "generate", "--n", str(n), "--workers", "1",
                           "--out", str(tmp / f"gen{n}")]
                    count = n
                elif what == "run":
                    cmd = [py, "-m", "physics_evals", "run", "--suite", "full", "--tasks", "gravity-drop",
                           "--limit", str(n), "--models", "ground_truth", "copy_last_frame", "--workers", "1",
                           "--no-report", "--no-progress", "--out", str(tmp / "results"),
                           "--rollouts-root", str(tmp / "rollouts"), "--episodes-root", str(tmp / "eval")]
                    count = n
                else:
                    from simulator.data import scenario_names
                    cmd = [py, "-m", "simulator", "train", "--config", "tiny", "--steps", str(args.steps),
                           "--data", str(tmp / "train"), "--out", str(tmp / f"run{n}"), "--workers", "1", "--quiet",
                           "--set", f"data.episodes_per_scenario={n}"]
                    count = n * len(scenario_names(("gravity", "occlusion", "state_change", "shatter")))
                mb, s = peak_rss_mb(cmd, cwd)
                peaks.append(mb)
                print(f"{what:<10}{count:>10}{mb:>14.0f}{s:>9.0f}", flush=True)
            print(f"{what}: peak RSS x{peaks[1] / peaks[0]:.2f} for x{getattr(args, what)[1] / getattr(args, what)[0]:.0f} "
                  f"the episodes")


if __name__ == "__main__":
    main()
