"""Outside models: rollouts on disk (fixed contract 2) and our learned simulator's checkpoints."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from simulator.fingerprint import sampling_fingerprint

from ..rollouts import find_rollout, load_rollout_with_format
from .base import Adapter, ModelLoadError, UnknownModelError


class RolloutFolder(Adapter):
    """A model whose rollouts were made elsewhere: <root>/<name>/<task>/<episode_id>.npz|.mp4."""
    kind = "rollouts"
    cached = False  # read in place; a bad file fails its own samples

    def __init__(self, root: str | Path, folder: str, name: str | None = None):
        self.root, self.folder, self.name = Path(root), folder, name or folder
        self.source = str(self.root / folder)
        self._formats: dict[tuple[str, str], dict] = {}  # (task, episode) -> source format, as read

    def path(self, task, episode_id: str) -> Path:
        return find_rollout(self.root, self.folder, task.name, episode_id)

    def rollout(self, context_frames, caption, task, episode=None):
        # any resolution, aspect ratio, frame rate and length, resampled by rollouts.RESAMPLING_RULE
        frames, fmt = load_rollout_with_format(self.path(task, episode.episode_id), task)
        self._formats[(task.name, episode.episode_id)] = fmt
        return frames

    def source_format(self, task, episode_id: str) -> dict | None:
        """The file's own format and what resampling did to it (recorded with each sample)."""
        return self._formats.get((task.name, episode_id))


def rollout_folder_models(root: str | Path, task_names: set[str]) -> list[RolloutFolder]:
    """`rollouts:DIR`: DIR/<model>/<task>/... gives one model per subfolder; DIR/<task>/... is one
    model named after DIR."""
    root = Path(root)
    if not root.is_dir():
        raise UnknownModelError(f"rollouts:{root}: no such folder")
    subdirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if any(p.name in task_names for p in subdirs):
        return [RolloutFolder(root.parent, root.name)]
    if not subdirs:
        raise UnknownModelError(f"rollouts:{root}: empty folder (expected <model>/<task>/<episode_id>.npz|.mp4)")
    return [RolloutFolder(root, p.name) for p in subdirs]


class Checkpoint(Adapter):
    """Our learned simulator (simulator.adapter), imported and loaded on first use so that nothing
    here needs torch until a checkpoint is actually run."""
    kind = "checkpoint"
    parallel_safe = False  # one copy of the network, in the main process

    def __init__(self, path: str | Path, name: str | None = None):
        self.path = Path(path)
        if not self.path.exists():
            raise UnknownModelError(f"checkpoint:{path}: no such file or folder")
        self.name = name or _checkpoint_name(self.path)
        self.source = str(path)
        self._model = None

    def prepare(self) -> None:
        if self._model is not None:
            return
        import importlib
        try:
            self._model = importlib.import_module("simulator.adapter").load(self.path)
        except Exception as e:  # any failure to load is this model's, named once: never a 0 per clip
            reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise ModelLoadError(f"model {self.name}: checkpoint {self.path} cannot be loaded: {reason}") from None

    def rollout(self, context_frames, caption, task, episode=None):
        self.prepare()
        if self.sample_seed is None:  # the one sample: the sampler's default seed (0)
            return np.asarray(self._model.rollout(context_frames, caption, task))
        return np.asarray(self._model.rollout(context_frames, caption, task, seed=self.sample_seed))

    def __getstate__(self):
        # scoring workers only read the cached rollouts: never ship the network to them
        return {**self.__dict__, "_model": None}

    def fingerprint(self, task):
        # a retrained checkpoint at the same path, or new sampling code, must not reuse old rollouts
        files = [self.path] if self.path.is_file() else sorted(p for p in self.path.rglob("*") if p.is_file())
        stamp = hashlib.sha1("".join(f"{p}:{p.stat().st_size}:{p.stat().st_mtime_ns};" for p in files).encode())
        code = sampling_fingerprint()
        seed = "" if self.sample_seed is None else f"/seed{self.sample_seed}"
        return f"{super().fingerprint(task)}/{stamp.hexdigest()[:12]}/code{code}{seed}"


def _checkpoint_name(path: Path) -> str:
    """A folder's name, or <folder>-<stem> for a file (runs/x/last.pt -> x-last)."""
    return path.name if path.is_dir() else f"{path.parent.name}-{path.stem}"
