"""Rollout files (fixed contract 2): finding, reading, checking and writing them.

    <rollouts_root>/<model>/<task>/<episode_id>.npz   rgb uint8 [T_pred, H, W, 3]
                                    or .mp4        decoded with OpenCV to the same array

Every problem raises `RolloutError` whose message is one line naming the file.
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

from toolkit.files import atomic_write_bytes

EXTENSIONS = (".npz", ".mp4")  # preference order when both exist


class RolloutError(ValueError):
    """A rollout is missing, unreadable or does not fit its task. The message names the file."""


def rollout_path(root: str | Path, model: str, task: str, episode_id: str, ext: str = ".npz") -> Path:
    return Path(root) / model / task / f"{episode_id}{ext}"


def find_rollout(root: str | Path, model: str, task: str, episode_id: str) -> Path:
    """The rollout file of one episode; RolloutError when there is none."""
    for ext in EXTENSIONS:
        path = rollout_path(root, model, task, episode_id, ext)
        if path.is_file():
            return path
    raise RolloutError(f"{rollout_path(root, model, task, episode_id, '.npz|.mp4')}: missing rollout for episode {episode_id}")


def read_rollout(path: str | Path) -> np.ndarray:
    """The frames of a .npz or .mp4 rollout, unchecked against any task (see `check_frames`)."""
    path = Path(path)
    if path.suffix == ".npz":
        if path.is_file() and not zipfile.is_zipfile(path):  # numpy would call any other file "pickled data"
            raise RolloutError(f"{path}: not an npz archive (a zip of .npy arrays, as np.savez writes); "
                               "the file is truncated or of another kind")
        try:
            with np.load(path, allow_pickle=False) as z:
                if "rgb" not in z.files:
                    raise RolloutError(f"{path}: no 'rgb' array (has {', '.join(z.files) or 'nothing'})")
                return z["rgb"]
        except RolloutError:
            raise
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as e:
            raise RolloutError(f"{path}: unreadable or corrupt npz ({type(e).__name__}: {e})") from None
    if path.suffix == ".mp4":
        return _read_mp4(path)
    raise RolloutError(f"{path}: unsupported rollout file type '{path.suffix}' (use .npz or .mp4)")


def _read_mp4(path: Path) -> np.ndarray:
    import cv2
    if path.stat().st_size == 0:
        raise RolloutError(f"{path}: empty video file")
    cap = cv2.VideoCapture(str(path))
    frames = []
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    finally:
        cap.release()
    if not frames:
        raise RolloutError(f"{path}: corrupt or empty video (no frame could be decoded)")
    return np.stack(frames)  # (T, H, W, 3) uint8


def check_frames(frames: np.ndarray, task, path: str | Path) -> np.ndarray:
    """Raise RolloutError unless frames are uint8 (task.horizon, task.height, task.width, 3) without NaNs."""
    frames = np.asarray(frames)
    if frames.dtype.kind == "f" and np.isnan(frames).any():
        raise RolloutError(f"{path}: contains NaN values (expected uint8 frames)")
    if frames.dtype != np.uint8:
        raise RolloutError(f"{path}: dtype {frames.dtype}, expected uint8")
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise RolloutError(f"{path}: shape {list(frames.shape)}, expected [T, H, W, 3]")
    if frames.shape[0] == 0:
        raise RolloutError(f"{path}: empty rollout (0 frames)")
    if frames.shape[0] != task.horizon:
        raise RolloutError(f"{path}: {frames.shape[0]} frames, task {task.name} needs {task.horizon}")
    if frames.shape[1:3] != (task.height, task.width):
        raise RolloutError(f"{path}: resolution {frames.shape[2]}x{frames.shape[1]}, task {task.name} needs "
                           f"{task.width}x{task.height}")
    return frames


def load_rollout(path: str | Path, task) -> np.ndarray:
    """Read and check one rollout file against its task."""
    return check_frames(read_rollout(path), task, path)


def write_rollout(path: str | Path, frames: np.ndarray, info: dict | None = None) -> None:
    """Write an .npz rollout atomically; `info` (what made it) is stored as JSON next to rgb."""
    buf = io.BytesIO()
    np.savez_compressed(buf, rgb=np.asarray(frames, np.uint8), info=np.array(json.dumps(info or {})))
    atomic_write_bytes(path, buf.getvalue())


def read_info(path: str | Path) -> dict:
    """The `info` a cached rollout was written with ({} when it has none or is unreadable)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return json.loads(str(z["info"])) if "info" in z.files else {}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
        return {}


def write_mp4(path: str | Path, frames: np.ndarray, fps: float) -> None:
    """Write (T, H, W, 3) uint8 RGB frames as an mp4 (mp4v codec), atomically."""
    import os
    import tempfile

    import cv2
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp.mp4")
    os.close(fd)
    try:
        h, w = frames.shape[1:3]
        writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*"mp4v"), float(fps), (w, h))
        if not writer.isOpened():
            raise RolloutError(f"{path}: OpenCV could not open an mp4 writer")
        for f in frames:
            writer.write(cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2BGR))
        writer.release()
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
