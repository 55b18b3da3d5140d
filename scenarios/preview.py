"""Pictures of an episode for a person: a contact sheet PNG and an animated GIF.

Each frame is shown as RGB next to the same frame with the segmentation laid over it
(each object in its own recorded colour), so a glance tells whether masks, objects and
events agree.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from .episode import Episode

SCALE = 3  # nearest-neighbour upscaling so 64x64 frames are readable


def overlay(ep: Episode, t: int) -> np.ndarray:
    """Frame t with each object's pixels tinted by its recorded colour and outlined. (H, W, 3) uint8."""
    rgb = ep.rgb[t].astype(np.float32)
    out = rgb * 0.35
    for o in ep.objects:
        m = ep.seg[t] == o["id"]
        out[m] = 0.35 * rgb[m] + 0.65 * np.asarray(o["rgb"], np.float32)
    return out.clip(0, 255).astype(np.uint8)


def panel(ep: Episode, t: int) -> np.ndarray:
    """RGB | overlay for frame t, upscaled, with the frame index and that frame's events written on it."""
    pair = np.concatenate([ep.rgb[t], overlay(ep, t)], axis=1)
    pair = cv2.resize(pair, None, fx=SCALE, fy=SCALE, interpolation=cv2.INTER_NEAREST)
    kinds = sorted({e["kind"] for e in ep.events if e["frame"] == t})
    label = f"{t}" + (" " + ",".join(kinds) if kinds else "")
    cv2.putText(pair, label, (3, 12), cv2.FONT_HERSHEY_PLAIN, 0.8, (0, 0, 0), 2, cv2.LINE_AA)
    cv2.putText(pair, label, (3, 12), cv2.FONT_HERSHEY_PLAIN, 0.8, (255, 255, 255), 1, cv2.LINE_AA)
    return pair


def contact_sheet(ep: Episode, columns: int = 4) -> np.ndarray:
    panels = [panel(ep, t) for t in range(ep.n_frames)]
    blank = np.full_like(panels[0], 255)
    panels += [blank] * (-len(panels) % columns)
    rows = [np.concatenate(panels[i:i + columns], axis=1) for i in range(0, len(panels), columns)]
    sheet = np.concatenate(rows, axis=0)
    caption = np.full((22, sheet.shape[1], 3), 255, np.uint8)
    cv2.putText(caption, ep.caption[:140], (4, 15), cv2.FONT_HERSHEY_PLAIN, 1.0, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([caption, sheet], axis=0)


def write_preview(ep: Episode, out_dir: str | Path) -> tuple[Path, Path]:
    """Write <episode_id>.png (contact sheet) and <episode_id>.gif (animation) into out_dir."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    png, gif = out_dir / f"{ep.episode_id}.png", out_dir / f"{ep.episode_id}.gif"
    Image.fromarray(contact_sheet(ep)).save(png)
    frames = [Image.fromarray(panel(ep, t)) for t in range(ep.n_frames)]
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=int(1000 / ep.fps), loop=0)
    return png, gif
