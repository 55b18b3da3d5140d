"""`python -m physics_evals export`: the conditioning pack for outside models.

    <out>/manifest.json                          tasks, episode ids, fps, resolution, context, horizon
    <out>/<task>/<episode_id>/context_00.png ...  the context frames, one PNG each
    <out>/<task>/<episode_id>/context.mp4         the same frames as a video
    <out>/<task>/<episode_id>/caption.txt         the caption

A user of any video model continues each context for `horizon` frames and writes
<rollouts>/<model>/<task>/<episode_id>.npz (rgb uint8 [horizon, height, width, 3]) or .mp4,
checks it with `validate --manifest <out>/manifest.json`, and scores it with
`run --models rollouts:<rollouts>`.
"""
from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path

from scenarios import load_episode
from toolkit.files import atomic_write_bytes, atomic_write_json, check_writable
from toolkit.provenance import versions

from . import options
from .episodes import ensure_episodes, select_tasks, usable_episodes
from .rollouts import write_mp4
from .tasks import Task

MANIFEST = "manifest.json"
CONTRACT = ("<rollouts>/<model>/<task>/<episode_id>.npz with rgb uint8 [horizon, height, width, 3], "
            "or <episode_id>.mp4 at the task's fps; frame i is the frame right after context frame "
            "context_frames-1, plus i")


def export(tasks: list[Task], out: Path, episodes_root: Path, workers: int = 1, progress: bool = True,
           command: str = "") -> Path:
    """Write the pack for `tasks` under `out`; return the manifest path."""
    import cv2
    failed = ensure_episodes(tasks, episodes_root, workers, progress, warn=lambda m: print(m, file=sys.stderr))
    folders = usable_episodes(tasks, episodes_root, failed)
    manifest = {"schema_version": 1, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "versions": versions(), "command": command, "rollout_contract": CONTRACT, "tasks": {}}
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
            write_mp4(out / rel / "context.mp4", ctx, task.fps)
            atomic_write_bytes(out / rel / "caption.txt", (ep.caption + "\n").encode())
            entries.append({"episode_id": ep.episode_id, "scenario": ep.scenario, "caption": ep.caption,
                            "context_pngs": pngs, "context_video": str(rel / "context.mp4"),
                            "caption_file": str(rel / "caption.txt")})
        manifest["tasks"][task.name] = {
            "family": task.family, "version": task.version, "suite": task.suite, "fps": task.fps,
            "height": task.height, "width": task.width, "context_frames": task.context, "horizon": task.horizon,
            "n_episodes": len(entries), "episode_ids": [e["episode_id"] for e in entries], "episodes": entries}
    atomic_write_json(out / MANIFEST, manifest)
    return out / MANIFEST


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
