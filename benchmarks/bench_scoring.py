"""Scoring throughput of the whole metric suite against the time to merely load the same clips.

Clips: every registered scenario, a few seeds, 64x64, a 32-frame rollout after the context,
scored twice (the ground truth and a copy-last-frame rollout, which take different paths).
Load = read the episode folder and the rollout .npz from disk (what any scoring run must do);
score = tracker + every metric in the registry on the loaded clip. The truth's tracks and motion
masks are computed once per episode and reused for every rollout of it (as in `run`, where every
model is scored on the same episodes). Printed: clips/s of each, scoring rate over loading rate
(goal: at least 0.5) by wall clock and by CPU time (the process's own, steadier on a shared machine),
where the scoring time goes per metric group, and the bound that sharing the truth's half sets: each
clip scored again right after, its truth's half cached, costs the rollout's half alone.

    python benchmarks/bench_scoring.py [--seeds 2 --context 8 --frames 32]
"""
from __future__ import annotations

import argparse
import io
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

import scenarios
from physics_evals.metrics import METRICS, Clip
from physics_evals.metrics.common import tracks
from scenarios import RenderSpec, load_episode


def write_clips(root: Path, spec: RenderSpec, seeds: int, context: int) -> list[tuple[Path, Path]]:
    """(episode folder, rollout file) pairs: the truth itself and a copy of the last context frame."""
    pairs = []
    for name in scenarios.SCENARIOS:
        for seed in range(seeds):
            try:
                ep = scenarios.generate_episode(name, seed, spec)
            except ValueError:
                continue
            folder = ep.save(root / "episodes")
            for model, frames in (("truth", ep.rgb[context:]),
                                  ("copy_last", np.repeat(ep.rgb[context - 1:context], spec.n_frames - context, 0))):
                path = root / "rollouts" / model / f"{ep.episode_id}.npz"
                path.parent.mkdir(parents=True, exist_ok=True)
                buf = io.BytesIO()
                np.savez_compressed(buf, rgb=frames)
                path.write_bytes(buf.getvalue())
                pairs.append((folder, path))
    return pairs


def load(pair: tuple[Path, Path]):
    folder, rollout = pair
    with np.load(rollout) as z:
        return load_episode(folder), z["rgb"]


def score(clip: Clip, per_group: dict) -> None:
    """Every metric of the registry on one clip, the seconds of each part added to per_group."""
    t = time.perf_counter()
    tracks(clip)  # shared by every object metric; timed on its own
    per_group["tracker"] += time.perf_counter() - t
    for m in METRICS.values():
        t = time.perf_counter()
        m(clip)
        per_group[m.group] += time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=2, help="episodes per scenario")
    ap.add_argument("--context", type=int, default=8, help="context frames before the rollout")
    ap.add_argument("--frames", type=int, default=32, help="rollout frames scored")
    ap.add_argument("--size", type=int, default=64, help="height and width in pixels")
    args = ap.parse_args()
    spec = RenderSpec(height=args.size, width=args.size, fps=15, n_frames=args.context + args.frames)
    cv2.setNumThreads(1)  # as in each of `run`'s scoring processes (physics_evals.evaluate._init_worker)

    with tempfile.TemporaryDirectory() as tmp:
        pairs = write_clips(Path(tmp), spec, args.seeds, args.context)
        load(pairs[0])  # warm-up (imports, file cache)
        t0, c0 = time.perf_counter(), time.process_time()
        loaded = [load(p) for p in pairs]
        load_s, load_cpu = time.perf_counter() - t0, time.process_time() - c0

    per_group = defaultdict(float)
    score_s = score_cpu = rollout_cpu = 0.0
    for ep, pred in loaded:
        t0, c0 = time.perf_counter(), time.process_time()
        score(Clip(ep, args.context, pred), per_group)
        score_s, score_cpu = score_s + time.perf_counter() - t0, score_cpu + time.process_time() - c0
        c0 = time.process_time()  # again, the truth's half now in its caches: the rollout's half alone
        score(Clip(ep, args.context, pred), defaultdict(float))
        rollout_cpu += time.process_time() - c0

    n = len(loaded)
    print(f"{n} clips ({len(pairs) // 2} episodes x 2 rollouts), {args.size}x{args.size}, "
          f"{args.frames} rollout frames, {len(METRICS)} metrics")
    print(f"load  (episode + rollout from disk): {n / load_s:8.1f} clips/s")
    print(f"score (tracker + all metrics):       {n / score_s:8.1f} clips/s")
    print(f"scoring time / load time: {score_s / load_s:.2f}x; scoring rate / loading rate: {load_s / score_s:.2f} "
          f"(goal >= 0.5)")
    print(f"by CPU time: load {1000 * load_cpu / n:.1f} ms/clip, score {1000 * score_cpu / n:.1f} ms/clip; "
          f"scoring rate / loading rate: {load_cpu / score_cpu:.2f}")
    print("scoring time by part: " + ", ".join(f"{k} {v / score_s:.0%}" for k, v in per_group.items()))
    print(f"the rollout's half alone (the truth's tracks, masks and SSIM half cached, as when ever more models share "
          f"an episode): {1000 * rollout_cpu / n:.1f} ms/clip; scoring rate / loading rate at most "
          f"{load_cpu / rollout_cpu:.2f}")


if __name__ == "__main__":
    main()
