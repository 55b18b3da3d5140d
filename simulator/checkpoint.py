"""Checkpoints: safetensors for tensors, one manifest.json for everything else. Never pickles.

A checkpoint is a folder::

    manifest.json                    config, step, data seeds, log, command line, versions, and per group file + sha256
    model-<step>.safetensors         weights used for sampling (EMA; fp16 in the reference checkpoint)
    train-<step>.safetensors         training state: raw weights, AdamW moments, RNG states (runs only)

Tensor files are written first, each atomically, and the manifest last, so a killed run
leaves the previous complete checkpoint behind; files the new manifest no longer names are
then removed. Loading checks every sha256 and reads tensors with safetensors, which parses a
JSON header and raw buffers and cannot execute code from the file.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from toolkit.files import atomic_write_bytes, atomic_write_json, read_json
from toolkit.provenance import command_line, versions

from .config import Config, ConfigError, SimulatorError

MANIFEST = "manifest.json"
FORMAT = "world-sim-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(SimulatorError):
    """A checkpoint that is missing, incomplete, corrupt, or does not match its config."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def save(folder: str | Path, step: int, config: Config, groups: dict[str, dict[str, torch.Tensor]],
         info: dict | None = None) -> Path:
    """Write tensor groups (name -> state dict) and the manifest; return the manifest path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for group, tensors in groups.items():
        data = st_save({k: v.detach().contiguous().cpu() for k, v in tensors.items()})
        name = f"{group}-{step:07d}.safetensors"
        atomic_write_bytes(folder / name, data)
        files[group] = {"file": name, "sha256": sha256(data), "bytes": len(data)}
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "step": step, "config": config.to_dict(),
                "files": files, **(info or {}), "command": command_line(), "versions": versions()}
    atomic_write_json(folder / MANIFEST, manifest)
    for old in folder.glob("*.safetensors"):
        if old.name not in {f["file"] for f in files.values()}:
            old.unlink(missing_ok=True)
    return folder / MANIFEST


def folder_of(path: str | Path) -> Path:
    """The checkpoint folder named by `path` (the folder itself or any file inside it)."""
    path = Path(path)
    return path if path.is_dir() else path.parent


def read_manifest(path: str | Path) -> dict:
    folder = folder_of(path)
    if not Path(path).exists():
        raise CheckpointError(f"{path}: no such checkpoint")
    mpath = folder / MANIFEST
    if not mpath.is_file():
        raise CheckpointError(f"{folder}: no {MANIFEST}; not a checkpoint folder, or a run killed before its first checkpoint")
    manifest = read_json(mpath, CheckpointError)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"{mpath}: not a {FORMAT} manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{mpath}: format_version {manifest.get('format_version')}, this loader reads {FORMAT_VERSION}")
    return manifest


def read_config(manifest: dict, where: str | Path) -> Config:
    try:
        return Config.from_dict(manifest["config"])
    except (ConfigError, KeyError) as e:
        raise CheckpointError(f"{where}: config in the manifest is invalid ({e})") from None


def load_group(path: str | Path, group: str, manifest: dict | None = None) -> dict[str, torch.Tensor]:
    """One tensor group, checked against the manifest's sha256."""
    folder = folder_of(path)
    manifest = manifest or read_manifest(path)
    entry = manifest.get("files", {}).get(group)
    if entry is None:
        raise CheckpointError(f"{folder / MANIFEST}: has no '{group}' tensors (has {', '.join(manifest.get('files', {}))})")
    fpath = folder / entry["file"]
    if not fpath.is_file():
        raise CheckpointError(f"{fpath}: missing (named by {MANIFEST})")
    data = fpath.read_bytes()
    if sha256(data) != entry["sha256"]:
        raise CheckpointError(f"{fpath}: corrupt (sha256 differs from {MANIFEST})")
    try:
        return st_load(data)
    except (SafetensorError, ValueError) as e:
        raise CheckpointError(f"{fpath}: unreadable safetensors ({e})") from None


def load_state(module: torch.nn.Module, state: dict[str, torch.Tensor], where: str | Path) -> None:
    """load_state_dict that names the first mismatch between file and config in one line."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    if missing or extra:
        raise CheckpointError(f"{where}: weights do not match the config (missing {missing[:3]}, unexpected {extra[:3]})")
    for k, v in state.items():
        if v.shape != own[k].shape:
            raise CheckpointError(f"{where}: weights do not match the config ('{k}' is {list(v.shape)} in the file, "
                                  f"{list(own[k].shape)} in the model)")
    module.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()})


def export(src: str | Path, dst: str | Path, dtype: torch.dtype = torch.float16) -> Path:
    """A run's sampling weights (EMA, and the VAE if any) as a small release checkpoint: `dtype` tensors and a
    manifest with the config, data seeds, steps, wall time, git revision, sha256 of each file and the whole
    training curve (`log`: loss, validation loss and, where the run scored itself, the default-suite scores)."""
    manifest = read_manifest(src)
    groups = {g: {k: v.to(dtype) if v.is_floating_point() else v for k, v in load_group(src, g, manifest).items()}
              for g in manifest["files"] if g != "train"}
    keep = ("kind", "data", "seed", "wall_time_s", "world_size")
    info = {k: manifest[k] for k in keep if k in manifest}
    info.update(source={"path": str(src), "command": manifest.get("command"),  # the command that trained it
                        "git_revision": manifest["versions"].get("git_revision"),
                        "versions": manifest["versions"]},
                log=manifest.get("log", []), dtype=str(dtype).replace("torch.", ""))
    return save(dst, manifest["step"], read_config(manifest, src), groups, info)
