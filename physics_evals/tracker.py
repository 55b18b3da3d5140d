"""Find objects in RGB frames without the simulator's masks: colour keying plus connected components.

Every scenario gives its objects distinct saturated colours and records them in meta.json
(`objects[i]["rgb"]`, 0..255); the sky and the ground are unsaturated. TinyRenderer's
shading scales a surface's brightness but keeps its hue and saturation, so a pixel belongs
to the object whose hue is nearest, provided it is saturated and not too dark. Connected
components then drop specks and count pieces (shards). Saturated blobs whose hue matches no
object are reported as `unknown`: a spawned object of a new colour shows up there.

The same instrument measures the truth (`track` on the true frames) and the rollout, so a
perfect rollout measures exactly like the truth; `validate` checks the instrument against
the true segmentation.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class TrackerConfig:
    min_saturation: int = 110   # 0..255; sky/ground have 0, palette colours about 225
    min_value: int = 40         # 0..255; darker pixels carry no reliable hue
    hue_tolerance: float = 10.0 # OpenCV hue units (degrees / 2); palette hues are >= 11 units apart
    min_area: int = 2           # pixels; smaller connected components are specks, not objects or shards


@dataclass
class Tracks:
    ids: list[int]               # object id of each track (meta.json order)
    mask: np.ndarray             # (T, O, H, W) bool
    area: np.ndarray             # (T, O) int, pixels
    centroid: np.ndarray         # (T, O, 2) float (x right, y down); NaN where absent
    present: np.ndarray          # (T, O) bool
    n_components: np.ndarray     # (T, O) int, pieces of at least min_area pixels
    trackable: np.ndarray        # (O,) bool, False for unsaturated objects (they cannot be keyed)
    n_unknown: np.ndarray        # (T,) int, saturated blobs of no object's colour

    @property
    def n_frames(self) -> int:
        return int(self.area.shape[0])

    def index(self, obj_id: int) -> int:
        return self.ids.index(obj_id)

    def frames(self, sl: slice) -> "Tracks":
        """The tracks of a range of frames."""
        return Tracks(**{k: getattr(self, k)[sl] if k in _PER_FRAME else getattr(self, k) for k in _FIELDS})

    def then(self, later: "Tracks") -> "Tracks":
        """These frames followed by `later`'s (same objects)."""
        return Tracks(**{k: np.concatenate([getattr(self, k), getattr(later, k)]) if k in _PER_FRAME
                         else getattr(self, k) for k in _FIELDS})


_FIELDS = ("ids", "mask", "area", "centroid", "present", "n_components", "trackable", "n_unknown")
_PER_FRAME = ("mask", "area", "centroid", "present", "n_components", "n_unknown")


