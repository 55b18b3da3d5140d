"""A pre-fractured glass pane: Voronoi shards held static (mass 0) until it breaks.

Shared by the shatter scenarios. The pane lies in the world x-z plane (normal +y), its
bottom edge at `base` height. Each shard is a convex prism (a clipped Voronoi cell of
jittered grid sites, extruded to the pane's thickness) with its own body whose origin is
the shard's centroid, so body positions are shard positions. While intact every shard has
mass 0, so the pane is one rigid, unmoving body; `Glass.shatter` gives each shard its
mass and a velocity, after which they fly and fall independently.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..engine import Scene, p

from ..params import rgb_of

DENSITY = 2500.0  # glass, kg/m^3
GAP = 0.0003      # each shard shrinks this much towards its centroid, so neighbours start apart (m)
RESTITUTION = 0.5  # of a shard; PyBullet multiplies two bodies' values: a ball bounces visibly off the pane
SHARD_MARGIN = 1e-4  # collision margin of a freed shard (m): with the default, neighbours start out overlapping and stick
# A freed shard that has come to rest on something is put to sleep: made static again, as Bullet's own
# sleeping would after 2 s (longer than a clip). Resting thin convex shards are what the solver spends its
# time on (about 90% of a strike episode's stepping); a shard this slow moves under 1.5 mm a frame at 15 fps.
REST_SPEED = 0.02    # m/s
REST_SPIN = 0.5      # rad/s


def voronoi_cells(width: float, height: float, n: int, rng: np.random.Generator) -> list[np.ndarray]:
    """n convex polygons tiling the rectangle [-w/2, w/2] x [0, h]: Voronoi cells of jittered grid
    sites. Each polygon is (K, 2) in (x, z), counter-clockwise."""
    cols = max(1, int(round(np.sqrt(n * width / height))))
    rows = int(np.ceil(n / cols))
    cell = np.array([width / cols, height / rows])
    ij = np.array([(i, j) for i in range(cols) for j in range(rows)], float)
    keep = np.sort(rng.choice(len(ij), size=n, replace=False))
    sites = (ij[keep] + 0.5 + rng.uniform(-0.35, 0.35, size=(n, 2))) * cell + (-width / 2, 0.0)  # (n, 2)
    box = np.array([(-width / 2, 0.0), (width / 2, 0.0), (width / 2, height), (-width / 2, height)])
    cells = []
    apart = np.linalg.norm(sites[:, None] - sites[None], axis=-1).tolist()  # (n, n) site distances
    for i, s in enumerate(sites):
        poly = box
        reach = _reach(poly, s)
        for j, o in enumerate(sites):
            # A bisector farther from s than the cell reaches cannot cut it (_clip would return it as it is);
            # the 1e-6 margin keeps that exact despite rounding.
            if i != j and apart[i][j] <= 2 * reach * (1 + 1e-6):
                cut = _clip(poly, (s + o) / 2, o - s)  # keep the side nearer to s
                if cut is not poly:
                    poly, reach = cut, _reach(cut, s)
        cells.append(poly)
    return cells


def _reach(poly: np.ndarray, site: np.ndarray) -> float:
    """How far the polygon's farthest vertex lies from the site."""
    x, z = site.tolist()
    return max(math.hypot(a - x, b - z) for a, b in poly.tolist())


