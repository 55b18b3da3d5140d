"""`python -m physics_evals export`: the conditioning pack for outside models.

    <out>/manifest.json                          every size, fps, context and horizon (frames and seconds),
                                                 episode ids, the prompt template and the resampling rule
    <out>/<task>/<episode_id>/switch_frame.png    the last context frame: an image-to-video model's input
    <out>/<task>/<episode_id>/context_00.png ...  the context frames, one PNG each (lossless)
    <out>/<task>/<episode_id>/context.mp4         the same frames as a video: H.264 (yuv420p) through PyAV,
                                                 mp4v through OpenCV where libx264 is missing
    <out>/<task>/<episode_id>/caption.txt         the caption
    <out>/<task>/<episode_id>/prompt.txt          the caption in PROMPT_TEMPLATE, for text-conditioned models

Like Physics-IQ's switch frames: the model sees the scene up to the switch frame and must continue it.
A user of any video model continues each context for `horizon` frames (or any length, size and
frame rate that covers the horizon's duration: the harness resamples by the manifest's rule) and writes
<rollouts>/<model>/<task>/<episode_id>.npz (rgb uint8 [T, H, W, 3], optional fps and pixel_format) or
.mp4, checks it
with `validate --manifest <out>/manifest.json`, and scores it with `run --models rollouts:<rollouts>`.
"""
from __future__ import annotations

import json
import sys
from math import gcd
from datetime import datetime, timezone
from pathlib import Path

from scenarios import load_episode
from toolkit.files import atomic_write_bytes, atomic_write_json, check_writable
from toolkit.provenance import versions

from . import options
from .episodes import ensure_episodes, select_tasks, usable_episodes
from .rollouts import RESAMPLING_RULE, RESAMPLING_VERSION, RolloutError, write_h264, write_mp4
from .tasks import Task

MANIFEST = "manifest.json"
# Neutral wording: it names the scene (the caption) and the camera, never what should happen next.
PROMPT_TEMPLATE = ("{caption} Static camera, continuous shot. The video continues the given frames for "
                   "{horizon_seconds:.2f} seconds at {fps} frames per second.")
CONTRACT = ("<rollouts>/<model>/<task>/<episode_id>.npz with rgb uint8 [horizon, height, width, 3] "
            "(frames decoded from a video add pixel_format, e.g. 'yuv420p'), or <episode_id>.mp4 at the "
            "task's fps; frame i is the frame right after context frame context_frames-1, plus i")


def export(tasks: list[Task], out: Path, episodes_root: Path, workers: int = 1, progress: bool = True,
           command: str = "") -> Path:
    """Write the pack for `tasks` under `out`; return the manifest path."""
    import cv2
    failed = ensure_episodes(tasks, episodes_root, workers, progress, warn=lambda m: print(m, file=sys.stderr))
    folders = usable_episodes(tasks, episodes_root, failed)
    manifest = {"schema_version": 1, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "versions": versions(), "command": command, "rollout_contract": CONTRACT,
                "prompt_template": PROMPT_TEMPLATE, "resampling_rule": RESAMPLING_RULE,
                "resampling_version": RESAMPLING_VERSION, "tasks": {}}
    for task in tasks:
        entries = []
        for folder in folders[task.name]:
            ep = load_episode(folder)
            ctx = ep.rgb[:task.context]  # (context, H, W, 3)
            rel = Path(task.name) / ep.episode_id
            pngs = []
            for i, frame in enumerate(ctx):
                ok, buf = cv2.imencode(".png", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
                atomic_write_bytes(out / rel / f"context_{i:02d}.png", buf.tobytes())
                pngs.append(str(rel / f"context_{i:02d}.png"))
                if i == task.context - 1:
                    atomic_write_bytes(out / rel / "switch_frame.png", buf.tobytes())
            codec = _write_video(out / rel / "context.mp4", ctx, task.fps)
            prompt = PROMPT_TEMPLATE.format(caption=_sentence(ep.caption), horizon_seconds=task.horizon / task.fps,
                                            fps=task.fps)
            atomic_write_bytes(out / rel / "caption.txt", (ep.caption + "\n").encode())
            atomic_write_bytes(out / rel / "prompt.txt", (prompt + "\n").encode())
            entries.append({"episode_id": ep.episode_id, "scenario": ep.scenario, "caption": ep.caption,
                            "prompt": prompt, "switch_frame": str(rel / "switch_frame.png"),
                            "context_pngs": pngs, "context_video": str(rel / "context.mp4"), "context_video_codec": codec,
                            "caption_file": str(rel / "caption.txt"), "prompt_file": str(rel / "prompt.txt")})
        g = gcd(task.width, task.height)
        manifest["tasks"][task.name] = {
            "family": task.family, "split": task.split, "version": task.version, "suite": task.suite,
            "look": task.look, "fps": task.fps, "height": task.height, "width": task.width,
            "aspect_ratio": f"{task.width // g}:{task.height // g}", "context_frames": task.context, "horizon": task.horizon,
            "context_seconds": round(task.context / task.fps, 6), "horizon_seconds": round(task.horizon / task.fps, 6),
            "switch_frame_index": task.context - 1, "switch_time_s": round((task.context - 1) / task.fps, 6),
            "n_episodes": len(entries), "episode_ids": [e["episode_id"] for e in entries], "episodes": entries}
    atomic_write_json(out / MANIFEST, manifest)
    return out / MANIFEST


def _sentence(text: str) -> str:
    """A caption as a sentence: capital first letter, full stop."""
    text = text.strip()
    return text[:1].upper() + text[1:].rstrip(".") + "." if text else text


def _write_video(path: Path, frames, fps: int) -> str:
    """The context as H.264 (what video models read) where PyAV has libx264, else mp4v; returns the codec."""
    try:
        write_h264(path, frames, fps, crf=17)  # crf 17: visually lossless, the context is the model's only view
        return "h264"
    except (ImportError, RolloutError, ValueError) as e:  # no PyAV/libx264 here, or an odd frame size
        print(f"note: {path}: H.264 not written ({type(e).__name__}: {e}); writing mp4v", file=sys.stderr)
        write_mp4(path, frames, fps)
        return "mp4v"


def add_arguments(p) -> None:
    options.add_task_options(p)
    p.add_argument("--out", type=Path, required=True, help="folder for the pack")
    options.add_episodes_root(p)
    options.add_workers(p, "processes generating episodes")


def main(args) -> int:
    tasks = select_tasks(args.suite, args.tasks, args.limit)
    check_writable(args.out, "pack folder (--out)")  # before any episode is made
    path = export(tasks, args.out, args.episodes_root, args.workers,
                  command=getattr(args, "command_line", ""))
    n = sum(t["n_episodes"] for t in json.loads(path.read_text())["tasks"].values())
    print(f"wrote {n} episodes of {len(tasks)} tasks to {args.out} (manifest: {path})")
    return 0
