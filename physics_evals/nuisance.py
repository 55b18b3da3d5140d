"""Nuisances: what real video does to frames without changing the physics in them.

A real model hands in lossy, resampled frames: a video codec (mp4v, H.264 with 4:2:0 chroma at a
few bit rates), JPEG, another resolution brought back by the harness's own resampling rule, a mild
blur, a small brightness or white-balance drift, sensor noise. Each `Nuisance` maps the truth's
horizon frames (T, H, W, 3) uint8 to degraded frames of the same shape; the invariance probes
(`invariance_report`) score degraded truth exactly as `run` scores a model and say how far each
metric moved. A metric that punishes these as physics errors misjudges every real model.

Every nuisance is deterministic (noise is seeded), so probe results are reproducible.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np


@dataclass(frozen=True)
class Nuisance:
    name: str
    description: str
    apply: Callable[[np.ndarray, float], np.ndarray]   # (frames (T, H, W, 3) uint8, fps) -> same shape
    subsampled_chroma: bool = False  # stores colour at half resolution (4:2:0), as the file would say


def _roundtrip(frames: np.ndarray, fps: float, write) -> np.ndarray:
    from .rollouts import read_video
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        write(path, frames, fps)
        out = read_video(path)[0]
    if out.shape != frames.shape:
        raise RuntimeError(f"codec round trip changed the shape {frames.shape} -> {out.shape}")
    return out


def mp4v(frames: np.ndarray, fps: float) -> np.ndarray:
    """OpenCV's mp4v (MPEG-4 part 2) at its default quality: what `write_mp4` (and export) writes."""
    from .rollouts import write_mp4
    return _roundtrip(frames, fps, write_mp4)


def h264(bits_per_pixel: float) -> Callable[[np.ndarray, float], np.ndarray]:
    """H.264 (libx264, yuv420p) at a bit rate of bits_per_pixel per pixel per frame: the rate scales
    with the frame size, so the same setting is as lossy at 64x64 as at 256x256."""
    from .rollouts import write_h264

    def apply(frames, fps):
        rate = bits_per_pixel * frames.shape[1] * frames.shape[2] * fps
        return _roundtrip(frames, fps, lambda p, f, r: write_h264(p, f, r, bit_rate=int(rate)))
    return apply


def jpeg(quality: int) -> Callable[[np.ndarray, float], np.ndarray]:
    """Each frame through JPEG (OpenCV/libjpeg, 4:2:0 chroma) at this quality."""
    def apply(frames, fps):
        out = np.empty_like(frames)
        for t, f in enumerate(frames):
            ok, buf = cv2.imencode(".jpg", cv2.cvtColor(f, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
            out[t] = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        return out
    return apply


def rescaled(factor: float) -> Callable[[np.ndarray, float], np.ndarray]:
    """A model that renders at `factor` times the task's size: the truth resized there (area when
    shrinking, bicubic when enlarging, as a generator's own upsampler would be smooth), then brought
    back by the harness's resampling rule (rollouts.resample)."""
    def apply(frames, fps):
        H, W = frames.shape[1:3]
        h, w = max(2, round(H * factor)), max(2, round(W * factor))
        flag = cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
        return _by_the_rule(np.stack([cv2.resize(f, (w, h), interpolation=flag) for f in frames]), None, frames, fps)
    return apply


def fewer_frames(divisor: int) -> Callable[[np.ndarray, float], np.ndarray]:
    """A model at 1/divisor of the task's frame rate: every divisor-th true frame (exact instants), brought
    back onto the task's grid by the harness's resampling rule (frames by timestamp: each is held until the
    next one is nearer)."""
    def apply(frames, fps):
        keep = np.arange(0, len(frames), divisor)
        return _by_the_rule(frames[keep], keep / fps, frames, fps)
    return apply


def _by_the_rule(other: np.ndarray, times: np.ndarray | None, like: np.ndarray, fps: float) -> np.ndarray:
    """`other` (its own size; frames at `times` seconds, None: at fps) brought onto the grid of `like` (T, H, W, 3)
    at fps by the harness's resampling rule (rollouts.resample), as a model's video would be."""
    from types import SimpleNamespace

    from .rollouts import resample
    T, H, W = like.shape[:3]
    return resample(other, times, SimpleNamespace(name="nuisance", horizon=T, height=H, width=W, fps=fps), "nuisance")


def blur(sigma: float) -> Callable[[np.ndarray, float], np.ndarray]:
    """Gaussian blur of `sigma` px (defocus, a soft upsampler)."""
    return lambda frames, fps: np.stack([cv2.GaussianBlur(f, (0, 0), sigma) for f in frames])


def gain(rgb: tuple[float, float, float]) -> Callable[[np.ndarray, float], np.ndarray]:
    """Per-channel gains: brightness (all equal) or a white-balance / colour drift."""
    g = np.asarray(rgb, np.float32)
    return lambda frames, fps: np.clip(np.rint(frames.astype(np.float32) * g), 0, 255).astype(np.uint8)


def noise(sigma: float, seed: int = 0) -> Callable[[np.ndarray, float], np.ndarray]:
    """Additive Gaussian sensor noise of `sigma` grey levels per channel, seeded."""
    def apply(frames, fps):
        n = np.random.default_rng(seed).normal(0.0, sigma, frames.shape).astype(np.float32)
        return np.clip(np.rint(frames.astype(np.float32) + n), 0, 255).astype(np.uint8)
    return apply


NUISANCES: dict[str, Nuisance] = {n.name: n for n in [
    Nuisance("mp4v", "OpenCV mp4v (MPEG-4 part 2), default quality", mp4v, True),
    Nuisance("h264_high", "H.264 yuv420p at 1 bit/pixel/frame (about 60 kbit/s at 64x64, 15 fps)", h264(1.0), True),
    Nuisance("h264_mid", "H.264 yuv420p at 0.5 bit/pixel/frame", h264(0.5), True),
    Nuisance("h264_low", "H.264 yuv420p at 0.25 bit/pixel/frame", h264(0.25), True),
    Nuisance("jpeg75", "JPEG quality 75 per frame", jpeg(75), True),
    Nuisance("jpeg50", "JPEG quality 50 per frame", jpeg(50), True),
    Nuisance("half_res", "rendered at half size, enlarged by the harness (bilinear)", rescaled(0.5)),
    Nuisance("double_res", "rendered at double size (bicubic), shrunk by the harness (area)", rescaled(2.0)),
    Nuisance("blur0.5", "Gaussian blur, sigma 0.5 px", blur(0.5)),
    Nuisance("blur1", "Gaussian blur, sigma 1 px", blur(1.0)),
    Nuisance("brighter", "brightness +6%", gain((1.06, 1.06, 1.06))),
    Nuisance("darker", "brightness -6%", gain((0.94, 0.94, 0.94))),
    Nuisance("colour_drift", "white balance drift: red +5%, blue -5%", gain((1.05, 1.0, 0.95))),
    Nuisance("noise", "Gaussian sensor noise, sigma 4 grey levels", noise(4.0)),
]}

# Deliveries that drop information rather than disguise it: probed and reported beside the nuisances, but
# held to no target. At half the frame rate the motion between two frames is not in the video at all, and
# the harness can only hold a frame (as its rule does) or make frames the model did not (blending and
# motion-compensated interpolation were tried: README).
NO_TARGET: dict[str, Nuisance] = {n.name: n for n in [
    Nuisance("half_fps", "half the task's frame rate (every other true frame), each held by the harness's rule",
             fewer_frames(2)),
]}
PROBED = {**NUISANCES, **NO_TARGET}  # what the invariance probes run, in this order
