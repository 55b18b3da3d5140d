"""The fast scoring paths give the values of the plain ones they replaced, bit for bit, on real episodes
(clean, degraded and frozen rollouts). The plain implementations live here only, as the reference:
benchmarks/bench_scoring.py measures what the fast ones save."""
import cv2
import numpy as np
import pytest

import scenarios
from physics_evals import tracker
from physics_evals.metrics import METRICS, Clip, motion_masks
from physics_evals.metrics.pixels import ssim_frames
from physics_evals.nuisance import NUISANCES
from physics_evals.tracker import (
    PIECE_ROLES,
    TrackerConfig,
    Tracks,
    _hysteresis,
    _kernel,
    _unknown_blobs,
    object_hsv,
)

SPEC = scenarios.RenderSpec(height=64, width=64, fps=15, n_frames=20)
CONTEXT = 6
CASES = [("free_fall", 1), ("pass_behind", 0), ("bite", 2), ("brush", 0), ("strike", 1)]


@pytest.fixture(scope="module")
def clips():
    """(episode, rollout frames) for the truth, two nuisances and a frozen video of each case."""
    out = []
    for name, seed in CASES:
        ep = scenarios.generate_episode(name, seed, SPEC)
        truth = ep.rgb[CONTEXT:]
        frozen = np.repeat(ep.rgb[CONTEXT - 1:CONTEXT], len(truth), axis=0)
        for frames in (truth, NUISANCES["jpeg50"].apply(truth, SPEC.fps), NUISANCES["blur1"].apply(truth, SPEC.fps),
                       frozen):
            out.append((ep, frames))
    return out


def ssim_reference(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM as first written: one plane (frame, channel) at a time, five blurs each."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    x = a.astype(np.float32).transpose(0, 3, 1, 2).reshape(-1, *a.shape[1:3])
    y = b.astype(np.float32).transpose(0, 3, 1, 2).reshape(-1, *b.shape[1:3])
    blur = lambda z: cv2.GaussianBlur(z, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)  # noqa: E731
    out = []
    for xi, yi in zip(x, y):
        mx, my = blur(xi), blur(yi)
        vx, vy, cxy = blur(xi * xi) - mx * mx, blur(yi * yi) - my * my, blur(xi * yi) - mx * my
        out.append(((2 * mx * my + c1) * (2 * cxy + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2))).mean())
    return float(np.mean(out))


def test_ssim_is_the_per_plane_ssim(clips):
    for ep, frames in clips:
        want = ssim_reference(frames, ep.rgb[CONTEXT:])
        assert ssim_frames(frames, ep.rgb[CONTEXT:]) == want
        # through the metric, whose reference half is cached per episode and reused by the next rollout
        assert METRICS["ssim"](Clip(ep, CONTEXT, frames)) == want
    ep, frames = clips[1]
    assert ssim_frames(frames, ep.rgb[CONTEXT:]) < 1.0  # a degraded clip is not the truth: the test can fail


def test_psnr_mse_and_filled_centroids_are_the_plain_ones(clips):
    from physics_evals.metrics.common import filled_centroids
    for ep, frames in clips:
        truth = ep.rgb[CONTEXT:]
        err = np.mean((frames.astype(np.float64) - truth.astype(np.float64)) ** 2)
        want_psnr = 100.0 if err == 0 else float(min(100.0, 10 * np.log10(255.0 ** 2 / err)))
        d = truth.astype(np.float64) / 255.0 - frames.astype(np.float64) / 255.0
        want_mse = float((d ** 2).reshape(len(d), -1).mean(1).mean())
        clip = Clip(ep, CONTEXT, frames)
        assert METRICS["psnr"](clip) == want_psnr and METRICS["piq_mse"](clip) == want_mse
        c = tracker.track(np.concatenate([ep.rgb[:CONTEXT], frames]), ep.objects)
        want = c.centroid.copy()
        for t in range(1, len(want)):
            gone = np.isnan(want[t, :, 0])
            want[t, gone] = want[t - 1, gone]
        assert np.array_equal(filled_centroids(c), want, equal_nan=True)
    assert METRICS["piq_mse"](Clip(clips[1][0], CONTEXT, clips[1][1])) > 0  # a degraded clip: the test can fail


