"""The engine's and scenarios' fast paths give exactly what the plain computation gives.

Each speed-up of issue 12 replaced numpy on tiny vectors by float arithmetic, skipped work that
cannot change a result, or moved per-frame work to once per clip. tests/test_episode_hashes.py
checks one episode of every scenario byte for byte; these check each fast path against the plain
computation on many inputs, so a shortcut that is wrong only sometimes still fails here.
"""
import numpy as np
import pytest

from scenarios import RenderSpec, generate_episode
from scenarios.shatter import _glass
from scenarios.state_change._motion import Keyframes, keyframed


def test_keyframes_equal_keyframed_bit_for_bit():
    rng = np.random.default_rng(0)
    for _ in range(20):
        k = int(rng.integers(2, 8))
        times = np.sort(rng.uniform(0.0, 2.0, k))
        values = rng.normal(size=(k, 3))
        path = Keyframes(times, values)
        probes = np.concatenate([rng.uniform(-0.5, 2.5, 200), times, np.arange(500) / 240])
        for t in probes.tolist():
            assert path(t) == keyframed(t, times, values).tolist(), t


def _clip_every_time(poly, point, normal):
    """Sutherland-Hodgman as first written: numpy on every vertex, no shortcut."""
    out = []
    d = (poly - point) @ normal
    for k in range(len(poly)):
        a, b, da, db = poly[k], poly[(k + 1) % len(poly)], d[k], d[(k + 1) % len(poly)]
        if da <= 0:
            out.append(a)
        if da * db < 0:
            out.append(a + (b - a) * da / (da - db))
    return np.array(out)


def _cells_every_bisector(width, height, n, rng):
    """voronoi_cells clipping each cell by every other site's bisector, in order."""
    cols = max(1, int(round(np.sqrt(n * width / height))))
    rows = int(np.ceil(n / cols))
    cell = np.array([width / cols, height / rows])
    ij = np.array([(i, j) for i in range(cols) for j in range(rows)], float)
    keep = np.sort(rng.choice(len(ij), size=n, replace=False))
    sites = (ij[keep] + 0.5 + rng.uniform(-0.35, 0.35, size=(n, 2))) * cell + (-width / 2, 0.0)
    box = np.array([(-width / 2, 0.0), (width / 2, 0.0), (width / 2, height), (-width / 2, height)])
    cells = []
    for i, s in enumerate(sites):
        poly = box
        for j, o in enumerate(sites):
            if i != j:
                poly = _clip_every_time(poly, (s + o) / 2, o - s)
        cells.append(poly)
    return cells


@pytest.mark.parametrize("seed", range(6))
def test_voronoi_cells_equal_clipping_by_every_bisector(seed):
    rng = np.random.default_rng(seed)
    n, w, h = int(rng.integers(4, 37)), rng.uniform(0.2, 0.6), rng.uniform(0.15, 0.4)
    fast = _glass.voronoi_cells(w, h, n, np.random.default_rng(seed + 100))
    plain = _cells_every_bisector(w, h, n, np.random.default_rng(seed + 100))
    assert len(fast) == len(plain) == n
    for a, b in zip(fast, plain):
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def test_clip_arrays_match_the_frames_they_come_from():
    """RGB, depth and `visible`, made once per clip, agree with each frame's own segmentation and depth."""
    ep = generate_episode("multi_object", 4, RenderSpec(height=32, width=32, n_frames=16))
    assert ep.rgb.dtype == np.uint8 and ep.rgb.shape == (16, 32, 32, 3) and ep.rgb.flags.c_contiguous
    for o in ep.objects:
        shown = [bool((ep.seg[t] == o["id"]).any()) for t in range(ep.n_frames)]
        assert ep.meta["states"][str(o["id"])]["visible"] == shown
    assert np.all(ep.depth[ep.seg >= 0] < 20.0) and np.all(ep.depth > 0.0)