def _hue_sat(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 RGB -> (..., 3) uint8 HSV in OpenCV units (H 0..179)."""
    flat = np.ascontiguousarray(rgb.reshape(-1, 1, 3))
    return cv2.cvtColor(flat, cv2.COLOR_RGB2HSV).reshape(rgb.shape)


def object_hsv(objects: list[dict]) -> np.ndarray:
    """(O, 3) HSV of each object's recorded colour."""
    if not objects:
        return np.zeros((0, 3), np.float32)
    rgb = np.array([o["rgb"] for o in objects], dtype=np.uint8).reshape(-1, 3)
    return _hue_sat(rgb).astype(np.float32)


def _components(mask: np.ndarray, min_area: int) -> tuple[np.ndarray, int]:
    """Keep connected components (8-connectivity) of at least min_area pixels; return (mask, count)."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=8)
    keep = np.zeros(n, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_area
    return keep[labels], int(keep.sum())


def masks_to_tracks(raw: np.ndarray, ids: list[int], trackable: np.ndarray, min_area: int,
                    n_unknown: np.ndarray | None = None) -> Tracks:
    """Tracks from per-object masks (T, O, H, W): drop specks, count pieces, measure."""
    T, O, H, W = raw.shape
    mask = np.zeros_like(raw, dtype=bool)
    n_comp = np.zeros((T, O), int)
    for t, o in zip(*np.nonzero(raw.any(axis=(2, 3)))):
        mask[t, o], n_comp[t, o] = _components(raw[t, o], min_area)
    area = mask.sum(axis=(2, 3))
    ys, xs = np.arange(H, dtype=np.float64), np.arange(W, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        cx = (mask.sum(axis=2) * xs).sum(-1) / area       # (T, O)
        cy = (mask.sum(axis=3) * ys).sum(-1) / area
    centroid = np.stack([cx, cy], axis=-1)
    present = area > 0
    centroid[~present] = np.nan
    return Tracks(ids=list(ids), mask=mask, area=area, centroid=centroid, present=present,
                  n_components=n_comp, trackable=np.asarray(trackable, bool),
                  n_unknown=np.zeros(T, int) if n_unknown is None else n_unknown)


def track(rgb: np.ndarray, objects: list[dict], cfg: TrackerConfig = TrackerConfig()) -> Tracks:
    """Per-object masks, areas, centroids, presence and piece counts from RGB frames (T, H, W, 3) uint8."""
    if rgb.ndim != 4 or rgb.shape[-1] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"track expects (T, H, W, 3) uint8 frames, got {rgb.dtype}{list(rgb.shape)}")
    T, H, W, _ = rgb.shape
    hsv = _hue_sat(rgb)                                        # (T, H, W, 3)
    saturated = (hsv[..., 1] >= cfg.min_saturation) & (hsv[..., 2] >= cfg.min_value)  # (T, H, W)
    ref = object_hsv(objects)                                  # (O, 3)
    trackable = ref[:, 1] >= cfg.min_saturation
    # nearest object and whether it is near enough, per OpenCV hue value (0..179): a lookup per pixel
    hues = np.arange(180, dtype=np.float32)[:, None]
    d = np.abs(hues - ref[:, 0])                                # (180, O) circular hue distance
    d = np.minimum(d, 180.0 - d)
    d[:, ~trackable] = np.inf
    nearest_lut = d.argmin(1) if len(objects) else np.zeros(180, int)
    near_lut = d.min(1) <= cfg.hue_tolerance if len(objects) else np.zeros(180, bool)
    hue = hsv[..., 0]
    matched = saturated & near_lut[hue]                         # (T, H, W)
    nearest = nearest_lut[hue]
    raw = np.stack([matched & (nearest == o) for o in range(len(objects))], axis=1) if len(objects) \
        else np.zeros((T, 0, H, W), bool)                       # (T, O, H, W)
    unknown = saturated & ~matched
    n_unknown = np.array([_components(u, cfg.min_area)[1] if u.any() else 0 for u in unknown], int)
    return masks_to_tracks(raw, [o["id"] for o in objects], trackable, cfg.min_area, n_unknown)


def tracks_from_seg(seg: np.ndarray, objects: list[dict], min_area: int = 1) -> Tracks:
    """The same measurements from a true segmentation (T, H, W) int32 (-1 = background)."""
    raw = np.stack([seg == o["id"] for o in objects], axis=1)  # (T, O, H, W)
    return masks_to_tracks(raw, [o["id"] for o in objects], np.ones(len(objects), bool), min_area)


def validate(rgb: np.ndarray, seg: np.ndarray, objects: list[dict], cfg: TrackerConfig = TrackerConfig()) -> dict:
    """Tracker vs true segmentation, per trackable object: mean IoU over frames where either mask is
    non-empty, mean and max centroid error (px) over frames where the object is visible in the truth,
    and presence agreement."""
    pred, true = track(rgb, objects, cfg), tracks_from_seg(seg, objects, cfg.min_area)
    out = {}
    for i, o in enumerate(objects):
        if not pred.trackable[i]:
            continue
        inter = (pred.mask[:, i] & true.mask[:, i]).sum(axis=(1, 2))
        union = (pred.mask[:, i] | true.mask[:, i]).sum(axis=(1, 2))
        both = pred.present[:, i] & true.present[:, i]
        err = np.linalg.norm(pred.centroid[both, i] - true.centroid[both, i], axis=-1)
        out[o["id"]] = {
            "iou": float((inter[union > 0] / union[union > 0]).mean()) if (union > 0).any() else 1.0,
            "centroid_error_px": float(err.mean()) if len(err) else 0.0,
            "max_centroid_error_px": float(err.max()) if len(err) else 0.0,
            "presence_agreement": float((pred.present[:, i] == true.present[:, i]).mean()),
            "n_visible_frames": int(true.present[:, i].sum()),
        }
    return out
