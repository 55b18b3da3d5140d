"""HD suite generation throughput against raw TinyRenderer throughput at the same size, in the same run.

For each size of the hd suite (256x256 and 448x256) and each scenario: raw frames/s = bare
getCameraImage calls on that scenario's scene, dressed as the hd suite dresses it (textured floor and
wall, the studio light, shadows on), at the same size and camera; engine frames/s = whole episodes of
the hd suite's length (sampling, simulation, rendering, states, events, compressed write) on one
worker. engine/raw says what everything but drawing costs; raw without shadows says what the shadow
map costs (TinyRenderer draws the scene twice).

    python benchmarks/bench_hd.py [--scenarios free_fall,bite] [--episodes 1] [--raw-frames 24]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace

import numpy as np

from physics_evals.tasks import SUITES, suite_tasks
from scenarios import SCENARIOS, generate_episode
from scenarios.engine import Scene
from scenarios.look import add_backdrop


def raw_render_fps(name: str, spec, n: int, shadow: bool = True) -> float:
    """Frames/s of bare getCameraImage calls on the scenario's scene in the spec's look."""
    scenario = SCENARIOS[name]
    params = scenario.sample_params(np.random.default_rng(0))
    scene = Scene(spec)
    try:
        scenario.build(scene, params)
        camera = scenario.camera(params)
        view, proj = camera.matrices(spec)
        add_backdrop(scene, scene.bc, camera, view)
        kw = dict(renderer=scene.bc.ER_TINY_RENDERER, **scene.look.light())
        kw["shadow"] = int(shadow)
        scene.bc.getCameraImage(spec.width, spec.height, view, proj, **kw)  # warm-up
        t0 = time.perf_counter()
        for _ in range(n):
            scene.bc.getCameraImage(spec.width, spec.height, view, proj, **kw)
        return n / (time.perf_counter() - t0)
    finally:
        scene.close()


def engine_fps(name: str, spec, episodes: int, seed: int, root: str) -> float:
    t0 = time.perf_counter()
    for k in range(episodes):
        generate_episode(name, seed + k, spec).save(root)
    return episodes * spec.n_frames / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", default="", help="comma-separated scenario names (default: every hd task's)")
    ap.add_argument("--episodes", type=int, default=1, help="episodes per scenario and size")
    ap.add_argument("--raw-frames", type=int, default=24, help="bare renders per scenario and size")
    args = ap.parse_args()
    hd = SUITES["hd"]
    tasks = list(suite_tasks("hd").values())
    names = [s for s in args.scenarios.split(",") if s] or sorted({s for t in tasks for s in t.scenarios})
    sizes = sorted({(t.height, t.width) for t in tasks})
    print(f"hd suite: look {hd.look}, {hd.fps} fps, {hd.context + hd.horizon} frames per episode")
    print(f"{'size':<9}{'scenario':<18}{'raw fps':>9}{'raw, no shadow':>16}{'engine fps':>12}{'engine/raw':>12}")
    with tempfile.TemporaryDirectory() as root:
        for h, w in sizes:
            spec = replace(next(t for t in tasks if (t.height, t.width) == (h, w)).render_spec)
            ratios = []
            for name in names:
                raw = raw_render_fps(name, spec, args.raw_frames)
                flat = raw_render_fps(name, spec, args.raw_frames, shadow=False)
                eng = engine_fps(name, spec, args.episodes, 1_000_000, root)
                ratios.append(eng / raw)
                print(f"{w}x{h:<5}{name:<18}{raw:>9.1f}{flat:>16.1f}{eng:>12.1f}{eng / raw:>12.2f}")
            print(f"{w}x{h}: engine/raw mean {np.mean(ratios):.2f}, min {min(ratios):.2f}")


if __name__ == "__main__":
    main()