def _clip(poly: np.ndarray, point: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Sutherland-Hodgman: the part of a convex polygon where (x - point) . normal <= 0."""
    out = []
    d = ((poly - point) @ normal).tolist()
    if max(d) <= 0:  # the line misses the polygon (most sites are far from a cell): nothing to cut
        return poly
    # Python floats, not numpy scalars: the same IEEE operations in the same order, many times faster
    pts, n = poly.tolist(), len(d)
    for k in range(n):
        a, da, db = pts[k], d[k], d[(k + 1) % n]
        if da <= 0:
            out.append(a)
        if da * db < 0:
            b = pts[(k + 1) % n]
            out.append([a[0] + (b[0] - a[0]) * da / (da - db), a[1] + (b[1] - a[1]) * da / (da - db)])
    return np.array(out)


@dataclass
class Glass:
    bodies: list[int]          # one PyBullet body per shard
    masses: list[float]        # kg per shard
    centroids: np.ndarray      # (n, 3) shard centroids when intact (m)
    broken: bool = False
    asleep: set = field(default_factory=set)  # indices of shards put to sleep by `settle`

    @property
    def n(self) -> int: return len(self.bodies)

    def positions(self, scene: Scene) -> np.ndarray:
        """Current shard positions. (n, 3)"""
        return np.array([scene.bc.getBasePositionAndOrientation(b)[0] for b in self.bodies])

    def velocities(self, scene: Scene) -> np.ndarray:
        """Current shard linear velocities. (n, 3)"""
        return np.array([scene.bc.getBaseVelocity(b)[0] for b in self.bodies])

    def record(self, scene: Scene, oid: int) -> None:
        """This frame's `n_pieces` (1 while intact) and `shard_positions` ([n][3]) of the glass object."""
        scene.record(oid, "n_pieces", self.n if self.broken else 1)
        scene.record(oid, "shard_positions", np.round(self.positions(scene), 4).tolist())

    def follow(self, scene: Scene, anchor: int) -> None:
        """Keep the glass object's recorded pose on the shards' centre of mass (call in on_step)."""
        m = np.asarray(self.masses)[:, None]
        scene.bc.resetBasePositionAndOrientation(anchor, ((self.positions(scene) * m).sum(0) / m.sum()).tolist(), (0, 0, 0, 1))
        scene.bc.resetBaseVelocity(anchor, ((self.velocities(scene) * m).sum(0) / m.sum()).tolist(), (0, 0, 0))

    def settle(self, scene: Scene) -> None:
        """Put to sleep (mass 0, still) every freed shard that has come to rest touching something; call once
        a frame. A sleeping shard stays where it lies; others land on it as on the ground."""
        for i, b in enumerate(self.bodies):
            if i in self.asleep:
                continue
            v, w = scene.bc.getBaseVelocity(b)
            if np.dot(v, v) < REST_SPEED ** 2 and np.dot(w, w) < REST_SPIN ** 2 and scene.bc.getContactPoints(b):
                scene.bc.changeDynamics(b, -1, mass=0.0)
                scene.bc.resetBaseVelocity(b, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0))
                self.asleep.add(i)

    def shatter(self, scene: Scene, velocities: np.ndarray, spins: np.ndarray) -> None:
        """Free every shard (mass 0 -> its mass) with the given linear and angular velocities. (n, 3) each"""
        for b, m, v, w in zip(self.bodies, self.masses, velocities, spins):
            scene.bc.changeDynamics(b, -1, mass=m, collisionMargin=SHARD_MARGIN)
            scene.bc.resetBaseVelocity(b, v.tolist(), w.tolist())
        self.broken = True


def add_pane(scene: Scene, width: float, height: float, thickness: float, n_shards: int, colour,
             rng: np.random.Generator, base: float = 0.0, offset=(0.0, 0.0, 0.0)) -> Glass:
    """Build the static, pre-fractured pane and return its shards."""
    bodies, masses, centroids = [], [], []
    rgba = (*rgb_of(colour), 1)
    for poly in voronoi_cells(width, height, n_shards, rng):
        c = _centroid(poly)
        shrink = np.linalg.norm(poly - c, axis=1, keepdims=True)
        poly = c + (poly - c) * (1 - GAP / np.maximum(shrink, GAP * 2))
        verts, normals, tris = _prism(poly - c, thickness)
        vis = scene.bc.createVisualShape(p.GEOM_MESH, vertices=verts, indices=tris, normals=normals,
                                         rgbaColor=rgba)
        col = scene.bc.createCollisionShape(p.GEOM_MESH, vertices=verts)
        pos = [offset[0] + c[0], offset[1], offset[2] + base + c[1]]
        body = scene.bc.createMultiBody(0.0, col, vis, basePosition=pos)
        scene.bc.changeDynamics(body, -1, lateralFriction=0.6, restitution=RESTITUTION)
        bodies.append(body)
        masses.append(DENSITY * thickness * _area(poly))
        centroids.append(pos)
    return Glass(bodies, masses, np.array(centroids))


def _prism(poly: np.ndarray, thickness: float):
    """A convex polygon (K, 2) in (x, z) extruded along y: vertices, normals and triangle indices,
    with each face's own vertices so TinyRenderer shades it flat (shared vertices blend normals)."""
    k = len(poly)
    lo = [[x, -thickness / 2, z] for x, z in poly]
    hi = [[x, thickness / 2, z] for x, z in poly]
    verts, normals, tris = lo + hi, [[0, -1, 0]] * k + [[0, 1, 0]] * k, []
    for i in range(1, k - 1):  # the two faces, counter-clockwise seen from outside
        tris += [0, i, i + 1, k, k + i + 1, k + i]
    for i in range(k):  # the rim: one quad per edge
        j = (i + 1) % k
        e = poly[j] - poly[i]
        n = [e[1] / np.hypot(*e), 0.0, -e[0] / np.hypot(*e)]
        base = len(verts)
        verts += [lo[i], lo[j], hi[j], hi[i]]
        normals += [n] * 4
        tris += [base, base + 2, base + 1, base, base + 3, base + 2]
    return verts, normals, tris


def _area(poly: np.ndarray) -> float:
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _centroid(poly: np.ndarray) -> np.ndarray:
    x, y = poly[:, 0], poly[:, 1]
    cross = x * np.roll(y, -1) - np.roll(x, -1) * y
    a = cross.sum() / 2
    return np.array([((x + np.roll(x, -1)) * cross).sum(), ((y + np.roll(y, -1)) * cross).sum()]) / (6 * a)
