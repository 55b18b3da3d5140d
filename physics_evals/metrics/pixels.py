"""Pixel fidelity: PSNR and SSIM. Reported next to the physics scores, never part of them."""
from __future__ import annotations

from collections import OrderedDict

import cv2
import numpy as np

from .base import Clip, Metric

PSNR_CAP = 100.0  # dB reported for identical clips (PSNR is infinite there)


_SQUARED_ERROR = ((np.arange(65536) >> 8) - (np.arange(65536) & 255)).astype(np.float64) ** 2  # by pair code


def psnr(clip: Clip) -> float:
    """PSNR (dB, peak 255) of the whole horizon, capped at PSNR_CAP. The squared errors come from a table
    of the 65536 value pairs: the same float64 numbers as subtracting and squaring, summed alike."""
    err = np.mean(_SQUARED_ERROR[clip.pair_codes()])
    return PSNR_CAP if err == 0 else float(min(PSNR_CAP, 10 * np.log10(255.0 ** 2 / err)))


C1, C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2  # SSIM's stabilisers (K1 0.01, K2 0.03, peak 255)


def _blur(z: np.ndarray) -> np.ndarray:
    """SSIM's 11x11 Gaussian window (sigma 1.5) over one (H, W, C) float32 frame."""
    return cv2.GaussianBlur(z, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)


def ssim_reference_stats(b: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per frame of the reference video b (T, H, W, C) uint8: (frame, local mean, local mean of squares)
    in float32: the half of SSIM that depends on the reference alone, computed once per episode."""
    out = []
    for yi in b.astype(np.float32):
        out.append((yi, _blur(yi), _blur(yi * yi)))
    return out


def ssim_frames(a: np.ndarray, b: np.ndarray, b_stats: list | None = None) -> float:
    """Mean SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03, peak 255) over
    frames and channels of two (T, H, W, C) uint8 videos; b_stats: ssim_reference_stats(b) if known.
    float32 (2x faster than float64, 1e-6 apart). A frame's channels are blurred together (one OpenCV
    call per quantity and frame: the per-pixel arithmetic is the per-channel one, the values are
    identical) and each channel's mean is taken on its own, in frame-then-channel order."""
    b_stats = ssim_reference_stats(b) if b_stats is None else b_stats
    out = []
    for xi, (yi, my, byy) in zip(a.astype(np.float32), b_stats):
        mx = _blur(xi)
        vx, vy, cxy = _blur(xi * xi) - mx * mx, byy - my * my, _blur(xi * yi) - mx * my
        m = (2 * mx * my + C1) * (2 * cxy + C2) / ((mx * mx + my * my + C1) * (vx + vy + C2))
        out.extend(np.ascontiguousarray(np.moveaxis(m, -1, 0)).mean(axis=(1, 2)))  # each channel's own mean
    return float(np.mean(out))


_TRUTH_STATS: "OrderedDict[str, list]" = OrderedDict()  # every model of an episode reuses the truth's half


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
