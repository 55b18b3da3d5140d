"""Scores do not depend on the processor's BLAS kernels: the metrics use no BLAS or LAPACK routine.

OpenBLAS picks its kernels by processor, and they round products differently (fused multiply-add or
not, another summation order), so a metric computed through a matrix product, a vector norm (a dot
product) or np.polyfit (LAPACK) moves in the last bits from one machine to the next, and a soft area or
a centroid with it. OPENBLAS_CORETYPE makes this machine use another processor's kernels: every metric
on the same frames must come out the same, bit for bit. (Where numpy is not built on OpenBLAS the
variable does nothing and the test holds trivially.)
"""
import json
import os
import subprocess
import sys

import numpy as np

import scenarios
from physics_evals.metrics import METRICS, Clip
from physics_evals.nuisance import NUISANCES

SPEC = scenarios.RenderSpec(height=64, width=64, fps=15, n_frames=20)
CONTEXT = 6
CASES = [("free_fall", 1), ("pass_behind", 0), ("bite", 2), ("brush", 0), ("bounce", 0)]
KERNEL = "Sandybridge"  # AVX without FMA; the machines here default to Haswell's (FMA) kernels

SCORE = """
import json, sys
import numpy as np
from scenarios import load_episode
from physics_evals.metrics import METRICS, Clip
out = []
for folder, pred, sub in json.loads(sys.argv[1]):
    ep = load_episode(folder)
    with np.load(pred) as z:
        clip = Clip(ep, int(sys.argv[2]), z["rgb"], subsampled_chroma=sub)
    out.append({m.name: m(clip) for m in METRICS.values()})
print(json.dumps(out))
"""


def test_metrics_are_the_same_under_another_processors_blas_kernels(tmp_path):
    jobs, want = [], []
    for name, seed in CASES:
        ep = scenarios.generate_episode(name, seed, SPEC)
        folder = ep.save(tmp_path / "episodes")
        truth = ep.rgb[CONTEXT:]
        # the truth, a JPEG (subsampled chroma: the tracker's unmixing) and a blur (delivery_blur's fit)
        for i, (frames, sub) in enumerate([(truth, False), (NUISANCES["jpeg50"].apply(truth, SPEC.fps), True),
                                           (NUISANCES["blur1"].apply(truth, SPEC.fps), False)]):
            path = tmp_path / f"{name}-{i}.npz"
            np.savez(path, rgb=frames)
            jobs.append((str(folder), str(path), sub))
            want.append({m.name: m(Clip(ep, CONTEXT, frames, subsampled_chroma=sub)) for m in METRICS.values()})
    env = dict(os.environ, OPENBLAS_CORETYPE=KERNEL)
    proc = subprocess.run([sys.executable, "-c", SCORE, json.dumps(jobs), str(CONTEXT)], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout)
    differ = [(job[1], m, w[m], g[m]) for job, w, g in zip(jobs, want, got) for m in w
              if not (w[m] == g[m] or (np.isnan(w[m]) and np.isnan(g[m])))]
    assert not differ, f"{len(differ)} values differ under {KERNEL}'s kernels, e.g. {differ[:3]}"
    assert sum(not np.isnan(v) for w in want for v in w.values()) > 200  # the metrics applied: the test can fail
