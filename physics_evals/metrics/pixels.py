"""Pixel fidelity: PSNR and SSIM. Reported next to the physics scores, never part of them."""
from __future__ import annotations

from collections import OrderedDict

import cv2
import numpy as np

from .base import Clip, Metric

PSNR_CAP = 100.0  # dB reported for identical clips (PSNR is infinite there)


def psnr(clip: Clip) -> float:
    """PSNR (dB, peak 255) of the whole horizon, capped at PSNR_CAP. The squared errors are integers
    (|pred - truth| in uint8, squared in uint16): their sum in uint64 over their count is bit for bit the
    float64 mean of the squares (which is exact too while the sum is below 2**53)."""
    a, b = clip.pred, clip.truth_rgb
    d = np.maximum(a, b) - np.minimum(a, b)
    err = int(np.square(d, dtype=np.uint16).sum(dtype=np.uint64)) / d.size
    return PSNR_CAP if err == 0 else float(min(PSNR_CAP, 10 * np.log10(255.0 ** 2 / err)))


C1, C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2  # SSIM's stabilisers (K1 0.01, K2 0.03, peak 255)
SSIM_CHUNK = 1 << 16  # float32 values per work array: SSIM's arithmetic runs on a few frames at a time, in cache


def _blur(z: np.ndarray, dst: np.ndarray | None = None) -> np.ndarray:
    """SSIM's 11x11 Gaussian window (sigma 1.5) over one (H, W, C) float32 frame."""
    return cv2.GaussianBlur(z, (11, 11), 1.5, dst=dst, borderType=cv2.BORDER_REFLECT)


def _blur_frames(z: np.ndarray, out: np.ndarray) -> np.ndarray:
    """_blur of each frame of z (T, H, W, C) into out, one OpenCV call per frame: frames batched into one
    image (stacked, or as channels) are not filtered with the same arithmetic at every size."""
    for zi, oi in zip(z, out):
        _blur(zi, oi)
    return out


def ssim_reference_stats(b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The half of SSIM that depends on the reference video b (T, H, W, C) uint8 alone, computed once per
    episode: the frames y, their local means my and local variances vy, each (T, H, W, C) float32."""
    y = b.astype(np.float32)
    my = _blur_frames(y, np.empty_like(y))
    vy = _blur_frames(y * y, np.empty_like(y))
    vy -= my * my
    return y, my, vy


def ssim_frames(a: np.ndarray, b: np.ndarray, b_stats: tuple | None = None) -> float:
    """Mean SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03, peak 255) over
    frames and channels of two (T, H, W, C) uint8 videos; b_stats: ssim_reference_stats(b) if known.
    float32 (2x faster than float64, 1e-6 apart). Each channel's mean is taken on its own, in
    frame-then-channel order, then their mean: the values of one plane (frame, channel) at a time."""
    b_stats = ssim_reference_stats(b) if b_stats is None else b_stats
    T, H, W, C = a.shape
    k = max(1, min(T, SSIM_CHUNK // (H * W * C)))  # frames per chunk
    work = np.empty((6, k, H, W, C), np.float32)  # reused by every chunk
    means = np.empty((T, C), np.float32)
    for s in range(0, T, k):
        e = min(s + k, T)
        means[s:e] = _ssim_means(a[s:e], [z[s:e] for z in b_stats], work[:, :e - s])
    return float(np.mean(means))


def _ssim_means(a: np.ndarray, b_stats: list[np.ndarray], work: np.ndarray) -> np.ndarray:
    """Each channel's mean SSIM (n, C) over n frames a (n, H, W, C) uint8, next to the same frames of
    ssim_reference_stats; work: (6, n, H, W, C) float32 scratch. The formula's operations, in its order,
    in place: the float32 values of the plain expression (2 (mx my) is (2 mx) my: doubling is exact)."""
    y, my, vy = b_stats
    x, t, mx, bxx, bxy, p = work
    np.copyto(x, a)
    _blur_frames(x, mx)
    _blur_frames(np.multiply(x, x, out=t), bxx)
    _blur_frames(np.multiply(x, y, out=t), bxy)
    np.multiply(mx, my, out=p)
    np.multiply(mx, mx, out=mx)
    bxx -= mx  # vx = blur(x x) - mx mx
    bxx += vy
    bxx += C2
    mx += np.multiply(my, my, out=t)
    mx += C1
    mx *= bxx  # the denominator (mx mx + my my + C1) (vx + vy + C2)
    bxy -= p  # cxy = blur(x y) - mx my
    bxy *= 2
    bxy += C2
    p *= 2
    p += C1
    p *= bxy  # the numerator (2 mx my + C1) (2 cxy + C2)
    np.divide(p, mx, out=p)
    n, H, W, C = p.shape
    planes = t.reshape(n, C, H, W)  # each plane's H * W values as one row, summed as numpy sums a plane
    np.copyto(planes, p.transpose(0, 3, 1, 2))
    return planes.mean(axis=(2, 3))


_TRUTH_STATS: OrderedDict[str, tuple] = OrderedDict()  # every model of an episode reuses the truth's half


def _ssim(clip: Clip) -> float:
    key = clip.truth_digest()
    if key not in _TRUTH_STATS:
        _TRUTH_STATS[key] = ssim_reference_stats(clip.truth_rgb)
        if len(_TRUTH_STATS) > 32:
            _TRUTH_STATS.popitem(last=False)
    return ssim_frames(clip.pred, clip.truth_rgb, _TRUTH_STATS[key])


METRICS = [
    Metric("psnr", "pixels", True, PSNR_CAP, 10.0, psnr, "dB",
           description=f"peak signal-to-noise ratio of the frames (capped at {PSNR_CAP:g} dB)"),
    Metric("ssim", "pixels", True, 1.0, 0.2, _ssim, "",
           description="structural similarity of the frames"),
]
