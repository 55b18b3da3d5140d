"""What the tracker measures per frame and object (`Tracks`), and how a clip's tracks are cut and joined.
The tracker (physics_evals.tracker) fills it; the metrics read it."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Tracks:
    ids: list[int]               # object id of each track (meta.json order)
    mask: np.ndarray             # (T, O, H, W) bool, the kept components
    area: np.ndarray             # (T, O) float, pixels: the soft area (sum of weight) where present, else 0
    centroid: np.ndarray         # (T, O, 2) float (x right, y down), weight-averaged; NaN where absent
    present: np.ndarray          # (T, O) bool
    n_components: np.ndarray     # (T, O) int, pieces of at least min_area pixels
    trackable: np.ndarray        # (O,) bool, False for unsaturated objects (they cannot be keyed)
    n_unknown: np.ndarray        # (T,) int, persistent solid blobs of no object's colour
    weight: np.ndarray | None = None  # (T, O, H, W) float32 soft coverage 0..1 (None: the mask itself)
    marginal: np.ndarray | None = None  # (T, O) bool: only partly seen (a sliver), neither clearly in nor out

    @property
    def n_frames(self) -> int:
        return int(self.area.shape[0])

    def coverage(self) -> np.ndarray:
        """(T, O, H, W) float32 soft coverage (the mask where no weights were measured)."""
        return self.mask.astype(np.float32) if self.weight is None else self.weight

    def uncertain(self) -> np.ndarray:
        """(T, O) bool: frames where the object is only partly seen (all False where not measured)."""
        return np.zeros(self.present.shape, bool) if self.marginal is None else self.marginal

    def certain(self) -> np.ndarray:
        """(T, O) bool: frames where the object is clearly seen (present and not marginal)."""
        return self.present & ~self.uncertain()

    def index(self, obj_id: int) -> int:
        return self.ids.index(obj_id)

    def frames(self, sl: slice) -> "Tracks":
        """The tracks of a range of frames."""
        return Tracks(**{k: _take(getattr(self, k), sl) if k in _PER_FRAME else getattr(self, k) for k in _FIELDS})

    def then(self, later: "Tracks") -> "Tracks":
        """These frames followed by `later`'s (same objects)."""
        def cat(k):
            a, b = getattr(self, k), getattr(later, k)
            if k == "weight" and (a is None or b is None):
                a, b = self.coverage(), later.coverage()
            if k == "marginal" and (a is None or b is None):
                a, b = self.uncertain(), later.uncertain()
            return np.concatenate([a, b])
        return Tracks(**{k: cat(k) if k in _PER_FRAME else getattr(self, k) for k in _FIELDS})


_FIELDS = ("ids", "mask", "area", "centroid", "present", "n_components", "trackable", "n_unknown", "weight",
           "marginal")
_PER_FRAME = ("mask", "area", "centroid", "present", "n_components", "n_unknown", "weight", "marginal")


def _take(a, sl):
    return None if a is None else a[sl]
