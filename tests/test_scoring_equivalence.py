"""The fast scoring paths give the values of the plain ones they replaced, bit for bit, on real episodes
(clean, degraded and frozen rollouts). The plain implementations live here only, as the reference:
benchmarks/bench_scoring.py measures what the fast ones save."""
import cv2
import numpy as np
import pytest

import scenarios
from physics_evals.metrics import METRICS, Clip, motion_masks
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


def motion_masks_reference(frames: np.ndarray, scale: int = 1, preblur: float = 0.0) -> np.ndarray:
    """Physics-IQ motion masks as first written: every whole frame through every upscaled step."""
    T, H, W = frames.shape[:3]
    if preblur > 0:
        frames = np.stack([cv2.GaussianBlur(np.ascontiguousarray(f), (0, 0), preblur) for f in frames])
    masks, avg, kernel = np.zeros((T, H, W), bool), None, np.ones((5, 5), np.uint8)
    for t, frame in enumerate(frames):
        frame = np.ascontiguousarray(frame)
        if scale > 1:
            frame = cv2.resize(frame, (W * scale, H * scale), interpolation=cv2.INTER_NEAREST)
        gray = cv2.GaussianBlur(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), (5, 5), 0)
        if avg is None:
            avg = gray.astype(np.float64)
            continue
        cv2.accumulateWeighted(gray, avg, 0.3)
        _, binary = cv2.threshold(cv2.absdiff(gray, cv2.convertScaleAbs(avg)), 10, 255, cv2.THRESH_BINARY)
        binary = cv2.morphologyEx(cv2.morphologyEx(binary, cv2.MORPH_OPEN, kernel), cv2.MORPH_CLOSE, kernel)
        if scale > 1:
            binary = cv2.resize(binary, (W, H), interpolation=cv2.INTER_LINEAR)
        masks[t] = binary > 127
    return masks


def _edge_cases() -> list[np.ndarray]:
    """Motion right at the image's edge, two movers far apart, faint flicker just under the threshold
    beside strong noise in one corner, and a clip with no motion at all."""
    rng = np.random.default_rng(0)
    out = []
    v = np.full((8, 40, 48, 3), 120, np.uint8)
    for t in range(8):
        v[t, 0:6, 3 * t:3 * t + 6] = 250                  # along the top edge
        v[t, 30 + t % 3:36 + t % 3, 40:48] = 10           # at the right edge, bobbing
    out.append(v)
    w = np.full((8, 40, 48, 3), 90, np.uint8)
    w += (rng.integers(0, 2, w.shape[:3]) * 9).astype(np.uint8)[..., None]   # flicker of 9 grey levels
    w[:, :8, :8] = rng.integers(0, 255, (8, 8, 8, 3), dtype=np.uint8)       # noise in one corner
    out.append(w)
    out.append(np.repeat(v[:1], 8, axis=0))
    return out


@pytest.mark.parametrize("scale, preblur", [(4, 1.0), (1, 0.0), (2, 0.5), (3, 0.0)])
def test_motion_masks_are_the_whole_frame_masks(clips, scale, preblur):
    on = 0
    for frames in [f for _, f in clips] + _edge_cases():
        want = motion_masks_reference(frames, scale, preblur)
        assert np.array_equal(motion_masks(frames, scale, preblur), want)
        on += want.sum()
    assert on > 0  # masks that are on somewhere: the comparison sees motion

