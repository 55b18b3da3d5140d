"""Physics-IQ compatible motion-mask metrics and score (Motamed et al. 2025,
google-deepmind/physics-IQ-benchmark: binary_mask_generator.py, calculate_and_write_metrics_to_csv.py,
calculate_iq_score.py), reimplemented step for step:

- motion masks: grayscale, 5x5 Gaussian blur (sigma from the kernel size); a running-average
  background starting at the first frame, updated with alpha 0.3 *before* each comparison
  (cv2.accumulateWeighted), rounded to uint8 (cv2.convertScaleAbs); |frame - background| > 10;
  5x5 opening then closing; the first frame's mask is empty;
- spatial IoU: IoU of the masks max-projected over time (1 when both are empty);
- spatiotemporal IoU: IoU per frame (1 when both are empty), averaged over frames;
- weighted spatial IoU: sum(min) / sum(max) of the per-pixel fraction of frames in motion
  (1 when neither moves);
- MSE: per-frame mean squared error of frames scaled to [0, 1], averaged over frames;
- score: ((st / var_st + sp / var_sp + wsp / var_wsp) / 3 - (mse - var_mse)) * 100, clipped to
  0..100, where var_* are the same metrics between two physical takes (here: `resimulated` vs truth).

The one deliberate difference is resolution. The original makes its masks on full-size videos
(about 1080p), where the 5x5 opening is small next to any object, and then compares masks and
frames downsized 4x. At 64x64 the same opening erases every object under 5 px across, so every
motion mask is empty and every clip scores a perfect IoU. So, like the original, the masks are
made at a larger size and compared at a smaller one: frames are upscaled (nearest neighbour) by
`mask_scale` (so the short side is at least MASK_SIDE px; 1 for frames that large already),
masked exactly as published, and downsized back (linear, > 127, as the original reads its masks).
With scale 1 the functions below are the published algorithm unchanged.

The second difference is a low-pass before the masks, on the truth and the rollout alike: a Gaussian
of PREBLUR px at 64x64 (scaled with the frame). The masks threshold grey-level differences at 10, so
at 64x64 they trace single pixels of an edge, and what a codec, a resize or a mild blur does to a
real model's video moved them more than a wrong trajectory of a pixel does (truth through H.264 or a
1 px blur scored about 80 of 100). The published pipeline sees edges at about 1/1000 of the frame,
where those changes are below its resolution; the low-pass puts ours there too (the same truth then
scores about 90, and the ranking of real motion errors is unchanged: tests/test_physics_iq.py).

The third: a rollout delivered softer than the truth (rendered at a lower resolution, a soft upsampler,
defocus) has its truth's masks made at the same softness. The masks threshold grey-level contrast, and
a blur lowers the contrast of a 5 px object and of its fading trail in the running average, so a sharp
truth against a blurred but physically perfect rollout scored about 87 (a 1 px blur, or half size).
`delivery_blur` measures the softness on the static scenery alone (pixels still over the whole horizon
in both clips, next to an edge of the truth's), as the Gaussian that best turns the truth's scenery into
the rollout's; motion plays no part in it, so a wrong trajectory is not made to agree. It is used only
when the rollout is measurably softer (the best blur brings the scenery closer by MIN_GAIN grey
levels^2); noise, brightness and contrast measure 0, codecs and JPEG (which drop fine detail) 0 or at
most half a pixel. A sharp rollout (every built-in model, the ceiling, our reference) is compared with
the truth exactly as before. MSE is computed on the frames as given, as published.
Frames are RGB here
(the original converts from BGR: the same grey levels); the original reads masks back from MP4
files, which adds codec noise that these arrays do not have.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Mapping, Sequence

import cv2
import numpy as np

from ..framewise import per_frame
from .base import Clip, Metric

THRESHOLD = 10      # grey levels
ALPHA = 0.3         # running-average weight of the new frame
KERNEL = np.ones((5, 5), np.uint8)
MASK_SIDE = 256     # px: masks are made on frames upscaled until their short side is at least this
PREBLUR = 1.0       # px at 64x64 (scaled with the short side): Gaussian sigma on both clips before the masks
DELIVERY_SIGMAS = np.arange(0.0, 2.05, 0.1)  # px at 64x64: the softness delivery_blur can measure
MIN_GAIN = 4.0      # grey levels^2: how much closer the best blur must bring the static scenery (codecs,
                    # JPEG and noise reach at most about 2 on the default suite, a 0.5 px blur 20-60)


def mask_scale(height: int, width: int) -> int:
    return max(1, -(-MASK_SIDE // min(height, width)))


def preblur_sigma(height: int, width: int) -> float:
    return PREBLUR * min(height, width) / 64.0


def _grey(frames: np.ndarray) -> np.ndarray:
    T, H, W = frames.shape[:3]
    return cv2.cvtColor(np.ascontiguousarray(frames).reshape(T * H, W, 3), cv2.COLOR_RGB2GRAY).reshape(T, H, W)


def _still(grey: np.ndarray, spread: float) -> np.ndarray:
    """(H, W) bool: pixels whose grey level spans at most `spread` over the clip, away from the borders of
    such regions (erosion distributes over intersection, so each clip's side is eroded on its own)."""
    return cv2.erode((np.ptp(grey, 0) <= spread).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)


def truth_scenery(truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The truth's half of delivery_blur, the same for every rollout of an episode: the pixels where the
    softness is measured as far as the truth decides (still, within 2 px of an edge of its mean frame),
    and its mean frame blurred by each of DELIVERY_SIGMAS, (S, H, W)."""
    unit = min(truth.shape[1:3]) / 64.0
    grey = _grey(truth).astype(np.float32)
    mean = grey.mean(0)
    edges = cv2.morphologyEx(mean, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 8
    near_edges = cv2.dilate(edges.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    blurred = np.stack([cv2.GaussianBlur(mean, (0, 0), sigma) if sigma > 0 else mean
                        for sigma in DELIVERY_SIGMAS * unit])
    return _still(grey, 2) & near_edges, blurred


def delivery_blur(truth: np.ndarray, pred: np.ndarray, scenery: tuple | None = None) -> float:
    """How much softer the rollout is delivered than the truth: the sigma (px at this size) to add to the
    truth's low-pass before its masks, 0 for a rollout as sharp as the truth (see the module docstring).
    `scenery` is truth_scenery(truth), if known.

    Measured on the static scenery: pixels whose grey level stays within 2 over the truth's horizon and
    within 16 over the rollout's (codec flicker), away from their borders, and within 2 px of an edge of
    the truth's mean frame. The Gaussian among DELIVERY_SIGMAS that brings the truth's mean frame closest
    to the rollout's there (mean squared residual after the best gain and offset, so brightness, contrast
    and clipped highlights do not count) is the measured softness."""
    truth_where, blurred = truth_scenery(truth) if scenery is None else scenery
    grey = _grey(pred).astype(np.float32)
    where = truth_where & _still(grey, 16)
    if where.sum() < 16:
        return 0.0
    y = grey.mean(0)[where]
    y, x = y - y.mean(), blurred[:, where]
    x = x - x.mean(1, keepdims=True)  # each row (sigma) summed as on its own
    gains = (x * y).sum(1) / np.maximum((x * x).sum(1), np.float32(1e-9))  # sums, not BLAS dot products
    errors = np.mean((y - gains[:, None] * x) ** 2, 1).tolist()
    best = int(np.argmin(errors))
    unit = min(truth.shape[1:3]) / 64.0
    return float(DELIVERY_SIGMAS[best] * unit) if errors[0] - errors[best] >= MIN_GAIN else 0.0


def motion_masks(frames: np.ndarray, scale: int = 1, preblur: float = 0.0) -> np.ndarray:
    """(T, H, W, 3) uint8 RGB -> (T, H, W) bool motion masks, the first one empty; made on frames
    blurred by `preblur` px (0: not), upscaled `scale` times and downsized back. With the defaults
    this is the published algorithm unchanged.

    Only the part of the frame where a mask can be on goes through the upscaled steps; the result is
    the same, bit for bit (tests/test_scoring_equivalence.py). Why: after the grey conversion every value
    the algorithm compares (the nearest-upscaled, 5x5-blurred frame and its running average, each
    rounded) is a weighted average of the grey levels within `reach` px (at the input size) of the pixel
    over the clip; where those span at most THRESHOLD the difference never exceeds it, and such a pixel
    is off. The opening and closing change a pixel only from what lies within 6 upscaled px of it
    (and a missing neighbour matters only to an erosion, where an off pixel decides anyway). So the
    rectangle around the pixels that can be on, widened by `margin` px that cannot, is computed alone
    and everything outside it is off.
    """
    T, H, W = frames.shape[:3]
    if preblur > 0:
        frames = per_frame(lambda image: cv2.GaussianBlur(image, (0, 0), preblur), frames)
    gray = _grey(frames)
    reach, margin = -(-2 // scale), -(-6 // scale) + 1   # px at the input size: the 5x5 blur's, the morphology's
    box = np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)
    span = cv2.dilate(gray.max(0), box).astype(np.int16) - cv2.erode(gray.min(0), box)
    ys, xs = np.nonzero(span > THRESHOLD)
    masks = np.zeros((T, H, W), bool)
    if len(ys) and T > 1:
        y0, y1 = max(ys.min() - margin, 0), min(ys.max() + margin + 1, H)
        x0, x1 = max(xs.min() - margin, 0), min(xs.max() + margin + 1, W)
        masks[:, y0:y1, x0:x1] = _published_masks(np.ascontiguousarray(gray[:, y0:y1, x0:x1]), scale)
    return masks


def _published_masks(gray: np.ndarray, scale: int) -> np.ndarray:
    """The published steps on grey frames (T, h, w) uint8, upscaled `scale` times and downsized back. Every
    step but the running average is per frame, and runs on all frames at once (framewise.per_frame).

    The opening and closing run only where they can turn a pixel on: in the frames with a pixel over the
    threshold, in the rectangle around all such pixels, widened by 6 px and out to whole `scale` blocks
    (each block is downsized alone). Outside it every pixel is off, bit for bit: the result is within
    2 px of a pixel over the threshold. Inside it the result is the whole frame's: an erosion's missing
    neighbour at the rectangle's edge (on, to OpenCV) never decides, since the pixels within 2 px of that
    edge lie at least 4 px from any pixel over the threshold, and are off before both erosions."""
    T, H, W = gray.shape
    h, w = H * scale, W * scale

    def upscale_blur(g):
        if scale > 1:
            g = cv2.resize(g, (w, h), interpolation=cv2.INTER_NEAREST)
        return cv2.GaussianBlur(g, (5, 5), 0)

    def open_close(binary):
        binary = cv2.morphologyEx(binary, cv2.MORPH_OPEN, KERNEL)
        return cv2.morphologyEx(binary, cv2.MORPH_CLOSE, KERNEL)

    blurred = per_frame(upscale_blur, gray)      # (T, h, w)
    binary = np.zeros((T, h, w), np.uint8)        # the first frame's mask is empty
    avg = blurred[0].astype(np.float64)
    for t in range(1, T):
        cv2.accumulateWeighted(blurred[t], avg, ALPHA)
        cv2.threshold(cv2.absdiff(blurred[t], cv2.convertScaleAbs(avg)), THRESHOLD, 255, cv2.THRESH_BINARY,
                      dst=binary[t])
    masks = np.zeros((T, H, W), bool)
    frames = np.flatnonzero(binary.any(axis=(1, 2)))
    if not len(frames):
        return masks
    ys, xs = np.flatnonzero(binary.any(axis=(0, 2))), np.flatnonzero(binary.any(axis=(0, 1)))
    y0, x0 = max(ys[0] - 6, 0) // scale, max(xs[0] - 6, 0) // scale                  # in blocks
    y1, x1 = min(-(-(ys[-1] + 7) // scale), H), min(-(-(xs[-1] + 7) // scale), W)
    part = per_frame(open_close, binary[frames, y0 * scale:y1 * scale, x0 * scale:x1 * scale])
    if scale > 1:  # the frames one above another: each output row reads only its own `scale` rows
        n, ph, pw = part.shape
        part = cv2.resize(part.reshape(n * ph, pw), (pw // scale, n * ph // scale), interpolation=cv2.INTER_LINEAR)
    masks[frames, y0:y1, x0:x1] = part.reshape(len(frames), y1 - y0, x1 - x0) > 127
    return masks


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def spatial_iou(m1: np.ndarray, m2: np.ndarray) -> float:
    return _iou(m1.any(0), m2.any(0))


def spatiotemporal_iou(m1: np.ndarray, m2: np.ndarray) -> float:
    union, inter = (m1 | m2).sum((1, 2)), (m1 & m2).sum((1, 2))  # per frame: _iou's numbers, all at once
    return float(np.mean(np.where(union == 0, 1.0, inter / np.maximum(union, 1))))


def weighted_spatial_iou(m1: np.ndarray, m2: np.ndarray) -> float:
    w1, w2 = m1.mean(0), m2.mean(0)  # fraction of frames in motion per pixel
    union = np.maximum(w1, w2)
    return 1.0 if union.sum() == 0 else float(np.minimum(w1, w2).sum() / union.sum())


_UNIT = np.arange(256, dtype=np.float64) / 255.0
_UNIT_SQUARED_ERROR = (_UNIT[np.arange(65536) >> 8] - _UNIT[np.arange(65536) & 255]) ** 2  # by pair code (a << 8 | b)


def mse(f1: np.ndarray, f2: np.ndarray) -> float:
    """Mean over frames of the frame's mean squared error on [0, 1]. A table of the 65536 value pairs (by
    code f1 << 8 | f2) holds exactly the numbers that scaling, subtracting and squaring give, so the result
    is theirs; looked up a frame at a time (in cache)."""
    codes = ((f1.astype(np.uint16) << 8) | f2).reshape(len(f1), -1)
    sums = np.array([_UNIT_SQUARED_ERROR.take(c, mode="clip").sum() for c in codes])  # "clip": every code is in it
    return float((sums / codes.shape[1]).mean())


def _masks(clip: Clip) -> tuple[np.ndarray, np.ndarray]:
    """(truth's masks, rollout's masks), the truth's made as soft as the rollout is delivered."""
    k, s = mask_scale(*clip.pred.shape[1:3]), preblur_sigma(*clip.pred.shape[1:3])

    def compute():
        scenery = _per_truth(clip, ("scenery",), lambda: truth_scenery(clip.truth_rgb))
        sigma = float(np.hypot(s, delivery_blur(clip.truth_rgb, clip.pred, scenery)))
        return _per_truth(clip, ("masks", k, sigma), lambda: motion_masks(clip.truth_rgb, k, sigma)), \
            motion_masks(clip.pred, k, s)
    return clip.memo("motion_masks", compute)


