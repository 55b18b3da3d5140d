"""One OpenCV operation on every frame of a clip, in a few calls: the frames as the channels of one image.

OpenCV filters each channel of an image on its own, so a filter, a morphological operation or a resize
of a (H, W, T) image is that of each (H, W) frame, in far fewer calls, each faster per pixel
(tests/test_scoring_equivalence.py checks the metrics that use it against their per-frame forms).
"""
from __future__ import annotations

import cv2
import numpy as np

CN_MAX = 128  # channels OpenCV takes in one image (CV_CN_MAX: 512 in OpenCV 4, 128 in 5)


def per_frame(op, frames: np.ndarray) -> np.ndarray:
    """op (an OpenCV filter or resize of one image) on each frame of frames (T >= 1, H, W[, C]) uint8,
    CN_MAX channels at a time. Bool frames go through as uint8 and come back bool. Only for integer
    images: OpenCV filters a float image with other rounding as the channel count changes."""
    if frames.dtype == bool:
        return per_frame(op, frames.view(np.uint8)).view(bool)
    T, H, W = frames.shape[:3]
    step, out = max(1, CN_MAX // frames[0][0, 0].size), None
    for t0 in range(0, T, step):
        chunk = np.ascontiguousarray(frames[t0:t0 + step])
        n = len(chunk)
        image = op(cv2.transpose(chunk.reshape(n, -1)).reshape(H, W, -1))  # channel c * n + t
        if out is None:
            out = np.empty((T, *image.shape[:2], *frames.shape[3:]), image.dtype)
        cv2.transpose(image.reshape(-1, n), out[t0:t0 + n].reshape(n, -1))
    return out
