"""The Episode: one simulated clip with its ground truth (fixed contract 1 in DESIGN.md).

On disk::

    <root>/<family>/<scenario>/<episode_id>/
        frames.npz   rgb uint8 [T,H,W,3], seg int32 [T,H,W] (-1 = background), depth float16 [T,H,W] (metres)
        meta.json    everything else; its presence marks the episode complete

`states` in meta.json maps str(object id) to per-frame series: ``position`` [T,3],
``orientation`` [T,4] (x,y,z,w quaternion), ``linear_velocity`` [T,3],
``angular_velocity`` [T,3], ``visible`` [T] and any scenario-specific series
(``remaining_volume`` of a food object, ``painted_area`` of a canvas, ``n_pieces`` of a glass).
"""
from __future__ import annotations

import functools
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from toolkit.files import atomic_write_bytes, atomic_write_json, read_json
from toolkit.provenance import source_digest

SCHEMA_VERSION = 1
FRAMES_FILE = "frames.npz"
META_FILE = "meta.json"
REQUIRED_META = ("schema_version", "family", "scenario", "episode_id", "seed", "params", "fps", "sim_hz",
                 "height", "width", "n_frames", "camera", "objects", "states", "events", "caption", "versions")


# The one split of seeds: training episodes use seeds below HELD_OUT_SEED, evaluation episodes seeds from
# it on, so no evaluation clip was ever trained on. The simulator and the harness both check with check_seeds.
HELD_OUT_SEED = 1_000_000


class EpisodeError(ValueError):
    """An episode on disk is missing, incomplete or inconsistent. The message names the file."""


def episode_id(scenario: str, seed: int) -> str:
    """The id (and folder name) of a scenario's episode for a seed: free_fall-1000000."""
    return f"{scenario}-{seed:07d}"


def check_seeds(first: int, n: int, held_out: bool, what: str) -> None:
    """Raise ValueError, naming `what`, unless seeds first..first+n-1 lie wholly in the training range
    (0 <= seed < HELD_OUT_SEED) or, with `held_out`, wholly in the held-out range (seed >= HELD_OUT_SEED)."""
    last = first + max(n, 1) - 1
    if held_out and first < HELD_OUT_SEED:
        raise ValueError(f"{what}: held-out seeds {first}..{last} reach below {HELD_OUT_SEED} into the training seeds")
    if not held_out and first < 0:
        raise ValueError(f"{what}: training seeds must be >= 0, got {first}")
    if not held_out and last >= HELD_OUT_SEED:
        raise ValueError(f"{what}: training seeds {first}..{last} reach the held-out seeds (>= {HELD_OUT_SEED}); "
                         f"they must stay below")


@dataclass
class Episode:
    rgb: np.ndarray    # (T, H, W, 3) uint8
    seg: np.ndarray    # (T, H, W) int32, object id per pixel, -1 = background
    depth: np.ndarray  # (T, H, W) float16, metres from the camera
    meta: dict[str, Any] = field(default_factory=dict)

    # -- convenient views of meta ------------------------------------------------------
    @property
    def family(self) -> str: return self.meta["family"]
    @property
    def scenario(self) -> str: return self.meta["scenario"]
    @property
    def episode_id(self) -> str: return self.meta["episode_id"]
    @property
    def fps(self) -> float: return self.meta["fps"]
    @property
    def caption(self) -> str: return self.meta["caption"]
    @property
    def objects(self) -> list[dict]: return self.meta["objects"]
    @property
    def events(self) -> list[dict]: return self.meta["events"]
    @property
    def n_frames(self) -> int: return int(self.rgb.shape[0])

    def state(self, obj_id: int, key: str) -> np.ndarray:
        """Per-frame series `key` of object `obj_id` as an array with time first."""
        return np.asarray(self.meta["states"][str(obj_id)][key])

    def objects_with_role(self, role: str) -> list[dict]:
        return [o for o in self.objects if o["role"] == role]

    def events_of(self, kind: str) -> list[dict]:
        return [e for e in self.events if e["kind"] == kind]

    def to_pixels(self, points: np.ndarray) -> np.ndarray:
        """Project world points (..., 3) to pixel coordinates (..., 2) as (x right, y down)."""
        return project_to_pixels(self.meta["camera"], points, self.meta["height"], self.meta["width"])

    # -- disk --------------------------------------------------------------------------
    def save(self, root: str | Path) -> Path:
        """Write atomically under root/family/scenario/episode_id; meta.json goes last."""
        folder = Path(root) / self.family / self.scenario / self.episode_id
        folder.mkdir(parents=True, exist_ok=True)
        (folder / META_FILE).unlink(missing_ok=True)  # an overwrite is incomplete until it is done
        # No fsync (durable=False): the renames keep a killed run from leaving a folder that looks complete,
        # and a frames.npz lost to a power cut fails `is_current`'s zip check, so a rerun remakes it.
        atomic_write_bytes(folder / FRAMES_FILE, _npz_bytes(rgb=self.rgb, seg=self.seg, depth=self.depth), durable=False)
        atomic_write_json(folder / META_FILE, self.meta, indent=None, durable=False)  # long per-frame series: compact
        return folder


