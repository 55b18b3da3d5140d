"""`python -m physics_evals validate DIR`: check a rollout folder against the tasks before scoring.

DIR is <DIR>/<model>/<task>/<episode_id>.npz|.mp4 (or <DIR>/<task>/... for one model). Every
expected episode must have a readable uint8 rollout without NaNs that covers the task's horizon; one
of another resolution, aspect ratio, frame rate or length is brought onto the task's grid by
rollouts.RESAMPLING_RULE, and validate says, per task folder, what that will do. The expected episodes come from an export pack's manifest (--manifest) or from the
suite's tasks (--suite, --tasks, --limit). Each problem is one line naming the file.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from . import options
from .models import rollout_folder_models
from .rollouts import RolloutError, find_rollout, load_rollout_with_format
from .tasks import TASK_DEFS, get_tasks


class ManifestError(ValueError):
    """An export manifest that cannot be read; the message names the file."""


@dataclass(frozen=True)
class Expected:
    """What one task's rollouts must look like (the fields `check_frames` reads)."""
    name: str
    horizon: int
    height: int
    width: int
    episode_ids: tuple[str, ...]
    fps: float = 15.0


def expected_from_manifest(path: Path) -> list[Expected]:
    try:
        tasks = json.loads(Path(path).read_text())["tasks"]
        _check_manifest_tasks(tasks, path)
        return [Expected(name, t["horizon"], t["height"], t["width"], tuple(t["episode_ids"]), t.get("fps", 15))
                for name, t in tasks.items()]
    except FileNotFoundError:
        raise ManifestError(f"{path}: no such manifest") from None
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as e:
        raise ManifestError(f"{path}: not an export manifest ({type(e).__name__}: {e})") from None


def _check_manifest_tasks(tasks, path: Path) -> None:
    """`tasks` is an object of task name -> task, each with a non-empty list of episode ids."""
    if not isinstance(tasks, dict) or not tasks:
        raise ManifestError(f"{path}: 'tasks' must be a non-empty object of task name -> task, "
                            f"got {type(tasks).__name__}")
    for name, t in tasks.items():
        ids = t.get("episode_ids") if isinstance(t, dict) else None
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
            raise ManifestError(f"{path}: task {name}: 'episode_ids' must be a non-empty list of episode ids")


def expected_from_tasks(names: list[str] | None, suite: str, limit: int | None) -> list[Expected]:
    return [Expected(t.name, t.horizon, t.height, t.width, tuple(t.episode_ids()), t.fps)
            for t in (t.limited(limit) for t in get_tasks(names, suite))]


def validate_folder(root: Path, expected: list[Expected], require_all_tasks: bool) -> tuple[int, list[str], list[str]]:
    """(rollouts that pass, problems, notes). A task folder absent from a model is a problem only when
    every task is required (a manifest or --tasks named them)."""
    known = {e.name for e in expected} | {d.name for d in TASK_DEFS}
    models = rollout_folder_models(root, known)
    n_ok, problems, notes = 0, [], []
    for model in models:
        model_dir = model.root / model.folder
        present = {p.name for p in model_dir.iterdir() if p.is_dir()}
        for d in sorted(present - {e.name for e in expected}):
            notes.append(f"note: {model_dir / d}: not a task being checked; ignored")
        checked = [e for e in expected if require_all_tasks or e.name in present]
        if not checked:
            problems.append(f"{model_dir}: no folder of any expected task ({', '.join(e.name for e in expected)})")
        for e in checked:
            if e.name not in present:
                problems.append(f"{model_dir / e.name}: missing task folder ({len(e.episode_ids)} episodes expected)")
                continue
            plans: dict[str, list[str]] = {}  # what resampling will do -> episodes it does it to
            subsampled: dict[str, int] = {}    # pixel format with subsampled colour -> rollouts in it
            slower: dict[float, int] = {}       # frame rate below the task's -> rollouts at it
            for eid in e.episode_ids:
                try:
                    _, fmt = load_rollout_with_format(find_rollout(model.root, model.folder, e.name, eid), e)
                    plans.setdefault(fmt["resampling"], []).append(eid)
                    if fmt["subsampled_chroma"]:
                        subsampled[fmt["pixel_format"]] = subsampled.get(fmt["pixel_format"], 0) + 1
                    if fmt["fps"] and fmt["fps"] < 0.99 * e.fps:
                        slower[fmt["fps"]] = slower.get(fmt["fps"], 0) + 1
                    n_ok += 1
                except RolloutError as err:
                    problems.append(str(err))
            for plan, eids in plans.items():
                if plan != "none":
                    notes.append(f"note: {model_dir / e.name}: will resample {len(eids)} rollouts: {plan}")
            for fps, n in slower.items():
                notes.append(f"note: {model_dir / e.name}: {n} rollouts at {fps:g} fps, below the task's {e.fps:g}: each "
                             "frame is held until the next is nearer, and what moved in between is not in the video "
                             "(`probe` reports what half the rate costs the truth: its half_fps row)")
            for pix_fmt, n in subsampled.items():
                notes.append(f"note: {model_dir / e.name}: {n} rollouts store colour at lower resolution ({pix_fmt}): "
                             "the tracker counts a pixel mixing two nearby objects' colours for the dominant one")
            extra = sorted(p.name for p in (model_dir / e.name).iterdir()
                           if p.is_file() and p.stem not in e.episode_ids)
            if extra:
                notes.append(f"note: {model_dir / e.name}: {len(extra)} files for episodes not in the task ignored "
                             f"(e.g. {extra[0]})")
    return n_ok, problems, notes


def add_arguments(p) -> None:
    p.add_argument("dir", type=Path, help="rollout folder: DIR/<model>/<task>/<episode_id>.npz|.mp4")
    p.add_argument("--manifest", type=Path, help="an export pack's manifest.json: check exactly its episodes")
    options.add_task_options(p, tasks_help="tasks to require (default: the task folders present)")


def main(args) -> int:
    if args.manifest is not None:
        expected, required = expected_from_manifest(args.manifest), True
    else:
        expected, required = expected_from_tasks(args.tasks, args.suite, args.limit), args.tasks is not None
    n_ok, problems, notes = validate_folder(args.dir, expected, required)
    for line in notes:
        print(line, file=sys.stderr)
    for line in problems:
        print(f"error: {line}", file=sys.stderr)
    print(f"{n_ok} rollouts ok, {len(problems)} problems in {args.dir}")
    return 2 if problems else 0
