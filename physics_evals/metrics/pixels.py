"""Pixel fidelity: PSNR and SSIM. Reported next to the physics scores, never part of them."""
from __future__ import annotations

import cv2
import numpy as np

from .base import Clip, Metric

PSNR_CAP = 100.0  # dB reported for identical clips (PSNR is infinite there)


def psnr(clip: Clip) -> float:
    """PSNR (dB, peak 255) of the whole horizon, capped at PSNR_CAP."""
    err = np.mean((clip.pred.astype(np.float64) - clip.truth_rgb.astype(np.float64)) ** 2)
    return PSNR_CAP if err == 0 else float(min(PSNR_CAP, 10 * np.log10(255.0 ** 2 / err)))


def ssim_frames(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03, peak 255) over
    frames and channels of two (T, H, W, C) uint8 videos."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    x = a.astype(np.float32).transpose(0, 3, 1, 2).reshape(-1, *a.shape[1:3])  # (T*C, H, W); float32: 2x faster, 1e-6 apart
    y = b.astype(np.float32).transpose(0, 3, 1, 2).reshape(-1, *b.shape[1:3])
    blur = lambda z: cv2.GaussianBlur(z, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)  # noqa: E731
    out = []
    for xi, yi in zip(x, y):  # one plane at a time: OpenCV's blur is fastest on single channels
        mx, my = blur(xi), blur(yi)
        vx, vy, cxy = blur(xi * xi) - mx * mx, blur(yi * yi) - my * my, blur(xi * yi) - mx * my
        out.append(((2 * mx * my + c1) * (2 * cxy + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2))).mean())
    return float(np.mean(out))


METRICS = [
    Metric("psnr", "pixels", True, PSNR_CAP, 10.0, psnr, "dB",
           description=f"peak signal-to-noise ratio of the frames (capped at {PSNR_CAP:g} dB)"),
    Metric("ssim", "pixels", True, 1.0, 0.2, lambda c: ssim_frames(c.pred, c.truth_rgb), "",
           description="structural similarity of the frames"),
]