def _npz_bytes(**arrays: np.ndarray) -> bytes:
    """An .npz (a zip of .npy files, what np.load reads) deflated at level 1: several times faster to
    write than np.savez_compressed and within a few percent of its size on rendered frames."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, a in arrays.items():
            with zf.open(f"{name}.npy", "w") as f:
                np.lib.format.write_array(f, np.ascontiguousarray(a), allow_pickle=False)
    return buf.getvalue()


def project_to_pixels(camera: dict, points: np.ndarray, height: int, width: int) -> np.ndarray:
    """Pinhole projection with PyBullet's column-major view and projection matrices."""
    view = np.asarray(camera["view"], dtype=np.float64).reshape(4, 4).T
    proj = np.asarray(camera["projection"], dtype=np.float64).reshape(4, 4).T
    pts = np.asarray(points, dtype=np.float64)
    hom = np.concatenate([pts, np.ones(pts.shape[:-1] + (1,))], axis=-1)
    clip = hom @ (proj @ view).T
    ndc = clip[..., :3] / clip[..., 3:4]
    x = (ndc[..., 0] + 1.0) * 0.5 * width - 0.5
    y = (1.0 - ndc[..., 1]) * 0.5 * height - 0.5
    return np.stack([x, y], axis=-1)


def is_complete(folder: str | Path) -> bool:
    return (Path(folder) / META_FILE).is_file() and (Path(folder) / FRAMES_FILE).is_file()


@functools.lru_cache(maxsize=1)
def scenarios_fingerprint() -> str:
    """A hash of the physics code installed now: episodes made by other physics are stale and get remade."""
    return physics_fingerprint(Path(__file__).resolve().parent)


def physics_fingerprint(package: Path) -> str:
    """A hash of the physics code of a scenarios package: the engine and the scenario modules of every
    family. Command lines, loading and generation plumbing are left out, so changing them leaves every
    cached episode and rollout valid."""
    families = [d for d in sorted(package.iterdir()) if (d / "__init__.py").is_file()]
    # look.py draws the HD suite's light, shadows and textures: a change there changes its frames
    physics = ("engine.py", "client.py", "params.py", "look.py")  # stepping, the pybullet client, ranges, looks
    return source_digest(package, sorted([*(package / f for f in physics),
                                          *(p for d in families for p in d.rglob("*.py"))]))


def is_current(folder: str | Path) -> bool:
    """Complete, whole, and made by the scenario code installed now (not by an older version of it).
    A frames.npz cut short (a full disk, an interrupted copy) has lost the zip directory at its end:
    reading that directory costs one small read, and such an episode is made again."""
    if not is_complete(folder):
        return False
    try:
        made_by = json.loads((Path(folder) / META_FILE).read_text())["versions"].get("scenarios_source")
        with zipfile.ZipFile(Path(folder) / FRAMES_FILE) as z:
            whole = {"rgb.npy", "seg.npy", "depth.npy"} <= set(z.namelist())
    except (OSError, ValueError, KeyError, AttributeError, zipfile.BadZipFile):
        return False
    return whole and made_by == scenarios_fingerprint()


def load_episode(folder: str | Path) -> Episode:
    """Read and check one episode folder. Raises EpisodeError naming the file and the problem."""
    folder = Path(folder)
    meta_path, frames_path = folder / META_FILE, folder / FRAMES_FILE
    if not folder.is_dir():
        raise EpisodeError(f"{folder}: no such episode folder")
    if not meta_path.is_file():
        raise EpisodeError(f"{folder}: incomplete episode (no {META_FILE}); regenerate it")
    meta = read_json(meta_path, EpisodeError)
    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        raise EpisodeError(f"{meta_path}: missing fields {', '.join(missing)}")
    if meta["schema_version"] != SCHEMA_VERSION:
        raise EpisodeError(f"{meta_path}: schema_version {meta['schema_version']}, this loader reads {SCHEMA_VERSION}")
    if not frames_path.is_file():
        raise EpisodeError(f"{frames_path}: missing")
    if not zipfile.is_zipfile(frames_path):  # numpy would call any other file "pickled data"
        raise EpisodeError(f"{frames_path}: not an npz archive (unreadable, truncated or another kind of file)")
    try:
        with np.load(frames_path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in ("rgb", "seg", "depth")}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as e:
        raise EpisodeError(f"{frames_path}: unreadable or corrupt ({type(e).__name__}: {e})") from None
    t, h, w = meta["n_frames"], meta["height"], meta["width"]
    expect = {"rgb": ((t, h, w, 3), np.uint8), "seg": ((t, h, w), np.int32), "depth": ((t, h, w), np.float16)}
    for k, (shape, dtype) in expect.items():
        a = arrays[k]
        if a.shape != shape or a.dtype != dtype:
            raise EpisodeError(f"{frames_path}: '{k}' is {a.dtype}{list(a.shape)}, meta.json says {np.dtype(dtype)}{list(shape)}")
    return Episode(meta=meta, **arrays)


def find_episodes(root: str | Path, family: str | None = None, scenario: str | None = None) -> Iterator[Path]:
    """Complete episode folders under root, in sorted order."""
    pattern = f"{family or '*'}/{scenario or '*'}/*/{META_FILE}"
    for meta in sorted(Path(root).glob(pattern)):
        if (meta.parent / FRAMES_FILE).is_file():
            yield meta.parent
