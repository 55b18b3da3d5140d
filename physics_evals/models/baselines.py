"""Built-in models that bracket every real one: ceilings (truth, a second physical take) and floors."""
from __future__ import annotations

import numpy as np

from .base import Adapter


class GroundTruth(Adapter):
    name = "ground_truth"
    source = "the episode's own frames after the context"

    def rollout(self, context_frames, caption, task, episode=None):
        return episode.rgb[task.context:task.context + task.horizon].copy()


# Parameters that set the camera, not the physics: the second take keeps the same view.
_CAMERA_PREFIX = "cam_"


def perturb_params(params: dict, rng: np.random.Generator, rel: float) -> dict:
    """Every continuous physical parameter (floats, also inside lists) times (1 + rel * N(0, 1))."""
    def jitter(v):
        if isinstance(v, float):
            return v * (1.0 + rel * float(rng.standard_normal()))
        if isinstance(v, list) and v and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
            return [float(x) * (1.0 + rel * float(rng.standard_normal())) if isinstance(x, float) else x for x in v]
        return v
    return {k: (v if k.startswith(_CAMERA_PREFIX) else jitter(v)) for k, v in params.items()}


class Resimulated(Adapter):
    """The episode simulated again with its parameters nudged by a relative `rel` (default 1e-3):
    a second take of the same scene, whose distance from the truth is the physical variance."""
    name = "resimulated"
    source = "the episode re-simulated with relative 1e-3 noise on its continuous parameters"

    def __init__(self, seed: int = 0, rel: float = 1e-3):
        self.seed, self.rel = seed, rel

    def rollout(self, context_frames, caption, task, episode=None):
        from scenarios import generate_episode
        rng = np.random.default_rng([self.seed, int(episode.meta["seed"])])
        params = perturb_params(episode.meta["params"], rng, self.rel)
        take = generate_episode(episode.scenario, int(episode.meta["seed"]), task.render_spec, params=params)
        return take.rgb[task.context:task.context + task.horizon]

    def fingerprint(self, task):
        return f"{super().fingerprint(task)}/seed{self.seed}/rel{self.rel:g}"


class CopyLastFrame(Adapter):
    name = "copy_last_frame"
    source = "repeats the last context frame (nothing moves)"

    def rollout(self, context_frames, caption, task, episode=None):
        return np.repeat(context_frames[-1:], task.horizon, axis=0)


class LinearExtrapolation(Adapter):
    """Dense optical flow (Farneback) between the last two context frames, continued at constant
    velocity: every pixel of the last frame moves k times its velocity by frame k after the context
    (forward splatting, fast movers drawn last), and the places nothing lands on are inpainted."""
    name = "linear_extrapolation"
    source = "Farneback optical flow between the last two context frames, extrapolated linearly"

    def rollout(self, context_frames, caption, task, episode=None):
        import cv2
        prev, last = (cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY) for f in context_frames[-2:])
        # flow from the last frame back to the previous one, so it lives at the last frame's pixels
        back = cv2.calcOpticalFlowFarneback(last, prev, None, pyr_scale=0.5, levels=2, winsize=9,
                                            iterations=3, poly_n=5, poly_sigma=1.1, flags=0)  # (H, W, 2)
        vel = -back                                                        # (H, W, 2) px/frame, (dx, dy)
        h, w = last.shape
        ys, xs = np.mgrid[0:h, 0:w]
        order = np.argsort(np.hypot(vel[..., 0], vel[..., 1]), axis=None)  # slow first, fast movers on top
        src = context_frames[-1].reshape(-1, 3)[order]                     # (H*W, 3)
        out = np.empty((task.horizon, h, w, 3), np.uint8)
        for k in range(1, task.horizon + 1):
            dx = np.rint(xs.ravel()[order] + k * vel[..., 0].ravel()[order]).astype(np.int64)
            dy = np.rint(ys.ravel()[order] + k * vel[..., 1].ravel()[order]).astype(np.int64)
            keep = (dx >= 0) & (dx < w) & (dy >= 0) & (dy < h)
            frame = np.zeros((h, w, 3), np.uint8)
            filled = np.zeros((h, w), np.uint8)
            frame[dy[keep], dx[keep]] = src[keep]  # later (faster) pixels overwrite earlier ones
            filled[dy[keep], dx[keep]] = 1
            out[k - 1] = cv2.inpaint(frame, 1 - filled, 3, cv2.INPAINT_TELEA) if not filled.all() else frame
        return out
