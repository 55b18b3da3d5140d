"""Rollout files (fixed contract 2): finding, reading, resampling, checking and writing them.

    <rollouts_root>/<model>/<task>/<episode_id>.npz   rgb uint8 [T, H, W, 3] (optional scalar `fps`, and
                                                      optional string `pixel_format` of decoded video)
                                    or .mp4        decoded with PyAV (H.264, mp4v, ...) with its timestamps

A rollout need not be on the task's grid: `resample` brings any resolution, aspect ratio, frame
rate and length onto it by the one rule in RESAMPLING_RULE (export's manifest quotes it, `validate`
says what it will do, every sample records the original format). Every problem raises
`RolloutError` whose message is one line naming the file.
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


RESAMPLING_RULE = (
    "frames are picked by timestamp: predicted frame i (at i / task fps seconds after the first predicted "
    "frame) is the rollout frame whose timestamp (npz: j / its `fps`, else the task's; mp4: the container's, "
    "from its first frame) is nearest, the earlier on a tie; frames after the horizon are ignored, and a "
    "rollout whose last frame is more than half its own frame interval short of the horizon's last instant "
    "is an error; a rollout of another aspect ratio is centre-cropped to the task's; then each frame is "
    "resized to the task's size, by area averaging when it shrinks (every source pixel counts once: no "
    "aliasing) and bilinearly when it grows (no overshoot, so no colour that neither neighbour has)")
TIME_TOLERANCE = 1e-9  # s: timestamps this close are equal (j / fps rounds: 4/15 and 6/15 lie 1/15 from 5/15 only
                       # up to rounding)
RESAMPLING_VERSION = 2  # bump when the rule above changes what a rollout becomes (2: ties go to the earlier
                        # frame whatever the rounding of the timestamps; 1 let rounding decide some)
# Why centre-crop rather than letterbox: a model given our square context frames and asked for a wider
# video extends the scene at the sides and keeps the given view in the middle at its scale; the crop
# recovers that view with objects at their true size and place, where letterboxing would shrink them.


def read_rollout(path: str | Path) -> np.ndarray:
    """The frames of a .npz or .mp4 rollout, unchecked against any task (see `load_rollout`)."""
    return read_video(path)[0]


def read_video(path: str | Path) -> tuple[np.ndarray, np.ndarray | None, str]:
    """(frames, timestamps in seconds from the first frame or None when the file states no frame rate,
    pixel format): how the file stores a pixel, the video stream's format (e.g. "yuv420p") for .mp4; for
    .npz the optional string `pixel_format` it declares (frames decoded from a video), else "rgb24"."""
    path = Path(path)
    if path.suffix == ".npz":
        if path.is_file() and not zipfile.is_zipfile(path):  # numpy would call any other file "pickled data"
            raise RolloutError(f"{path}: not an npz archive (a zip of .npy arrays, as np.savez writes); "
                               "the file is truncated or of another kind")
        try:
            with np.load(path, allow_pickle=False) as z:
                if "rgb" not in z.files:
                    raise RolloutError(f"{path}: no 'rgb' array (has {', '.join(z.files) or 'nothing'})")
                rgb = z["rgb"]
                fps = float(z["fps"]) if "fps" in z.files else None
                declared = z["pixel_format"] if "pixel_format" in z.files else np.array("rgb24")
        except RolloutError:
            raise
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, EOFError) as e:
            raise RolloutError(f"{path}: unreadable or corrupt npz ({type(e).__name__}: {e})") from None
        if fps is not None and not (np.isfinite(fps) and fps > 0):
            raise RolloutError(f"{path}: fps must be a positive number, got {fps}")
        if declared.dtype.kind != "U" or declared.ndim != 0 or not str(declared):
            raise RolloutError(f"{path}: pixel_format must be a string such as 'yuv420p', got "
                               f"{declared.dtype}{list(declared.shape)}")
        return rgb, (None if fps is None or rgb.ndim < 1 else np.arange(len(rgb)) / fps), str(declared)
    if path.suffix == ".mp4":
        return _read_mp4(path)
    raise RolloutError(f"{path}: unsupported rollout file type '{path.suffix}' (use .npz or .mp4)")


def _read_mp4(path: Path) -> tuple[np.ndarray, np.ndarray, str]:
    import av
    if path.stat().st_size == 0:
        raise RolloutError(f"{path}: empty video file")
    frames, times = [], []
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            pix_fmt = str(stream.codec_context.pix_fmt or "unknown")
            rate = float(stream.average_rate or stream.guessed_rate or 0) or None
            for k, frame in enumerate(container.decode(stream)):
                frames.append(frame.to_ndarray(format="rgb24"))
                times.append(frame.time if frame.time is not None else (k / rate if rate else np.nan))
    except (av.FFmpegError, IndexError, ValueError) as e:
        if not frames:
            raise RolloutError(f"{path}: corrupt or empty video ({type(e).__name__}: {e})") from None
    if not frames:
        raise RolloutError(f"{path}: corrupt or empty video (no frame could be decoded)")
    t = np.asarray(times, np.float64)
    if np.isnan(t).any():
        raise RolloutError(f"{path}: video frames without timestamps and no frame rate")
    return np.stack(frames), t - t[0], pix_fmt  # (T, H, W, 3) uint8, seconds


def subsampled_chroma(pix_fmt: str) -> bool:
    """Whether a pixel format stores colour at a lower resolution than brightness (4:2:0, 4:2:2, 4:1:1):
    what nearly every H.264 and MPEG-4 video, and JPEG, deliver. The tracker then also counts
    two-object colour mixtures (tracker.track's `mixtures`)."""
    return any(k in pix_fmt for k in ("420", "422", "411", "410", "nv12", "nv21"))


def source_format(frames: np.ndarray, times: np.ndarray | None, task, pix_fmt: str = "rgb24") -> dict:
    """What the file holds, as each sample records it."""
    fps = task.fps if times is None or len(times) < 2 else round(float((len(times) - 1) / (times[-1] - times[0])), 3) \
        if times[-1] > times[0] else None
    return {"height": int(frames.shape[1]), "width": int(frames.shape[2]), "n_frames": int(frames.shape[0]),
            "fps": fps, "fps_stated": times is not None, "pixel_format": pix_fmt,
            "subsampled_chroma": subsampled_chroma(pix_fmt)}


def plan_resample(shape: tuple, times: np.ndarray | None, task, path) -> dict:
    """What `resample` will do to a (T, H, W, 3) rollout: the frames it picks, the crop box and the
    interpolation, or RolloutError when the rollout cannot cover the task's horizon."""
    T, H, W = shape[:3]
    times = np.arange(T) / task.fps if times is None else np.asarray(times, np.float64)
    want = np.arange(task.horizon) / task.fps                         # (horizon,) seconds
    step = float(np.median(np.diff(times))) if T > 1 else 1.0 / task.fps
    if T == 0 or times[-1] + step / 2 < want[-1] - TIME_TOLERANCE:
        why = (f"its last frame is at {times[-1]:.3f} s, the horizon's last at {want[-1]:.3f} s: more than half its "
               f"own frame interval ({step:.3f} s) later") if T else "it has no frame"
        raise RolloutError(f"{path}: {T} frames, task {task.name} needs {task.horizon} at {task.fps} fps: too short "
                           f"({why})")
    pick = np.searchsorted(times, want)                                # first frame at or after each instant
    pick = np.clip(pick, 0, T - 1)
    earlier = np.clip(pick - 1, 0, T - 1)
    pick = np.where(np.abs(times[earlier] - want) <= np.abs(times[pick] - want) + TIME_TOLERANCE, earlier, pick)
    # centre crop to the task's aspect ratio (width / height)
    if W * task.height > H * task.width:                               # wider: crop the sides
        cw, ch = round(H * task.width / task.height), H
    else:                                                              # taller: crop top and bottom
        cw, ch = W, round(W * task.height / task.width)
    box = ((W - cw) // 2, (H - ch) // 2, cw, ch)                        # x, y, width, height
    interp = "none" if (cw, ch) == (task.width, task.height) else "area" if cw >= task.width else "bilinear"
    return {"frames": pick, "crop": None if (cw, ch) == (W, H) else box, "resize": interp,
            "retimed": not (T == task.horizon and np.array_equal(pick, np.arange(task.horizon)))}


def describe_plan(plan: dict, fmt: dict, task) -> str:
    """One line: what resampling does to this rollout ('' when it is on the task's grid already)."""
    parts = []
    if plan["retimed"]:
        parts.append(f"{fmt['n_frames']} frames at {fmt['fps']:g} fps -> {task.horizon} at {task.fps} fps by timestamp"
                     if fmt["fps"] else f"{fmt['n_frames']} frames -> the first {task.horizon}")
    if plan["crop"]:
        x, y, w, h = plan["crop"]
        parts.append(f"centre-crop {fmt['width']}x{fmt['height']} to {w}x{h} at ({x}, {y})")
    if plan["resize"] != "none":
        w, h = (plan["crop"] or (0, 0, fmt["width"], fmt["height"]))[2:]
        parts.append(f"{plan['resize']} resize {w}x{h} -> {task.width}x{task.height}")
    return "; ".join(parts)


def resample(frames: np.ndarray, times: np.ndarray | None, task, path, plan: dict | None = None) -> np.ndarray:
    """The rollout on the task's grid (horizon, height, width, 3) by RESAMPLING_RULE."""
    import cv2
    plan = plan or plan_resample(frames.shape, times, task, path)
    out = frames[plan["frames"]]
    if plan["crop"]:
        x, y, w, h = plan["crop"]
        out = out[:, y:y + h, x:x + w]
    if plan["resize"] != "none":
        flag = cv2.INTER_AREA if plan["resize"] == "area" else cv2.INTER_LINEAR
        out = np.stack([cv2.resize(np.ascontiguousarray(f), (task.width, task.height), interpolation=flag) for f in out])
    return np.ascontiguousarray(out)


def check_frames(frames: np.ndarray, task, path: str | Path) -> np.ndarray:
    """Raise RolloutError unless frames are uint8 (task.horizon, task.height, task.width, 3) without NaNs."""
    frames = _check_array(frames, path)
    if frames.shape[0] != task.horizon:
        raise RolloutError(f"{path}: {frames.shape[0]} frames, task {task.name} needs {task.horizon}")
    if frames.shape[1:3] != (task.height, task.width):
        raise RolloutError(f"{path}: resolution {frames.shape[2]}x{frames.shape[1]}, task {task.name} needs "
                           f"{task.width}x{task.height}")
    return frames


def _check_array(frames, path) -> np.ndarray:
    """Raise RolloutError unless frames are a non-empty uint8 (T, H, W, 3) array."""
    frames = np.asarray(frames)
    if frames.dtype.kind == "f" and np.isnan(frames).any():
        raise RolloutError(f"{path}: contains NaN values (expected uint8 frames)")
    if frames.dtype != np.uint8:
        raise RolloutError(f"{path}: dtype {frames.dtype}, expected uint8")
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise RolloutError(f"{path}: shape {list(frames.shape)}, expected [T, H, W, 3]")
    if frames.shape[0] == 0 or 0 in frames.shape[1:3]:
        raise RolloutError(f"{path}: empty rollout (shape {list(frames.shape)})")
    return frames


def load_rollout_with_format(path: str | Path, task) -> tuple[np.ndarray, dict]:
    """Read one rollout file, resample it onto the task's grid, check it: (frames, original format and
    what resampling did)."""
    frames, times, pix_fmt = read_video(path)
    frames = _check_array(frames, path)
    fmt = source_format(frames, times, task, pix_fmt)
    plan = plan_resample(frames.shape, times, task, path)
    fmt["resampling"] = describe_plan(plan, fmt, task) or "none"
    return check_frames(resample(frames, times, task, path, plan), task, path), fmt


def load_rollout(path: str | Path, task) -> np.ndarray:
    """Read, resample (RESAMPLING_RULE) and check one rollout file against its task."""
    return load_rollout_with_format(path, task)[0]


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


def write_h264(path: str | Path, frames: np.ndarray, fps: float, bit_rate: int | None = None, crf: int = 23) -> None:
    """Write (T, H, W, 3) uint8 RGB frames as an H.264 mp4 (PyAV/libx264, yuv420p: chroma at half
    resolution, as nearly every real video has), atomically; `bit_rate` (bits/s) replaces the
    constant-quality `crf` when given. H and W must be even (4:2:0)."""
    import fractions
    import os
    import tempfile

    import av
    path = Path(path)
    h, w = frames.shape[1:3]
    if h % 2 or w % 2:
        raise RolloutError(f"{path}: H.264 (4:2:0) needs an even size, got {w}x{h}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp.mp4")
    os.close(fd)
    try:
        with av.open(tmp, "w", format="mp4") as out:
            stream = out.add_stream("libx264", rate=fractions.Fraction(fps).limit_denominator(1001))
            stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
            if bit_rate:
                stream.bit_rate = int(bit_rate)
            else:
                stream.options = {"crf": str(crf)}
            for f in frames:
                out.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")))
            out.mux(stream.encode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
