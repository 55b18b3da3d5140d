"""Find objects in RGB frames without the simulator's masks: colour keying plus connected components,
built to measure real (lossy, resampled) video the same as the clean truth.

Every scenario gives its objects distinct saturated colours and records them in meta.json
(`objects[i]["rgb"]`, 0..255); the sky, the ground and the scenery are unsaturated.

Colour. A pixel is matched by its hue and saturation (HSV). Why HSV hue rather than a CIELAB
distance: what real video does to an object's pixels is mix them with their neighbours (blur,
resizing, 4:2:0 chroma, codec blocks) and scale them (shading, brightness drift), and those
operations act on the encoded RGB values. Mixing a colour with grey or white and scaling it leaves
its HSV hue exactly where it was (hue depends only on the ratios of max - mid and max - min), while
a CIELAB hue angle drifts under both. Saturation falls as an edge pixel mixes with the scenery, and
the gate on it sits near a half-and-half mix, so a blurred edge keeps the object's area.

Soft coverage. Besides the hard mask, each object gets a per-pixel coverage `weight` in 0..1 from
linear unmixing: the pixel's chroma (the RGB vector minus its grey part) projected on the object's
chroma direction, over the object's full chroma (the mean deep inside it over the clip). Mixing is linear in RGB, so the
sum of the weights (the soft area) and their first moments (the soft centroid) are what a blur or a
chroma average leaves unchanged: sub-pixel centroids and areas that survive resampling. A pixel's
weight goes to the one object its hue is nearest, so a neighbour of another colour never counts.

Subsampled colour. Nearly every video codec, and JPEG, stores colour at half the resolution of
brightness (4:2:0) and quantises it hard, which averages a small object's chroma with its neighbour's:
a 15-20 px yellow ball beside a cyan pane comes out green, with no pixel of its own hue. Where the
file says its colour is subsampled (`track(..., mixtures=True)`, set from the rollout's pixel format),
a pixel whose hue lies between two objects' hues is unmixed in the chroma plane, c = a c_i + b c_j,
and counts for the dominant object when it holds a real share of it, the two shares sum to no more
than a mixture with grey allows (a new colour has more chroma), the other object shows nearby (a
chroma block's reach), the pixel is not grey, and the two colours are not near opposites (yellow and
blue mix to grey: nothing is left to unmix). The soft coverage is unmixed the same way: in a pixel that
mixes an object with a neighbour, the object's share (not its colour's projection, which the
neighbour's chroma pulls down) is its coverage, wherever the pixel's hue lies. Unmixing is linear, so
the chroma that 4:2:0 moves from an object's edge into its neighbour comes back to it: a ball resting
on a coloured support keeps its centroid (by colour alone it rises 0.7 px). Full-colour frames (npz
rollouts, every built-in model) are never measured this way, so their scores are exactly those of the
plain colour key.

Pieces. Connected components (8-connectivity); for roles that come in pieces they are grouped across
gaps of up to `group_px` pixels (at 64x64; scaled with the image), so a shard counts once it is
clearly apart, not when a codec blurs a hairline crack open or shut. Components below a minimum area are specks;
an object that is one rigid body keeps only its main blob (plus at most a few pieces of comparable
size); when its colour is scattered over many comparable small pieces, as in noise, it is absent.
Roles that are legitimately several pieces (glass, paint, bitten food) keep every component.

Presence has hysteresis: a body appears when it shows `present_area` pixels and stays until it
falls below the speck size, so an area hovering at a threshold cannot flicker in and out. A frame
where an object shows only a sliver (no part `core_px` wide) is `marginal`: neither clearly in nor
out, so the metrics do not hold the rollout to either there.

Unknown colour. A spawned object of a colour no object has shows up in `n_unknown`, but only as a
strongly saturated blob far in hue from every object, with a solid core (it survives an erosion:
edge mixtures and codec fringes are thin), for `unknown_frames` consecutive frames in the same place.

The same instrument measures the truth (`track` on the true frames) and the rollout, so a perfect
rollout measures exactly like the truth; `validate` checks the instrument against the true
segmentation, on clean and on degraded frames (tests/test_tracker.py, tests/test_invariance.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .framewise import per_frame
from .tracks import Tracks

PIECE_ROLES = ("glass", "paint", "food")  # roles that may show as several pieces; every other is one body


@dataclass(frozen=True)
class TrackerConfig:
    min_saturation: int = 110   # 0..255; sky/ground have 0, palette colours about 225: about a half mix
    min_value: int = 40         # 0..255; darker pixels carry no reliable hue
    hue_tolerance: float = 10.0 # OpenCV hue units (degrees / 2); palette hues are >= 11 units apart
    min_area_fraction: float = 1 / 2048  # of the image; smaller components are specks (2 px at 64x64)
    min_area_floor: int = 2     # pixels; the speck size never drops below this (one pixel is never a piece)
    present_fraction: float = 1 / 512    # of the image: an absent object appears at this area (8 px at 64x64)
    core_px: int = 3            # px at 64x64: clearly seen means a part at least this wide (else marginal)
    group_px: int = 1           # px at 64x64 (scaled with the image): gaps this narrow do not split a piece
    support_px: int = 2         # px at 64x64: soft coverage is summed this far around the hard mask
    max_coverage: float = 1.5   # a pixel's coverage is capped here (shading makes pure pixels 0.7..1.3)
    piece_ratio: float = 4.0    # a one-body object keeps components at least 1/piece_ratio of its largest
    max_pieces: int = 3         # more such pieces than this is scattered colour (noise), not a body
    unknown_saturation: int = 150  # 0..255: an unknown colour must be this saturated (a palette colour is ~225)
    unknown_hue_gap: float = 15.0  # OpenCV hue units from every object's hue
    unknown_core: int = 3       # px at 64x64: an unknown blob must contain a square this wide
    unknown_frames: int = 3     # consecutive frames an unknown blob must persist (half of it in place)
    mix_share: float = 0.35     # a two-object mixture pixel goes to the object with at least this share
    mix_total: float = 1.25     # ... when the two shares sum to at most this (more chroma is a new colour)
    mix_chroma: float = 0.2     # ... and its own chroma is at least this much of that object's (not grey)
    mix_px: int = 8             # px at 64x64: the other object must be this near (a 4:2:0 JPEG block's reach)
    mix_opposite: float = -0.8  # colours whose chroma cosine is below this mix to grey: never unmixed
    mix_trace: float = 0.1      # a neighbour's share that makes a pixel shared, for soft coverage

    def scale(self, height: int, width: int) -> float:
        return min(height, width) / 64.0

    def min_area(self, height: int, width: int) -> int:
        """Speck size in pixels at this resolution: it scales with the image, as objects and shards do."""
        return max(self.min_area_floor, round(self.min_area_fraction * height * width))

    def present_area(self, height: int, width: int) -> int:
        return max(self.min_area(height, width), round(self.present_fraction * height * width))


def _hsv(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 RGB -> (..., 3) uint8 HSV in OpenCV units (H 0..179)."""
    # frames as rows of one image: OpenCV converts pixel by pixel, and whole rows go 6x faster than
    # one-pixel rows
    flat = np.ascontiguousarray(rgb.reshape(-1, rgb.shape[-2] if rgb.ndim >= 3 else 1, 3))
    return cv2.cvtColor(flat, cv2.COLOR_RGB2HSV).reshape(rgb.shape)


