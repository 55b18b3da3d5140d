"""Episode generation throughput against raw TinyRenderer throughput, measured in the same run.

For each scenario: raw frames/s = getCameraImage alone on that scenario's scene (same
resolution, same bodies, same camera, same light); engine frames/s = whole episodes (sampling,
simulation, rendering, states, events, compressed write to disk) on one worker. The
ratio engine/raw says what the engine's own work costs (goals: mean >= 0.75 and no scenario
below 0.5 at 64x64). Then all workers on a mixed batch, against one worker on the same batch:
the scaling (goal: 2 workers >= 1.8x one).

The machine may be shared: raw and engine figures of a scenario are taken in alternating rounds
and each is the best of its rounds (the run least slowed by other processes), and the load average
is printed with the figures, so a reader can judge them. Beside the wall-clock ratio, the same ratio
in CPU seconds of this process (`cpu`): what the engine costs in work, which other processes
sharing the cores change much less.

    python benchmarks/bench_scenarios.py [--height 64 --width 64 --frames 32 --episodes 2 --rounds 3 --sim-hz 240]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

from scenarios import SCENARIOS, RenderSpec, generate_episode
from scenarios.engine import Scene
from scenarios.generate import generate_many
from toolkit.pool import default_workers


def raw_render_fps(name: str, spec: RenderSpec, n: int) -> tuple[float, float, int]:
    """Frames/s (wall clock, CPU time) of bare getCameraImage calls on the scenario's freshly built scene."""
    scenario = SCENARIOS[name]
    params = scenario.sample_params(np.random.default_rng(0))
    scene = Scene(spec)
    try:
        scenario.build(scene, params)
        view, proj = scenario.camera(params).matrices(spec)
        kw = dict(renderer=scene.bc.ER_TINY_RENDERER, **scene.look.light())
        scene.bc.getCameraImage(spec.width, spec.height, view, proj, **kw)  # warm-up
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(n):
            scene.bc.getCameraImage(spec.width, spec.height, view, proj, **kw)
        return n / (time.perf_counter() - t0), n / (time.process_time() - c0), scene.bc.getNumBodies()
    finally:
        scene.close()


def engine_fps(name: str, spec: RenderSpec, episodes: int, root: str, first_seed: int) -> tuple[float, float]:
    """Frames/s (wall clock, CPU time) of whole episodes, written to disk."""
    t0, c0 = time.perf_counter(), time.process_time()
    for seed in range(first_seed, first_seed + episodes):
        generate_episode(name, seed, spec).save(root)
    frames = episodes * spec.n_frames
    return frames / (time.perf_counter() - t0), frames / (time.process_time() - c0)


def load() -> str:
    return "load average %.2f %.2f %.2f on %d cores" % (*os.getloadavg(), os.cpu_count())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--height", type=int, default=64)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--sim-hz", type=int, default=RenderSpec.sim_hz,
                    help="physics steps per second (a what-if: episodes are made at the default)")
    ap.add_argument("--episodes", type=int, default=2, help="episodes per scenario and round (one worker)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating raw/engine rounds; the best of each counts")
    ap.add_argument("--scenario", nargs="+", default=list(SCENARIOS), help="scenarios (default: all)")
    ap.add_argument("--skip-scaling", action="store_true", help="only the per-scenario table")
    args = ap.parse_args()
    try:
        spec = RenderSpec(height=args.height, width=args.width, n_frames=args.frames, sim_hz=args.sim_hz)
    except ValueError as e:
        ap.error(str(e))
    print(f"{args.height}x{args.width}, {args.frames} frames, {args.sim_hz} Hz physics; {load()}")

    print(f"{'scenario':<22}{'bodies':>7}{'raw fps':>10}{'engine fps':>12}{'engine/raw':>12}{'cpu':>7}")
    ratios, cpu_ratios = {}, {}
    with tempfile.TemporaryDirectory() as root:
        for name in args.scenario:
            raw = eng = raw_cpu = eng_cpu = 0.0
            for r in range(args.rounds):  # different seeds each round: the best round is not a cache effect
                fps, cpu, bodies = raw_render_fps(name, spec, n=2 * args.frames)
                raw, raw_cpu = max(raw, fps), max(raw_cpu, cpu)
                fps, cpu = engine_fps(name, spec, args.episodes, root, first_seed=r * args.episodes)
                eng, eng_cpu = max(eng, fps), max(eng_cpu, cpu)
            ratios[name], cpu_ratios[name] = eng / raw, eng_cpu / raw_cpu
            print(f"{name:<22}{bodies:>7}{raw:>10.0f}{eng:>12.0f}{eng / raw:>12.2f}{eng_cpu / raw_cpu:>7.2f}", flush=True)
    for what, r in (("engine/raw", ratios), ("in CPU time", cpu_ratios)):
        worst = min(r, key=r.get)
        print(f"{what} over {len(r)} scenarios: mean {sum(r.values()) / len(r):.2f} (goal >= 0.75), "
              f"min {r[worst]:.2f} ({worst}; goal >= 0.5)")
    print(load())
    if args.skip_scaling:
        return

    workers = default_workers()
    names = args.scenario
    n = 4 * workers * len(names) // 2 or 4
    timings = {w: 0.0 for w in sorted({1, workers})}
    for _ in range(2):  # best of two rounds each, alternating
        for w in timings:
            with tempfile.TemporaryDirectory() as root:
                t0 = time.perf_counter()
                generate_many(root, names, n, seed=0, spec=spec, workers=w, progress=False)
                timings[w] = max(timings[w], n * spec.n_frames / (time.perf_counter() - t0))
    for w, fps in timings.items():
        print(f"generate_many, {w} worker(s): {fps:.0f} frames/s over {n} mixed episodes")
    if workers > 1:
        print(f"scaling: {timings[workers] / timings[1]:.2f}x on {workers} workers "
              f"({timings[workers] / timings[1] / workers:.0%} of linear; goal 1.8x on 2); {load()}")


if __name__ == "__main__":
    main()
