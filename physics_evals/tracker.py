"""Find objects in RGB frames without the simulator's masks: colour keying plus connected components.

Every scenario gives its objects distinct saturated colours and records them in meta.json
(`objects[i]["rgb"]`, 0..255); the sky and the ground are unsaturated. TinyRenderer's
shading scales a surface's brightness but keeps its hue and saturation, so a pixel belongs
to the object whose hue is nearest, provided it is saturated and not too dark. Connected
components then drop specks and count pieces (shards). Saturated blobs whose hue matches no
object are reported as `unknown`: a spawned object of a new colour shows up there.

An object's mask is its plausible blob(s), not every pixel of its hue. Noise frames (and the
speckle a diffusion model leaves) put pixels of every colour everywhere; averaged, they pull each
centroid towards the image centre, which can sit closer to the truth than an honest but wrong
prediction. So: components below a minimum area (a fixed fraction of the image) are specks; an
object that is one rigid body keeps only its main blob (plus at most a few pieces of comparable
size: a body cut by something thin in front of it); and when its colour is scattered over many
comparable small pieces, as in noise, it is not cleanly present at all (absent). Roles that are
legitimately several pieces (glass after shattering, paint strokes, bitten food) keep every
component above the minimum.

The same instrument measures the truth (`track` on the true frames) and the rollout, so a
perfect rollout measures exactly like the truth; `validate` checks the instrument against
the true segmentation.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


PIECE_ROLES = ("glass", "paint", "food")  # roles that may show as several pieces; every other is one body


@dataclass(frozen=True)
class TrackerConfig:
    min_saturation: int = 110   # 0..255; sky/ground have 0, palette colours about 225
    min_value: int = 40         # 0..255; darker pixels carry no reliable hue
    hue_tolerance: float = 10.0 # OpenCV hue units (degrees / 2); palette hues are >= 11 units apart
    min_area_fraction: float = 1 / 2048  # of the image; smaller components are specks (2 px at 64x64)
    min_area_floor: int = 2     # pixels; the speck size never drops below this (one pixel is never a piece)
    piece_ratio: float = 4.0    # a one-body object keeps components at least 1/piece_ratio of its largest
    max_pieces: int = 3         # more such pieces than this is scattered colour (noise), not a body

    def min_area(self, height: int, width: int) -> int:
        """Speck size in pixels at this resolution: it scales with the image, as objects and shards do."""
        return max(self.min_area_floor, round(self.min_area_fraction * height * width))


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


def _components(mask: np.ndarray, min_area: int, one_body: bool = False,
                cfg: TrackerConfig = TrackerConfig()) -> tuple[np.ndarray, int]:
    """Keep connected components (8-connectivity) of at least min_area pixels; return (mask, count).

    one_body: the mask is one rigid body's colour. Keep its largest component and those of comparable
    size (>= largest / piece_ratio), so that specks of its colour elsewhere never move its centroid
    while a body cut in two by a thin thing in front stays whole. More than max_pieces comparable
    components is colour scattered over the frame (noise), where no blob is the object: keep none.
    Each frame is judged alone (no "nearest to the previous position"): a rollout is measured on what
    each of its frames shows, and the truth and the rollout go through the same rule.
    """
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=8)
    area = stats[:, cv2.CC_STAT_AREA]
    keep = np.zeros(n, bool)
    keep[1:] = area[1:] >= min_area
    if one_body and keep.any():
        keep &= area >= area[1:].max() / cfg.piece_ratio
        if keep.sum() > cfg.max_pieces:
            keep[:] = False
    return keep[labels], int(keep.sum())


def masks_to_tracks(raw: np.ndarray, ids: list[int], trackable: np.ndarray, min_area: int,
                    n_unknown: np.ndarray | None = None, one_body: np.ndarray | None = None,
                    cfg: TrackerConfig = TrackerConfig()) -> Tracks:
    """Tracks from per-object masks (T, O, H, W): drop specks (and, for objects flagged one_body (O,),
    every component but the body's, see _components), count pieces, measure."""
    T, O, H, W = raw.shape
    one_body = np.zeros(O, bool) if one_body is None else np.asarray(one_body, bool)
    mask = np.zeros_like(raw, dtype=bool)
    n_comp = np.zeros((T, O), int)
    for t, o in zip(*np.nonzero(raw.any(axis=(2, 3)))):
        mask[t, o], n_comp[t, o] = _components(raw[t, o], min_area, one_body[o], cfg)
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
    min_area = cfg.min_area(H, W)
    n_unknown = np.array([_components(u, min_area)[1] if u.any() else 0 for u in unknown], int)
    return masks_to_tracks(raw, [o["id"] for o in objects], trackable, min_area, n_unknown,
                           one_body=[o.get("role") not in PIECE_ROLES for o in objects], cfg=cfg)


def tracks_from_seg(seg: np.ndarray, objects: list[dict], min_area: int = 1) -> Tracks:
    """The same measurements from a true segmentation (T, H, W) int32 (-1 = background). Every piece
    of at least min_area counts: the true mask has no specks to reject, so it is the reference the
    tracker's one-body rule is checked against."""
    raw = np.stack([seg == o["id"] for o in objects], axis=1)  # (T, O, H, W)
    return masks_to_tracks(raw, [o["id"] for o in objects], np.ones(len(objects), bool), min_area)


def validate(rgb: np.ndarray, seg: np.ndarray, objects: list[dict], cfg: TrackerConfig = TrackerConfig()) -> dict:
    """Tracker vs true segmentation, per trackable object: mean IoU over frames where either mask is
    non-empty, mean and max centroid error (px) over frames where the object is visible in the truth,
    and presence agreement."""
    pred, true = track(rgb, objects, cfg), tracks_from_seg(seg, objects, cfg.min_area(*seg.shape[1:3]))
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
