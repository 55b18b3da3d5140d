"""Episode generation throughput against raw TinyRenderer throughput, measured in the same run.

For each scenario: raw frames/s = getCameraImage alone on that scenario's scene (same
resolution, same bodies, same camera); engine frames/s = whole episodes (sampling,
simulation, rendering, states, events, compressed write to disk) on one worker. The
ratio engine/raw says what the engine's own work costs (goal: >= 0.75 at 64x64). Then
all workers on a mixed batch, against one worker on the same batch: the scaling.

    python benchmarks/bench_scenarios.py [--height 64 --width 64 --frames 32 --episodes 6]
"""
from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from scenarios import SCENARIOS, RenderSpec, generate_episode
from scenarios.engine import Scene
from scenarios.generate import generate_many
from toolkit.pool import default_workers


def raw_render_fps(name: str, spec: RenderSpec, n: int) -> tuple[float, int]:
    """Frames/s of bare getCameraImage calls on the scenario's freshly built scene."""
    scenario = SCENARIOS[name]
    params = scenario.sample_params(np.random.default_rng(0))
    scene = Scene(spec)
    try:
        scenario.build(scene, params)
        view, proj = scenario.camera(params).matrices(spec)
        kw = dict(renderer=scene.bc.ER_TINY_RENDERER, shadow=0, lightDirection=(0.4, -0.6, 1.0),
                  lightAmbientCoeff=0.6, lightDiffuseCoeff=0.45, lightSpecularCoeff=0.0)
        scene.bc.getCameraImage(spec.width, spec.height, view, proj, **kw)  # warm-up
        t0 = time.perf_counter()
        for _ in range(n):
            scene.bc.getCameraImage(spec.width, spec.height, view, proj, **kw)
        return n / (time.perf_counter() - t0), scene.bc.getNumBodies()
    finally:
        scene.close()


def engine_fps(name: str, spec: RenderSpec, episodes: int, root: str) -> float:
    t0 = time.perf_counter()
    for seed in range(episodes):
        generate_episode(name, seed, spec).save(root)
    return episodes * spec.n_frames / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--height", type=int, default=64)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--episodes", type=int, default=4, help="episodes per scenario for the single-worker figure")
    args = ap.parse_args()
    spec = RenderSpec(height=args.height, width=args.width, n_frames=args.frames)

    print(f"{'scenario':<18}{'bodies':>7}{'raw fps':>10}{'engine fps':>12}{'engine/raw':>12}")
    ratios = []
    with tempfile.TemporaryDirectory() as root:
        for name in SCENARIOS:
            raw, bodies = raw_render_fps(name, spec, n=4 * args.frames)
            eng = engine_fps(name, spec, args.episodes, root)
            ratios.append(eng / raw)
            print(f"{name:<18}{bodies:>7}{raw:>10.0f}{eng:>12.0f}{eng / raw:>12.2f}")
    print(f"engine/raw over scenarios: mean {sum(ratios) / len(ratios):.2f}, min {min(ratios):.2f} (goal >= 0.75)")

    workers = default_workers()
    n = 4 * workers * len(SCENARIOS) // 2 or 4
    timings = {}
    for w in sorted({1, workers}):
        with tempfile.TemporaryDirectory() as root:
            t0 = time.perf_counter()
            generate_many(root, list(SCENARIOS), n, seed=0, spec=spec, workers=w, progress=False)
            timings[w] = n * spec.n_frames / (time.perf_counter() - t0)
    for w, fps in timings.items():
        print(f"generate_many, {w} worker(s): {fps:.0f} frames/s over {n} mixed episodes")
    if workers > 1:
        print(f"scaling: {timings[workers] / timings[1]:.2f}x on {workers} workers "
              f"({timings[workers] / timings[1] / workers:.0%} of linear)")


if __name__ == "__main__":
    main()