def motion_masks_reference(frames: np.ndarray, scale: int = 1, preblur: float = 0.0) -> np.ndarray:
    """Physics-IQ motion masks as first written: every whole frame through every upscaled step."""
    T, H, W = frames.shape[:3]
    if preblur > 0:
        frames = np.stack([cv2.GaussianBlur(np.ascontiguousarray(f), (0, 0), preblur) for f in frames])
    masks, avg, kernel = np.zeros((T, H, W), bool), None, np.ones((5, 5), np.uint8)
    for t, frame in enumerate(frames):
        frame = np.ascontiguousarray(frame)
        if scale > 1:
            frame = cv2.resize(frame, (W * scale, H * scale), interpolation=cv2.INTER_NEAREST)
        gray = cv2.GaussianBlur(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), (5, 5), 0)
        if avg is None:
            avg = gray.astype(np.float64)
            continue
        cv2.accumulateWeighted(gray, avg, 0.3)
        _, binary = cv2.threshold(cv2.absdiff(gray, cv2.convertScaleAbs(avg)), 10, 255, cv2.THRESH_BINARY)
        binary = cv2.morphologyEx(cv2.morphologyEx(binary, cv2.MORPH_OPEN, kernel), cv2.MORPH_CLOSE, kernel)
        if scale > 1:
            binary = cv2.resize(binary, (W, H), interpolation=cv2.INTER_LINEAR)
        masks[t] = binary > 127
    return masks


def _edge_cases() -> list[np.ndarray]:
    """Motion right at the image's edge, two movers far apart, faint flicker just under the threshold
    beside strong noise in one corner, a clip with no motion at all, and one of odd size."""
    rng = np.random.default_rng(0)
    out = []
    v = np.full((8, 40, 48, 3), 120, np.uint8)
    for t in range(8):
        v[t, 0:6, 3 * t:3 * t + 6] = 250                  # along the top edge
        v[t, 30 + t % 3:36 + t % 3, 40:48] = 10           # at the right edge, bobbing
    out.append(v)
    w = np.full((8, 40, 48, 3), 90, np.uint8)
    w += (rng.integers(0, 2, w.shape[:3]) * 9).astype(np.uint8)[..., None]   # flicker of 9 grey levels
    w[:, :8, :8] = rng.integers(0, 255, (8, 8, 8, 3), dtype=np.uint8)       # noise in one corner
    out.append(w)
    out.append(np.repeat(v[:1], 8, axis=0))
    o = np.full((9, 21, 37, 3), 60, np.uint8)                 # odd sizes: rows that no vector width divides
    for t in range(9):
        o[t, 5:11, 2 + 3 * t:8 + 3 * t] = (200, 40, 90)
    out.append(o)
    return out


@pytest.mark.parametrize("scale, preblur", [(4, 1.0), (1, 0.0), (2, 0.5), (3, 0.0)])
def test_motion_masks_are_the_whole_frame_masks(clips, scale, preblur):
    on = 0
    for frames in [f for _, f in clips] + _edge_cases():
        want = motion_masks_reference(frames, scale, preblur)
        assert np.array_equal(motion_masks(frames, scale, preblur), want)
        on += want.sum()
    assert on > 0  # masks that are on somewhere: the comparison sees motion