_TRUTH_WORK: "OrderedDict[tuple, object]" = OrderedDict()  # every model of an episode reuses the truth's


def _per_truth(clip: Clip, what: tuple, compute):
    """compute(), cached per process by the truth's frames and `what` (its most recent 64 entries)."""
    key = (clip.truth_digest(), *what)
    if key not in _TRUTH_WORK:
        _TRUTH_WORK[key] = compute()
        if len(_TRUTH_WORK) > 64:
            _TRUTH_WORK.popitem(last=False)
    return _TRUTH_WORK[key]


PIQ_IOUS = ("piq_spatiotemporal_iou", "piq_spatial_iou", "piq_weighted_spatial_iou")
PIQ_KEYS = (*PIQ_IOUS, "piq_mse")  # the metrics the score is made of


def physics_iq_of_means(model_means: Mapping[str, np.ndarray], variance_means: Mapping[str, np.ndarray]) -> np.ndarray:
    """The Physics-IQ score (0..100) from the mean metric values, elementwise over arrays of means (one per
    bootstrap draw, say). NaN where a variance IoU is 0 (the ratio is undefined) or a mean is NaN."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = sum(np.asarray(model_means[k], np.float64) / np.where(variance_means[k] == 0, np.nan, variance_means[k])
                     for k in PIQ_IOUS)
        score = (ratios / 3 - (np.asarray(model_means["piq_mse"], np.float64) - variance_means["piq_mse"])) * 100
    return np.clip(score, 0.0, 100.0)


def physics_iq_score(model_values: Mapping[str, float | Sequence[float]],
                     variance_values: Mapping[str, float | Sequence[float]]) -> float:
    """The Physics-IQ score (0..100) from a model's metric values and the physical-variance values
    (the same metrics for a second physical take), each a number or per-clip values (averaged)."""
    def means(values):
        missing = [k for k in PIQ_KEYS if k not in values]
        if missing:
            raise ValueError(f"physics_iq_score needs '{missing[0]}' (got {', '.join(values) or 'nothing'})")
        return {k: np.nanmean(v) if (v := np.asarray(values[k], np.float64)).size else np.nan for k in PIQ_KEYS}
    model, variance = means(model_values), means(variance_values)
    if any(variance[k] == 0 for k in PIQ_IOUS):
        raise ZeroDivisionError("physics_iq_score: a physical-variance IoU of 0 leaves its ratio undefined")
    return float(physics_iq_of_means(model, variance))


METRICS = [
    Metric("piq_spatial_iou", "physics_iq", True, 1.0, 0.2, lambda c: spatial_iou(*_masks(c)), "IoU",
           description="Physics-IQ spatial IoU: where motion happens, over the whole horizon"),
    Metric("piq_spatiotemporal_iou", "physics_iq", True, 1.0, 0.2, lambda c: spatiotemporal_iou(*_masks(c)), "IoU",
           description="Physics-IQ spatiotemporal IoU: where and when motion happens, per frame"),
    Metric("piq_weighted_spatial_iou", "physics_iq", True, 1.0, 0.2, lambda c: weighted_spatial_iou(*_masks(c)),
           "IoU", description="Physics-IQ weighted spatial IoU: where and how much motion happens"),
    Metric("piq_mse", "physics_iq", False, 0.0, 0.01, lambda c: mse(c.truth_rgb, c.pred), "MSE [0,1]",
           description="Physics-IQ MSE of frames scaled to [0, 1]"),
]