def object_hsv(objects: list[dict]) -> np.ndarray:
    """(O, 3) HSV of each object's recorded colour."""
    if not objects:
        return np.zeros((0, 3), np.float32)
    rgb = np.array([o["rgb"] for o in objects], dtype=np.uint8).reshape(-1, 3)
    return _hsv(rgb).astype(np.float32)


# chroma: RGB minus its grey part, in an orthonormal basis of the plane orthogonal to grey (R=G=B)
_CHROMA = np.array([[1 / np.sqrt(2), -1 / np.sqrt(2), 0.0],
                    [1 / np.sqrt(6), 1 / np.sqrt(6), -2 / np.sqrt(6)]], np.float32)   # (2, 3)


def chroma_along(rgb: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """(...,) float32: each pixel's chroma projected on `direction` (2,), in chroma units; rgb (..., 3) uint8,
    or float32 (used as it is: a caller that projects one rectangle several times converts it once). Written
    out channel by channel, not as a matrix product: BLAS rounds a product differently with the array's
    shape and with the processor (its kernels), and a pixel's value must depend on neither."""
    d = np.asarray(direction, np.float32)
    w = _CHROMA[0] * d[0] + _CHROMA[1] * d[1]                                # (3,) weights of R, G, B
    f = np.asarray(rgb, np.float32)
    return f[..., 0] * w[0] + f[..., 1] * w[1] + f[..., 2] * w[2]


def _kernel(px: int) -> np.ndarray:
    return np.ones((2 * px + 1, 2 * px + 1), np.uint8)


_K3, _K5 = _kernel(1), _kernel(2)


def _morph(op, masks: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """op (cv2.erode or cv2.dilate) with kernel on each frame of masks (T, H, W) bool."""
    return per_frame(lambda image: op(image, kernel), masks)


def _components(mask: np.ndarray, min_area: int, one_body: bool = False,
                cfg: TrackerConfig = TrackerConfig(), group: int = 0) -> tuple[np.ndarray, int]:
    """Keep connected components (8-connectivity, joined across gaps of up to `group` px) of at least
    min_area pixels; return (mask, count).

    one_body: the mask is one rigid body's colour. Keep its largest component and those of comparable
    size (>= largest / piece_ratio), so that specks of its colour elsewhere never move its centroid
    while a body cut in two by a thin thing in front stays whole. More than max_pieces comparable
    components is colour scattered over the frame (noise), where no blob is the object: keep none.
    Each frame is judged alone (no "nearest to the previous position"): a rollout is measured on what
    each of its frames shows, and the truth and the rollout go through the same rule.
    """
    m8 = mask.view(np.uint8)
    if group > 0:
        joined = cv2.dilate(m8, np.ones((group + 1, group + 1), np.uint8))  # bridges `group` px
        n, labels = cv2.connectedComponents(joined, connectivity=8)
        labels = np.where(mask, labels, 0)
        area = np.bincount(labels.ravel(), minlength=n)
    else:
        n, labels, stats, _ = cv2.connectedComponentsWithStats(m8, connectivity=8)
        area = stats[:, cv2.CC_STAT_AREA]
    keep = np.zeros(n, bool)
    keep[1:] = area[1:] >= min_area
    if keep[1:].all() and (not one_body or n <= 2):
        return mask, n - 1      # every piece stays: the mask as it is
    if one_body and keep.sum() > 1:
        # the body is the most solid blob (largest core, then largest area): where two other objects
        # meet, their mixed edge can take this object's hue, in a thin band that may outgrow a small
        # body; more pieces count only when solid too and of comparable size
        core = np.bincount(labels[cv2.erode(m8, _K3).astype(bool)], minlength=n)
        core[0] = -1
        main = int(np.lexsort((area, core))[-1])
        # a thin piece counts only right beside the main blob (the body cut by something thin in front)
        near = np.zeros(n, bool)
        near[np.unique(labels[cv2.dilate((labels == main).view(np.uint8), _K5).astype(bool)])] = True
        comparable = keep & (area >= area[main] / cfg.piece_ratio)
        keep = comparable & ((np.arange(n) == main) | (core > 0) | near)
        if comparable.sum() > cfg.max_pieces:   # colour scattered in many like pieces: noise, not a body
            keep[:] = False
    return keep[labels], int(keep.sum())


def _clip_components(masks: np.ndarray, min_area: int, one_body: bool = False,
                     cfg: TrackerConfig = TrackerConfig(), group: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """_components on every frame of masks (T, H, W) bool: (masks kept, (T,) counts).

    Most frames keep every pixel (no specks; a body in one piece), and those need no per-frame call:
    one labelling of all frames, stacked with `group + 1` empty rows between them, finds them. The gap
    keeps frames apart even after the join's dilation (it spreads `group` rows in all), and what the
    dilation spills into a gap lies right beside the frame's own dilated edge row, so it joins nothing
    the frame alone would not. The other frames go through _components as before."""
    T, H, W = masks.shape
    out, counts = masks.copy(), np.zeros(T, int)
    busy = np.flatnonzero(masks.any(axis=(1, 2)))
    if not len(busy):
        return out, counts
    gap = group + 1
    tall = np.zeros((len(busy), gap + H, W), np.uint8)    # each frame below its gap: a component's top
    tall[:, gap:] = masks[busy]                           # row (spill included) lies in its own frame's block
    tall = tall.reshape(-1, W)
    joined = cv2.dilate(tall, np.ones((group + 1, group + 1), np.uint8)) if group > 0 else tall
    n, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    area = np.bincount(labels[tall.astype(bool)], minlength=n) if group > 0 else stats[:, cv2.CC_STAT_AREA]
    frame = stats[1:, cv2.CC_STAT_TOP] // (H + gap)                     # the frame each component lies in
    pieces = np.bincount(frame, minlength=len(busy))
    specks = np.bincount(frame, weights=area[1:] < min_area, minlength=len(busy))
    whole = (specks == 0) & (pieces <= 1 if one_body else True)          # _components' "every piece stays"
    counts[busy] = pieces
    for t in busy[~whole]:
        out[t], counts[t] = _components(masks[t], min_area, one_body, cfg, group)
    return out, counts


def _hysteresis(area: np.ndarray, low: float, high: float) -> np.ndarray:
    """(T, O) presence: on at >= high, off below low (T is the first axis)."""
    present = np.zeros(area.shape, bool)
    state = np.zeros(area.shape[1:], bool)
    for t in range(len(area)):
        state = np.where(state, area[t] >= low, area[t] >= high)
        present[t] = state
    return present


def _box(seen: np.ndarray, margin: int) -> tuple[slice, slice] | None:
    """The rectangle around every pixel of seen (H, W) bool (an object's raw pixels in any frame), widened
    by margin px within the image; None where seen is empty."""
    rows, cols = np.flatnonzero(seen.any(axis=1)), np.flatnonzero(seen.any(axis=0))
    if not len(rows):
        return None
    H, W = seen.shape
    return (slice(max(rows[0] - margin, 0), min(rows[-1] + margin + 1, H)),
            slice(max(cols[0] - margin, 0), min(cols[-1] + margin + 1, W)))


def masks_to_tracks(raw: np.ndarray, ids: list[int], trackable: np.ndarray, min_area: int,
                    n_unknown: np.ndarray | None = None, one_body: np.ndarray | None = None,
                    cfg: TrackerConfig = TrackerConfig(), weight=None,
                    present_area: int | None = None, group: int = 0, core: int = 3, support: int = 1) -> Tracks:
    """Tracks from per-object masks (T, O, H, W): drop specks (and, for objects flagged one_body (O,),
    every component but the body's, see _components), count pieces, measure. With `weight` (soft
    coverage: the same shape, or a function (o, rows, cols) -> that object's coverage in a rectangle)
    areas and centroids are soft over the kept pieces and their edge ring.

    Each object is measured in the rectangle around its raw pixels over the clip, widened by a margin
    that every filter below reaches no further than (pieces joined across `group` px, the `support`
    ring, 5x5 and core x core erosions of pixels inside it): outside it nothing is on, so the values
    are those of whole frames (tests/test_scoring_equivalence.py), at the cost of the object's size."""
    T, O, H, W = raw.shape
    one_body = np.zeros(O, bool) if one_body is None else np.asarray(one_body, bool)
    mask = np.zeros_like(raw, dtype=bool)
    n_comp = np.zeros((T, O), int)
    soft = np.zeros(raw.shape, np.float32) if weight is not None else None
    area = np.zeros((T, O))
    col, row = np.zeros((T, O, W)), np.zeros((T, O, H))     # soft mass per column and per row
    solid, hard, seen = np.zeros((T, O), bool), np.zeros((T, O), int), np.zeros((T, O), bool)
    margin = max(group, support, core, 2) + 1
    # a body appears at present_area; pieces (a first stroke, a shard) count from the speck size on
    on = np.where(one_body, present_area if present_area is not None else min_area, min_area)   # (O,)
    anywhen = raw.any(axis=0)                               # (O, H, W): each object's pixels in any frame
    for o in range(O):
        box = _box(anywhen[o], margin)
        if box is None:
            continue
        ys, xs = box
        r = np.ascontiguousarray(raw[:, o, ys, xs])
        seen[:, o] = r.any(axis=(1, 2))
        # pieces (shards, strokes) are counted across narrow gaps; a body's fragments are judged by size
        m, n_comp[:, o] = _clip_components(r, min_area, one_body[o], cfg, 0 if one_body[o] else group)
        hard[:, o] = m.sum(axis=(1, 2))
        if weight is not None:
            sup = _morph(cv2.dilate, m, _kernel(support))
            # the ring adds the mixed edge pixels; a pixel of the full colour there is a speck or a piece
            # that the component rule rejected, and stays rejected
            wo = weight(o, ys, xs) if callable(weight) else weight[:, o, ys, xs]
            w = np.where(m | (sup & ~r), wo, 0).astype(np.float32)
            soft[:, o, ys, xs] = w
        else:
            w = m.astype(np.float32)
        mask[:, o, ys, xs] = m
        # sums over whole frames, in the order the whole-frame code summed them: the same float64 bits
        full = soft[:, o] if soft is not None else mask[:, o].astype(np.float32)
        area[:, o] = full.sum(axis=(1, 2), dtype=np.float64)
        col[:, o] = full.sum(axis=1, dtype=np.float64)
        row[:, o] = full.sum(axis=2, dtype=np.float64)
        # clearly seen: at least the appearance area, with a solid part (core x core); a sliver at the edge
        # of an occluder is neither clearly in nor out: any instrument (and any codec) may go either way
        solid[:, o] = (hard[:, o] >= on[o]) & _morph(cv2.erode, m, np.ones((core, core), np.uint8)).any(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        cx = (col * np.arange(W, dtype=np.float64)).sum(-1) / area       # (T, O)
        cy = (row * np.arange(H, dtype=np.float64)).sum(-1) / area
    centroid = np.stack([cx, cy], axis=-1)
    present = _hysteresis(hard, min_area, on)
    centroid[~present] = np.nan
    area = np.where(present, area, 0.0)
    marginal = (seen | present) & ~solid
    return Tracks(ids=list(ids), mask=mask, area=area, centroid=centroid, present=present,
                  n_components=np.where(present, n_comp, 0), trackable=np.asarray(trackable, bool),
                  n_unknown=np.zeros(T, int) if n_unknown is None else n_unknown, weight=soft,
                  marginal=marginal)


def _unknown_blobs(unknown: np.ndarray, core: int, frames: int) -> np.ndarray:
    """(T,) count of solid blobs of unknown colour: the parts of the colour that contain a core x core
    square (a morphological opening), half of which stays such a part in the frames before or after,
    over a run of `frames` consecutive frames. Edge fringes are thin and codec blocks flicker; noise makes
    solid squares only by chance and never in the same place twice."""
    T = len(unknown)
    k = np.ones((core, core), np.uint8)
    solid = np.zeros_like(unknown)
    for t in np.flatnonzero(unknown.any(axis=(1, 2))):
        solid[t] = cv2.morphologyEx(unknown[t].view(np.uint8), cv2.MORPH_OPEN, k).astype(bool)
    counts = np.zeros(T, int)
    for t in np.flatnonzero(solid.any(axis=(1, 2))):
        n, labels = cv2.connectedComponents(solid[t].view(np.uint8), connectivity=8)
        for c in range(1, n):
            blob = labels == c
            need = blob.sum() / 2  # at least half of it is solid unknown colour in the frames around
            run, s = 1, t - 1      # the run of frames around t in which this place holds it
            while s >= 0 and (solid[s] & blob).sum() >= need and run < frames:
                run, s = run + 1, s - 1
            s = t + 1
            while s < T and (solid[s] & blob).sum() >= need and run < frames:
                run, s = run + 1, s + 1
            counts[t] += run >= frames
    return counts


def _lookup(values: np.ndarray, table: np.ndarray) -> np.ndarray:
    """table[values] for uint8 values and a table of at most 256 entries: one OpenCV LUT where the entries
    are single bytes (bool, uint8), several times faster than numpy's indexing."""
    if table.itemsize != 1:
        return table[values]
    lut = np.zeros(256, table.dtype)
    lut[:len(table)] = table
    out = cv2.LUT(np.ascontiguousarray(values).reshape(-1, values.shape[-1]), lut.view(np.uint8))
    return out.view(table.dtype).reshape(values.shape)


def hue_gaps(ref: np.ndarray) -> np.ndarray:
    """(180, O) float32: the distance round the hue circle from each OpenCV hue value to each object's hue."""
    d = np.abs(np.arange(180, dtype=np.float32)[:, None] - ref[:, 0])
    return np.minimum(d, 180.0 - d)


def hue_lookup(ref: np.ndarray, trackable: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The nearest trackable object and its hue distance per OpenCV hue value (0..179), so matching a
    pixel is one lookup: ((180,) object index, (180,) distance; inf where no object is trackable)."""
    d = hue_gaps(ref)
    d[:, ~trackable] = np.inf
    if not len(ref):
        return np.zeros(180, int), np.full(180, np.inf)
    return d.argmin(1), d.min(1)


def _near(raw: np.ndarray, trackable: np.ndarray, cfg: TrackerConfig) -> np.ndarray:
    """(T, O, H, W): within mix_px pixels of each trackable object's raw pixels in that frame."""
    H, W = raw.shape[2:]
    reach = max(1, round(cfg.mix_px * cfg.scale(H, W)))
    near = np.zeros_like(raw)
    for o in np.flatnonzero(trackable):
        if raw[:, o].any():
            near[:, o] = _morph(cv2.dilate, raw[:, o], _kernel(reach))
    return near


def _chroma(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two chroma coordinates of each pixel (float32, channel by channel: see chroma_along)."""
    f = np.asarray(rgb, np.float32)
    return chroma_along(f, np.array([1.0, 0.0], np.float32)), chroma_along(f, np.array([0.0, 1.0], np.float32))


def _unmix(c0, c1, ci, cj):
    """Shares (a, b) of chroma (c0, c1) as a ci + b cj (ci, cj: (..., 2) or (2,)); det ~ 0 gives nan."""
    det = ci[..., 0] * cj[..., 1] - ci[..., 1] * cj[..., 0]
    det = np.where(np.abs(det) > 1e-3, det, np.nan)
    return (c0 * cj[..., 1] - c1 * cj[..., 0]) / det, (ci[..., 0] * c1 - ci[..., 1] * c0) / det


def _unmixable(ci, cj, cfg: TrackerConfig):
    """Whether two colours' mixtures can be unmixed: not near opposites (yellow and blue mix to grey,
    which leaves no chroma to tell the shares by)."""
    cos = (ci * cj).sum(-1) / np.maximum(np.linalg.norm(ci, axis=-1) * np.linalg.norm(cj, axis=-1), 1e-6)
    return cos >= cfg.mix_opposite


def _mixtures(rgb, hue, candidate, near, ref, ref_chroma, trackable, cfg):
    """Pixels that are a mixture of two objects' colours: what 4:2:0 chroma and codec blocks make of a
    small object beside another one of a different colour (a yellow ball on cyan glass turns green). A
    candidate pixel (unmatched, bright) whose hue lies between two objects' hues is unmixed in the chroma
    plane, c = a c_i + b c_j; it is object i's when a >= mix_share and a >= b, a + b <= mix_total (a
    mixture of the two with grey has no more chroma than that: a new colour has), and object j shows
    within mix_px pixels in that frame. Returns (owner, t, y, x) index arrays, or None."""
    idx = np.flatnonzero(trackable)
    if len(idx) < 2:
        return None
    order = idx[np.argsort(ref[idx, 0])]
    hues = ref[order, 0]
    # per hue value, the objects whose hues bracket it (going up and going down the hue circle)
    up = np.searchsorted(hues, np.arange(180), side="left")
    hi_obj, lo_obj = order[up % len(order)], order[(up - 1) % len(order)]
    t_, y_, x_ = np.nonzero(candidate)
    if not len(t_):
        return None
    h = hue[t_, y_, x_]
    i, j = lo_obj[h], hi_obj[h]
    c0, c1 = _chroma(rgb[t_, y_, x_])                                       # (N,) each
    ci, cj = ref_chroma[i], ref_chroma[j]                                   # (N, 2)
    a, b = _unmix(c0, c1, ci, cj)
    ok = np.isfinite(a)
    a, b = np.nan_to_num(a), np.nan_to_num(b)
    win_i = a >= b
    owner, other = np.where(win_i, i, j), np.where(win_i, j, i)
    share = np.maximum(a, b)
    strong = np.hypot(c0, c1) >= cfg.mix_chroma * np.linalg.norm(ref_chroma[owner], axis=1)   # not grey
    keep = ok & (i != j) & _unmixable(ci, cj, cfg) & strong & (np.minimum(a, b) >= 0) \
        & (share >= cfg.mix_share) & (a + b <= cfg.mix_total)
    keep &= near[t_, other, y_, x_]
    if not keep.any():
        return None
    return owner[keep], t_[keep], y_[keep], x_[keep]


def _shared_amount(rgb, hue, o, near, gaps, ref_chroma, trackable, cfg, amount, use):
    """Object o's chroma in each pixel of a rectangle where another object p shows nearby and the pixel
    mixes the two (p's share at least mix_trace, shares summing to at most mix_total): a, from unmixing
    c = a c_o + b c_p, in the units of `amount` (chroma along o's direction). Unmixing is linear, so
    what 4:2:0 moves from o's edge into p's pixels comes back to o: its area and centroid hold. Where
    several objects qualify, the one nearest the pixel's hue (`gaps`: hue_gaps of the objects); elsewhere
    `amount` and `use` stand."""
    c0, c1 = _chroma(rgb)
    co = ref_chroma[o]
    gap = np.full(hue.shape, np.inf, np.float32)
    amount, use = amount.copy(), use.copy()
    for p in np.flatnonzero(trackable):
        cp = ref_chroma[p]
        if p == o or not near[:, p].any() or not _unmixable(co, cp, cfg):
            continue
        a, b = _unmix(c0, c1, co, cp)
        d = gaps[hue, p]
        ok = near[:, p] & (b >= cfg.mix_trace) & (a >= 0) & (a + b <= cfg.mix_total) & (d < gap)
        amount = np.where(ok, a * np.linalg.norm(co, axis=-1), amount)
        use |= ok
        gap = np.where(ok, d, gap)
    return amount, use


def track(rgb: np.ndarray, objects: list[dict], cfg: TrackerConfig = TrackerConfig(), mixtures: bool = False) -> Tracks:
    """Per-object masks, soft coverage, areas, centroids, presence and piece counts from RGB frames
    (T, H, W, 3) uint8. mixtures: the frames were delivered with subsampled colour (4:2:0 video, JPEG),
    so a pixel that mixes two nearby objects' colours counts for the dominant one (_mixtures) and gives
    each its unmixed share of soft coverage (_shared_amount)."""
    if rgb.ndim != 4 or rgb.shape[-1] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"track expects (T, H, W, 3) uint8 frames, got {rgb.dtype}{list(rgb.shape)}")
    T, H, W, _ = rgb.shape
    O = len(objects)
    hsv = _hsv(rgb)                                            # (T, H, W, 3)
    hue, sat, val = (np.ascontiguousarray(hsv[..., c]) for c in range(3))
    ref = object_hsv(objects)                                  # (O, 3)
    trackable = ref[:, 1] >= cfg.min_saturation
    nearest_lut, dist_lut = hue_lookup(ref, trackable)        # by hue: the nearest object, its hue distance
    bright = val >= cfg.min_value
    nearest = _lookup(hue, nearest_lut.astype(np.min_scalar_type(max(O - 1, 0))))   # (T, H, W)
    matched = (sat >= cfg.min_saturation) & bright & _lookup(hue, dist_lut <= cfg.hue_tolerance)
    raw = np.zeros((T, O, H, W), bool)
    for o in np.flatnonzero(trackable):
        raw[:, o] = matched & (nearest == o)
    ref_chroma = np.stack(_chroma(np.array([o["rgb"] for o in objects], np.float32).reshape(-1, 3)), axis=-1)  # (O, 2)
    near = _near(raw, trackable, cfg) if mixtures else None
    gaps = hue_gaps(ref) if mixtures else None                 # (180, O), for _shared_amount
    mixed = _mixtures(rgb, hue, bright & ~matched, near, ref, ref_chroma, trackable, cfg) if mixtures else None
    if mixed is not None:
        owner, t_, y_, x_ = mixed
        raw[t_, owner, y_, x_] = True
        nearest = nearest.copy()
        nearest[t_, y_, x_] = owner
        matched = matched.copy()
        matched[t_, y_, x_] = True

    def weight(o, ys, xs):
        """Soft coverage of object o in the rectangle (rows ys, cols xs) that holds all its raw pixels."""
        r = np.ascontiguousarray(raw[:, o, ys, xs])
        norm = float(np.linalg.norm(ref_chroma[o], axis=-1))
        f = rgb[:, ys, xs].astype(np.float32)                          # projected here and in _shared_amount
        proj = chroma_along(f, ref_chroma[o] / norm)                   # (T, h, w) chroma along the object's
        # full coverage: the mean chroma of its matched pixels inside it (off its edges, where
        # ringing and mixing live) over the clip. A codec that desaturates the whole clip lowers it
        # as much as the pixels, and since coverage is not clipped at 1, shading variation inside
        # the object keeps its mass: a blur moves mass around but the sum stays. The mean, not the
        # median: shading makes the interior's chroma skewed, and what blur, resizing and 4:2:0
        # chroma do is average it, which keeps its mean and moves its median (the median put
        # food areas 5-10% under the true masks and moved them by as much under JPEG or blur)
        inner = _morph(cv2.erode, r, _K5)
        pool = proj[inner] if inner.sum() >= 8 else proj[r]
        k = float(np.mean(pool, dtype=np.float64)) if pool.size else norm
        amount, use = proj, nearest[:, ys, xs] == o
        if near is not None:
            amount, use = _shared_amount(f, hue[:, ys, xs], o, near[:, :, ys, xs], gaps, ref_chroma,
                                         trackable, cfg, amount, use)
        return np.where(use, np.clip(amount / max(k, 1e-3), 0.0, cfg.max_coverage), 0.0)

    unknown = (sat >= cfg.unknown_saturation) & bright & _lookup(hue, dist_lut > cfg.unknown_hue_gap) & ~matched
    sc = cfg.scale(H, W)
    n_unknown = _unknown_blobs(unknown, max(2, round(cfg.unknown_core * sc)), cfg.unknown_frames)
    return masks_to_tracks(raw, [o["id"] for o in objects], trackable, cfg.min_area(H, W), n_unknown,
                           one_body=[o.get("role") not in PIECE_ROLES for o in objects], cfg=cfg,
                           weight=weight, present_area=cfg.present_area(H, W), group=max(1, round(cfg.group_px * sc)),
                           core=max(2, round(cfg.core_px * sc)), support=max(1, round(cfg.support_px * sc)))


def tracks_from_seg(seg: np.ndarray, objects: list[dict], min_area: int = 1) -> Tracks:
    """The same measurements from a true segmentation (T, H, W) int32 (-1 = background). Every piece
    of at least min_area counts: the true mask has no specks to reject, so it is the reference the
    tracker's one-body rule is checked against."""
    raw = np.stack([seg == o["id"] for o in objects], axis=1)  # (T, O, H, W)
    return masks_to_tracks(raw, [o["id"] for o in objects], np.ones(len(objects), bool), min_area)


def validate(rgb: np.ndarray, seg: np.ndarray, objects: list[dict], cfg: TrackerConfig = TrackerConfig(),
             mixtures: bool = False) -> dict:
    """Tracker vs true segmentation, per trackable object: mean IoU over frames where either mask is
    non-empty, mean and max centroid error (px) over frames where the object is visible in both,
    relative soft-area error, and presence agreement (the truth's presence: at least the tracker's
    appearance area). rgb may be degraded frames of the same clip: the truth's masks still hold
    (mixtures: as `track`'s, for frames delivered with subsampled colour)."""
    pred = track(rgb, objects, cfg, mixtures)
    H, W = seg.shape[1:3]
    true = tracks_from_seg(seg, objects, cfg.min_area(H, W))
    on = np.where([o.get("role") not in PIECE_ROLES for o in objects], cfg.present_area(H, W), cfg.min_area(H, W))
    true_present = _hysteresis(true.mask.sum(axis=(2, 3)), cfg.min_area(H, W), on)
    out = {}
    for i, o in enumerate(objects):
        if not pred.trackable[i]:
            continue
        inter = (pred.mask[:, i] & true.mask[:, i]).sum(axis=(1, 2))
        union = (pred.mask[:, i] | true.mask[:, i]).sum(axis=(1, 2))
        both = pred.present[:, i] & true_present[:, i]
        err = np.linalg.norm(pred.centroid[both, i] - true.centroid[both, i], axis=-1)
        area_err = np.abs(pred.area[both, i] - true.area[both, i]) / np.maximum(true.area[both, i], 1)
        out[o["id"]] = {
            "iou": float((inter[union > 0] / union[union > 0]).mean()) if (union > 0).any() else 1.0,
            "centroid_error_px": float(err.mean()) if len(err) else 0.0,
            "max_centroid_error_px": float(err.max()) if len(err) else 0.0,
            "area_error": float(area_err.mean()) if len(area_err) else 0.0,
            "presence_agreement": float((pred.present[:, i] == true_present[:, i]).mean()),
            "n_visible_frames": int(true_present[:, i].sum()),
        }
    return out
