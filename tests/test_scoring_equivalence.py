"""The fast scoring paths give the values of the plain ones they replaced, bit for bit, on real episodes
(clean, degraded and frozen rollouts). The plain implementations live here only, as the reference:
benchmarks/bench_scoring.py measures what the fast ones save."""
import cv2
import numpy as np
import pytest

import scenarios
from physics_evals.metrics import METRICS, Clip
from physics_evals.metrics.pixels import ssim_frames
from physics_evals.nuisance import NUISANCES

SPEC = scenarios.RenderSpec(height=64, width=64, fps=15, n_frames=20)
CONTEXT = 6
CASES = [("free_fall", 1), ("pass_behind", 0), ("bite", 2), ("brush", 0), ("strike", 1)]


@pytest.fixture(scope="module")
def clips():
    """(episode, rollout frames) for the truth, two nuisances and a frozen video of each case."""
    out = []
    for name, seed in CASES:
        ep = scenarios.generate_episode(name, seed, SPEC)
        truth = ep.rgb[CONTEXT:]
        frozen = np.repeat(ep.rgb[CONTEXT - 1:CONTEXT], len(truth), axis=0)
        for frames in (truth, NUISANCES["jpeg50"].apply(truth, SPEC.fps), NUISANCES["blur1"].apply(truth, SPEC.fps),
                       frozen):
            out.append((ep, frames))
    return out


def ssim_reference(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM as first written: one plane (frame, channel) at a time, five blurs each."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    x = a.astype(np.float32).transpose(0, 3, 1, 2).reshape(-1, *a.shape[1:3])
    y = b.astype(np.float32).transpose(0, 3, 1, 2).reshape(-1, *b.shape[1:3])
    blur = lambda z: cv2.GaussianBlur(z, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)  # noqa: E731
    out = []
    for xi, yi in zip(x, y):
        mx, my = blur(xi), blur(yi)
        vx, vy, cxy = blur(xi * xi) - mx * mx, blur(yi * yi) - my * my, blur(xi * yi) - mx * my
        out.append(((2 * mx * my + c1) * (2 * cxy + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2))).mean())
    return float(np.mean(out))


def test_ssim_is_the_per_plane_ssim(clips):
    for ep, frames in clips:
        want = ssim_reference(frames, ep.rgb[CONTEXT:])
        assert ssim_frames(frames, ep.rgb[CONTEXT:]) == want
        # through the metric, whose reference half is cached per episode and reused by the next rollout
        assert METRICS["ssim"](Clip(ep, CONTEXT, frames)) == want
    ep, frames = clips[1]
    assert ssim_frames(frames, ep.rgb[CONTEXT:]) < 1.0  # a degraded clip is not the truth: the test can fail
