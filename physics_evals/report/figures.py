"""Figures of the reports as PNG/GIF bytes: summary bars, the family breakdown, rollout strips.

matplotlib runs headless (Agg). Rollout media are tiny (64x64 frames): strips and GIFs stay
at native size and the page scales them up with `image-rendering: pixelated`.
"""
from __future__ import annotations

import io
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from .load import GROUPS, role_of  # noqa: E402

ROLE_COLOURS = {"ceiling": "#2b8a3e", "floor": "#868e96", "": "#1c7ed6"}
GROUP_COLOURS = {"overall": "#212529", "permanence": "#1c7ed6", "plausibility": "#f08c00", "physics_iq": "#ae3ec9"}
MAX_STRIP_FRAMES = 8  # frames shown in a strip, spread evenly over the horizon
GAP = 2               # pixels between frames and rows
SEPARATOR = 40        # grey level of the gaps, dark so white skies keep their frame edges


def png_bytes(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _err(points: dict, cis: dict, model: str, group: str) -> tuple[float, float, float]:
    """(value, minus, plus) for an error bar; zeros where there is no interval."""
    v = points.get(model, {}).get(group)
    if v is None or math.isnan(v):
        return math.nan, 0.0, 0.0
    lo, hi = cis.get(model, {}).get(group, (v, v))
    return v, max(0.0, v - lo), max(0.0, hi - v)


def summary_bars(models: list[str], points: dict, cis: dict) -> bytes:
    """Grouped bars: per model, its four summary scores with 95% CI error bars."""
    models = [m for m in models if points.get(m, {}).get("overall") is not None]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(models) + 2), 3.6))
    width = 0.8 / len(GROUPS)
    x = np.arange(len(models))
    for i, g in enumerate(GROUPS):
        vals = [_err(points, cis, m, g) for m in models]
        ax.bar(x + (i - (len(GROUPS) - 1) / 2) * width, [v[0] for v in vals], width,
               yerr=np.array([[v[1] for v in vals], [v[2] for v in vals]]), capsize=2,
               color=GROUP_COLOURS[g], label=g, error_kw={"elinewidth": 0.8})
    ax.set_xticks(x, [f"{m}\n({role_of(m)})" if role_of(m) else m for m in models], fontsize=8)
    ax.set_ylim(0, 105)
    ax.set_ylabel("score (0..100)")
    ax.set_title("Summary scores with 95% CIs")
    ax.legend(ncol=len(GROUPS), fontsize=8, loc="upper right", bbox_to_anchor=(1, 1.0))
    ax.grid(axis="y", alpha=0.3)
    return png_bytes(fig)


def family_breakdown(models: list[str], families: list[str], family_points: dict, family_cis: dict) -> bytes | None:
    """One panel per family: each model's overall score over that family's tasks, with CIs."""
    if not families or not any(family_points.get(f) for f in families):
        return None
    fig, axes = plt.subplots(1, len(families), figsize=(3.2 * len(families), 3.2), sharey=True, squeeze=False)
    for ax, family in zip(axes[0], families):
        pts, cis = family_points.get(family, {}), family_cis.get(family, {})
        shown = [m for m in models if pts.get(m, {}).get("overall") is not None]
        vals = [_err(pts, cis, m, "overall") for m in shown]
        y = np.arange(len(shown))
        ax.barh(y, [v[0] for v in vals], xerr=np.array([[v[1] for v in vals], [v[2] for v in vals]]),
                color=[ROLE_COLOURS[role_of(m)] for m in shown], capsize=2)
        ax.set_yticks(y, shown, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlim(0, 105)
        ax.set_title(family, fontsize=10)
        ax.set_xlabel("overall (0..100)", fontsize=8)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle("Overall score per family (green: ceiling, grey: floors)", fontsize=10)
    fig.tight_layout()
    return png_bytes(fig)


# ------------------------------------------------------------------------------------
# Rollouts next to the truth
def _fit(frames: np.ndarray, h: int, w: int) -> np.ndarray:
    """Frames resized (nearest) to h x w so a rollout at another resolution still lines up."""
    if frames.shape[1:3] == (h, w):
        return frames
    return np.stack([np.asarray(Image.fromarray(f).resize((w, h), Image.NEAREST)) for f in frames])


def strip(truth: np.ndarray, pred: np.ndarray, context_frame: np.ndarray | None = None) -> bytes:
    """PNG: the truth (top row) and the rollout (bottom row) at up to 8 evenly spread frames.

    The first column is the last context frame (the same in both rows) when given.
    """
    t = min(len(truth), len(pred))
    h, w = truth.shape[1:3]
    pred = _fit(pred[:t], h, w)
    idx = np.unique(np.linspace(0, t - 1, min(MAX_STRIP_FRAMES, t)).round().astype(int))
    cols = ([context_frame] if context_frame is not None else []) + [None] * len(idx)
    n = len(cols)
    canvas = np.full((2 * h + GAP, n * w + (n - 1) * GAP, 3), SEPARATOR, np.uint8)
    for c in range(n):
        x = c * (w + GAP)
        if context_frame is not None and c == 0:
            canvas[:h, x:x + w] = context_frame
            canvas[h + GAP:, x:x + w] = context_frame
            continue
        i = idx[c - (context_frame is not None)]
        canvas[:h, x:x + w] = truth[i]
        canvas[h + GAP:, x:x + w] = pred[i]
    buf = io.BytesIO()
    Image.fromarray(canvas).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def side_by_side_gif(truth: np.ndarray, pred: np.ndarray, fps: float) -> bytes:
    """Animated GIF, truth on the left and the rollout on the right, looping."""
    t = min(len(truth), len(pred))
    h, w = truth.shape[1:3]
    pred = _fit(pred[:t], h, w)
    frames = []
    for i in range(t):
        canvas = np.full((h, 2 * w + GAP, 3), SEPARATOR, np.uint8)
        canvas[:, :w], canvas[:, w + GAP:] = truth[i], pred[i]
        frames.append(Image.fromarray(canvas))
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:],
                   duration=max(20, int(1000 / max(fps, 1))), loop=0)
    return buf.getvalue()