# The tracker as first written (at 5936bb7): every object measured on whole frames, one erosion per
# frame, the HSV conversion one pixel per row. Kept only here, as the reference for the fast one.
def _components_ref(mask: np.ndarray, min_area: int, one_body: bool = False,
                cfg: TrackerConfig = TrackerConfig(), group: int = 0) -> tuple[np.ndarray, int]:
    m8 = mask.view(np.uint8)
    joined = cv2.dilate(m8, np.ones((group + 1, group + 1), np.uint8)) if group > 0 else m8  # bridges `group` px
    n, labels = cv2.connectedComponents(joined, connectivity=8)
    labels = np.where(mask, labels, 0)
    area = np.bincount(labels.ravel(), minlength=n)
    keep = np.zeros(n, bool)
    keep[1:] = area[1:] >= min_area
    if one_body and keep.sum() > 1:
        # the body is the most solid blob (largest core, then largest area): where two other objects
        # meet, their mixed edge can take this object's hue, in a thin band that may outgrow a small
        # body; more pieces count only when solid too and of comparable size
        core = np.bincount(labels[cv2.erode(m8, np.ones((3, 3), np.uint8)).astype(bool)], minlength=n)
        core[0] = -1
        main = int(np.lexsort((area, core))[-1])
        # a thin piece counts only right beside the main blob (the body cut by something thin in front)
        near = np.zeros(n, bool)
        near[np.unique(labels[cv2.dilate((labels == main).view(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)])] = True
        comparable = keep & (area >= area[main] / cfg.piece_ratio)
        keep = comparable & ((np.arange(n) == main) | (core > 0) | near)
        if comparable.sum() > cfg.max_pieces:   # colour scattered in many like pieces: noise, not a body
            keep[:] = False
    return keep[labels], int(keep.sum())


def _masks_to_tracks_ref(raw: np.ndarray, ids: list[int], trackable: np.ndarray, min_area: int,
                    n_unknown: np.ndarray | None = None, one_body: np.ndarray | None = None,
                    cfg: TrackerConfig = TrackerConfig(), weight: np.ndarray | None = None,
                    present_area: int | None = None, group: int = 0, core: int = 3, support: int = 1) -> Tracks:
    T, O, H, W = raw.shape
    one_body = np.zeros(O, bool) if one_body is None else np.asarray(one_body, bool)
    mask = np.zeros_like(raw, dtype=bool)
    n_comp = np.zeros((T, O), int)
    for t, o in zip(*np.nonzero(raw.any(axis=(2, 3)))):
        # pieces (shards, strokes) are counted across narrow gaps; a body's fragments are judged by size
        mask[t, o], n_comp[t, o] = _components_ref(raw[t, o], min_area, one_body[o], cfg, 0 if one_body[o] else group)
    hard = mask.sum(axis=(2, 3))
    if weight is not None:
        ring = _kernel(support)
        support = np.zeros_like(mask)
        for t, o in zip(*np.nonzero(hard)):
            support[t, o] = cv2.dilate(mask[t, o].view(np.uint8), ring).astype(bool)
        # the ring adds the mixed edge pixels; a pixel of the full colour there is a speck or a piece
        # that the component rule rejected, and stays rejected
        weight = np.where(mask | (support & ~raw), weight, 0).astype(np.float32)
        w = weight
    else:
        w = mask.astype(np.float32)
    area = w.sum(axis=(2, 3), dtype=np.float64)
    ys, xs = np.arange(H, dtype=np.float64), np.arange(W, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        cx = (w.sum(axis=2, dtype=np.float64) * xs).sum(-1) / area       # (T, O)
        cy = (w.sum(axis=3, dtype=np.float64) * ys).sum(-1) / area
    centroid = np.stack([cx, cy], axis=-1)
    # a body appears at present_area; pieces (a first stroke, a shard) count from the speck size on
    on = np.where(one_body, present_area if present_area is not None else min_area, min_area)   # (O,)
    present = _hysteresis(hard, min_area, on)
    centroid[~present] = np.nan
    area = np.where(present, area, 0.0)
    # clearly seen: at least the appearance area, with a solid part (core x core); a sliver at the edge
    # of an occluder is neither clearly in nor out: any instrument (and any codec) may go either way
    solid = np.zeros((T, O), bool)
    for t, o in zip(*np.nonzero(hard >= on)):
        solid[t, o] = cv2.erode(mask[t, o].view(np.uint8), np.ones((core, core), np.uint8)).any()
    marginal = (raw.any(axis=(2, 3)) | present) & ~solid
    return Tracks(ids=list(ids), mask=mask, area=area, centroid=centroid, present=present,
                  n_components=np.where(present, n_comp, 0), trackable=np.asarray(trackable, bool),
                  n_unknown=np.zeros(T, int) if n_unknown is None else n_unknown, weight=weight,
                  marginal=marginal)


def track_reference(rgb: np.ndarray, objects: list[dict], cfg: TrackerConfig = TrackerConfig()) -> Tracks:
    if rgb.ndim != 4 or rgb.shape[-1] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"track expects (T, H, W, 3) uint8 frames, got {rgb.dtype}{list(rgb.shape)}")
    T, H, W, _ = rgb.shape
    O = len(objects)
    hsv = cv2.cvtColor(np.ascontiguousarray(rgb.reshape(-1, 1, 3)), cv2.COLOR_RGB2HSV).reshape(rgb.shape)                                            # (T, H, W, 3)
    hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    ref = object_hsv(objects)                                  # (O, 3)
    trackable = ref[:, 1] >= cfg.min_saturation
    nearest_lut, dist_lut = tracker.hue_lookup(ref, trackable)  # shared: not what the fast path changed
    bright = val >= cfg.min_value
    nearest = nearest_lut[hue]                                 # (T, H, W)
    matched = (sat >= cfg.min_saturation) & bright & (dist_lut[hue] <= cfg.hue_tolerance)
    raw = np.zeros((T, O, H, W), bool)
    weight = np.zeros((T, O, H, W), np.float32)
    if O:
        # the palette's chroma, as the tracker computes it (no BLAS): shared, not what the fast path changed
        ref_chroma = np.stack(tracker._chroma(np.array([o["rgb"] for o in objects], np.float32)), axis=-1)
        for o in np.flatnonzero(trackable):
            raw[:, o] = matched & (nearest == o)
            norm = float(np.linalg.norm(ref_chroma[o], axis=-1))
            proj = tracker.chroma_along(rgb, ref_chroma[o] / norm)  # (T, H, W) chroma along the object's
            # full coverage: the mean chroma of its matched pixels inside it (off its edges, where
            # ringing and mixing live) over the clip. A codec that desaturates the whole clip lowers it
            # as much as the pixels, and since coverage is not clipped at 1, shading variation inside
            # the object keeps its mass: a blur moves mass around but the sum stays. The mean, not the
            # median: shading makes the interior's chroma skewed, and what blur, resizing and 4:2:0
            # chroma do is average it, which keeps its mean and moves its median (the median put
            # food areas 5-10% under the true masks and moved them by as much under JPEG or blur)
            inner = np.stack([cv2.erode(m.view(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) for m in raw[:, o]])
            pool = proj[inner] if inner.sum() >= 8 else proj[raw[:, o]]
            k = float(np.mean(pool, dtype=np.float64)) if pool.size else norm
            weight[:, o] = np.where(nearest == o, np.clip(proj / max(k, 1e-3), 0.0, cfg.max_coverage), 0.0)
    unknown = (sat >= cfg.unknown_saturation) & bright & (dist_lut[hue] > cfg.unknown_hue_gap)
    sc = cfg.scale(H, W)
    n_unknown = _unknown_blobs(unknown, max(2, round(cfg.unknown_core * sc)), cfg.unknown_frames)
    return _masks_to_tracks_ref(raw, [o["id"] for o in objects], trackable, cfg.min_area(H, W), n_unknown,
                           one_body=[o.get("role") not in PIECE_ROLES for o in objects], cfg=cfg,
                           weight=weight, present_area=cfg.present_area(H, W), group=max(1, round(cfg.group_px * sc)),
                           core=max(2, round(cfg.core_px * sc)), support=max(1, round(cfg.support_px * sc)))


def test_tracks_are_the_whole_frame_tracks(clips):
    fields = ("mask", "area", "centroid", "present", "n_components", "trackable", "n_unknown", "weight", "marginal")
    extra = [(ep, NUISANCES[n].apply(ep.rgb[CONTEXT:], SPEC.fps)) for ep in {id(e): e for e, _ in clips}.values()
             for n in ("h264_low", "noise")]
    for ep, frames in clips + extra:
        want, got = track_reference(frames, ep.objects), tracker.track(frames, ep.objects)
        for f in fields:
            assert np.array_equal(getattr(got, f), getattr(want, f), equal_nan=f in ("area", "centroid", "weight")), f
    assert want.present.any() and want.weight.any()  # something was measured: the comparison can fail


@pytest.mark.parametrize("group", [0, 1, 2, 3])
@pytest.mark.parametrize("one_body", [False, True])
def test_pieces_of_all_frames_at_once_are_each_frames_own(group, one_body):
    """tracker._clip_components (one labelling of the stacked frames) against _components frame by frame,
    on random pieces and specks that touch the frames' top and bottom rows (where a join's dilation spills
    into the gap between frames) and come in pieces a gap of up to `group` px apart."""
    rng = np.random.default_rng(10 * group + one_body)
    masks = np.zeros((40, 21, 23), bool)
    for t in range(len(masks)):
        for _ in range(rng.integers(0, 5)):
            h, w = rng.integers(1, 6, 2)
            y = rng.choice([0, 21 - h, rng.integers(0, 21 - h + 1)])   # often at the top or bottom edge
            x = rng.integers(0, 23 - w + 1)
            masks[t, y:y + h, x:x + w] = True
    masks[5] = False                                                     # an empty frame among busy ones
    want = [tracker._components(m, 4, one_body, TrackerConfig(), group) for m in masks]
    got, counts = tracker._clip_components(masks, 4, one_body, TrackerConfig(), group)
    assert np.array_equal(got, np.stack([w[0] for w in want])) and counts.tolist() == [w[1] for w in want]
    assert len({c for c in counts}) > 2 and not np.array_equal(got, masks)  # pieces counted, specks dropped
