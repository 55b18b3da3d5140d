"""The held-out episodes of the tasks: which tasks a command asked for, and their episodes generated
once and cached under data/eval_episodes/ (complete, current ones are reused; a corrupt one is remade)."""
from __future__ import annotations

from pathlib import Path

from tqdm import tqdm

from scenarios.episode import is_current
from scenarios.generate import generate_many
from toolkit.pool import process_pool

from .tasks import Task, get_tasks


def select_tasks(suite: str = "default", names: list[str] | None = None, limit: int | None = None) -> list[Task]:
    """The named tasks (default: the whole suite), each cut to at most `limit` episodes."""
    return [t.limited(limit) for t in get_tasks(names, suite)]


def _make_episode(base: Path, scenario: str, seed: int, spec) -> str | None:
    """Generate one episode under base; the reason when the scenario cannot make it."""
    try:
        generate_many(base, [scenario], 1, seed, spec, workers=1, progress=False)
    except Exception as e:  # a seed its scenario refuses is left out of the task, not the end of the run
        return f"{scenario} seed {seed} could not be generated ({type(e).__name__}: {e})"
    return None


def ensure_episodes(tasks: list[Task], root: Path, workers: int, progress: bool, warn=print) -> dict[Path, str]:
    """Generate the tasks' held-out episodes that are not on disk yet (complete ones are reused).
    Returns the episode folders that could not be generated, with the reason (each also warned)."""
    todo = {}
    for task in tasks:
        base = task.episodes_root(root)
        for job, folder in zip(task.jobs(), task.episode_folders(root)):
            if not is_current(folder):  # missing, partial, or made by older scenario code
                todo[folder] = (base, job.scenario, job.seed, task.render_spec)
    failed = {}

    def done(folder: Path, error: str | None) -> None:
        if error:
            failed[folder] = error
            warn(f"note: leaving out episode {folder.name}: {error}")
        bar.update()

    bar = tqdm(total=len(todo), desc="episodes", unit="ep", disable=not progress or not todo)
    with bar:
        if workers <= 1 or len(todo) <= 1:
            for folder, args in todo.items():
                done(folder, _make_episode(*args))
        else:
            with process_pool(min(workers, len(todo))) as pool:
                for folder, error in zip(todo, pool.map(_make_episode, *zip(*todo.values()))):
                    done(folder, error)
    return failed


class NoEpisodesError(ValueError):
    """Not one of the tasks' held-out episodes is on disk or could be made."""


def usable_episodes(tasks: list[Task], root: Path, failed: dict[Path, str]) -> dict[str, list[Path]]:
    """task name -> its episode folders, without those that could not be generated; NoEpisodesError when
    that leaves none at all (there is nothing to score any model on)."""
    usable = {t.name: [f for f in t.episode_folders(root) if f not in failed] for t in tasks}
    if failed and not any(usable.values()):
        raise NoEpisodesError(f"{root}: no held-out episode could be made; the first: {next(iter(failed.values()))}")
    return usable


