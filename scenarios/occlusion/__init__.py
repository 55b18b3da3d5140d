"""Occlusion family: objects pass behind occluders, or an occluder passes in front of an object.

Every episode at the default RenderSpec (32 frames at 15 fps) must show each hidden object,
hide it completely for several frames and show it again, for every seed. Rather than hope
that the ranges allow it, a scenario plans its motion from its camera: `cover_intervals`
projects the object's box onto the occluder's front face along rays to the eye to find the
stretch of the path where the object is fully hidden (and where it is touched at all), and
`plan_motion` picks a speed and start inside the set that meets every timing constraint.
Positions along a path are in "u" coordinates, u = direction * x, so motion is always +u.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..engine import Camera, RenderSpec, Scenario, Scene
from ..episode import project_to_pixels
from ..gravity import FOV

DEFAULT = RenderSpec()
CLIP_S = (DEFAULT.n_frames - 1) / DEFAULT.fps  # time of the last frame at the default spec (s)
LEAD_S = 2 / DEFAULT.fps     # the occluder does not touch the object in the first frames
TAIL_S = 4 / DEFAULT.fps     # ... nor in the last frames
SEEN_S = 2 / DEFAULT.fps     # a loose plan: the mover is seen in the first and last frames
HIDE_S = 4 / DEFAULT.fps     # fully hidden for at least this long
CONTEXT_S = 7 / DEFAULT.fps  # time of frame 7, the last of the 8 context frames the eval tasks give a model:
                             # every mover is still hidden (or not yet hidden) then, so each reappearance is predicted
MARGIN_PX = 1.0             # safety margin in pixels of the default render
VEIL = 2.5                  # a box-corner shadow sticking out this many margins surely shows some of the object
PATH = np.linspace(-3.0, 3.0, 6001)  # candidate positions along a path (1 mm apart)


class OcclusionScenario(Scenario):
    """What the occlusion scenarios share: a camera framing the path at a planned zoom."""

    def camera(self, params, zoom=None):
        """The view; `zoom` (half width of the view at the path / object size) overrides the planned one."""
        zoom = params["view_zoom"] if zoom is None else zoom
        distance = zoom * params["size"] / math.tan(math.radians(FOV) / 2)
        return Camera(target=(0.0, 0.0, params["size"] + 0.1), distance=distance, yaw=params["cam_yaw"],
                      pitch=params["cam_pitch"], fov=FOV)


class PlanError(ValueError):
    """The parameters leave no motion that hides and shows the object inside the clip."""


@dataclass(frozen=True)
class Mover:
    """Where a mover's centre may be, in u coordinates along its path."""
    cover: tuple[float, float]   # the occluder touches the object in this stretch
    hidden: tuple[float, float]  # the object is fully hidden in this stretch
    veiled: tuple[float, float]  # outside this stretch some of the object surely shows
    view: tuple[float, float]    # the whole mover is inside the image in this stretch

    @property
    def hidden_centre(self) -> float: return 0.5 * (self.hidden[0] + self.hidden[1])


def matrices(camera: Camera) -> dict:
    view, proj = camera.matrices(DEFAULT)
    return {"view": view, "projection": proj}


def eye_of(camera: Camera) -> np.ndarray:
    """The camera's position in the world (3,)."""
    return np.linalg.inv(np.asarray(matrices(camera)["view"]).reshape(4, 4).T)[:3, 3]


def metres_per_px(camera: Camera, y: float) -> float:
    """Size of one default-render pixel at the depth of the plane y (m)."""
    eye = eye_of(camera)
    forward = np.asarray(camera.target) - eye
    forward /= np.linalg.norm(forward)
    depth = float(np.dot(np.array([camera.target[0], y, camera.target[2]]) - eye, forward))
    return 2 * depth * math.tan(math.radians(camera.fov) / 2) / DEFAULT.height


def box_corners(x: np.ndarray, y: float, half: float, height: float) -> np.ndarray:
    """Corners (N, 8, 3) of boxes of half width `half` standing on the ground at positions x (N,)."""
    dx, dy, z = np.meshgrid([-half, half], [-half, half], [0.0, height], indexing="ij")
    offsets = np.stack([dx.ravel(), dy.ravel(), z.ravel()], axis=-1)  # (8, 3)
    centres = np.stack([x, np.full_like(x, y), np.zeros_like(x)], axis=-1)  # (N, 3)
    return centres[:, None, :] + offsets[None]


def onto_plane(eye: np.ndarray, points: np.ndarray, y_plane: float) -> np.ndarray:
    """Where the rays from points (..., 3) to the eye cross the plane y = y_plane: (..., 2) as (x, z)."""
    k = (y_plane - eye[1]) / (points[..., 1] - eye[1])
    return np.stack([eye[0] + (points[..., 0] - eye[0]) * k, eye[2] + (points[..., 2] - eye[2]) * k], axis=-1)


def shadow_x(camera: Camera, x: float, lane_y: float, front_y: float) -> float:
    """Where the ray from the point x of the lane (at the target's height) to the eye crosses the plane front_y."""
    point = np.array([x, lane_y, camera.target[2]])
    return float(onto_plane(eye_of(camera), point, front_y)[0])


def occluder_width(camera: Camera, lane_y: float, half: float, height: float, front_y: float,
                   hidden_span: float) -> float:
    """Width (m) of an occluder with front face in the plane front_y that hides an object in the
    lane (seen at x = 0) over a stretch of about `hidden_span` metres of its path."""
    eye = eye_of(camera)
    px = onto_plane(eye, box_corners(np.zeros(1), lane_y, half, height)[0], front_y)[:, 0]
    scale = (front_y - eye[1]) / (lane_y - eye[1])  # lane lengths seen on the occluder's face
    return float(px.max() - px.min() + 2 * MARGIN_PX * metres_per_px(camera, front_y) + scale * hidden_span)


def in_view(camera: Camera, corners: np.ndarray, margin_px: float = 1.5) -> np.ndarray:
    """(N,) True where all 8 corners (N, 8, 3) project inside the default image."""
    xy = project_to_pixels(matrices(camera), corners, DEFAULT.height, DEFAULT.width)
    lo, hi = margin_px, np.array([DEFAULT.width, DEFAULT.height]) - 1 - margin_px
    return ((xy >= lo) & (xy <= hi)).all(axis=(-1, -2))


def interval(mask: np.ndarray, direction: int) -> tuple[float, float]:
    """The u-interval of PATH where mask holds (an empty one if it never does)."""
    if not mask.any():
        return (math.inf, -math.inf)
    xs = PATH[mask]
    return (float(xs.min()), float(xs.max())) if direction > 0 else (float(-xs.max()), float(-xs.min()))


def object_mover(camera: Camera, lane_y: float, half: float, height: float, occluder_x: float,
                 occluder_half_w: float, front_y: float, direction: int) -> Mover:
    """An object of half width `half` sliding along x in the lane y behind a still occluder."""
    eye, m = eye_of(camera), MARGIN_PX * metres_per_px(camera, front_y)
    corners = box_corners(PATH, lane_y, half, height)
    px = onto_plane(eye, corners, front_y)[..., 0]  # (N, 8)
    lo, hi = px.min(axis=1) - occluder_x, px.max(axis=1) - occluder_x
    hidden = (lo >= -occluder_half_w + m) & (hi <= occluder_half_w - m)
    cover = (hi >= -occluder_half_w - m) & (lo <= occluder_half_w + m)
    veiled = (lo >= -occluder_half_w - VEIL * m) & (hi <= occluder_half_w + VEIL * m)
    return Mover(interval(cover, direction), interval(hidden, direction), interval(veiled, direction),
                 interval(in_view(camera, corners), direction))


def occluder_mover(camera: Camera, object_x: float, lane_y: float, half: float, height: float,
                   occluder_half_w: float, occluder_height: float, front_y: float, direction: int) -> Mover:
    """An occluder sliding along x in front of a still object; the mover is the occluder's centre."""
    eye, m = eye_of(camera), MARGIN_PX * metres_per_px(camera, front_y)
    px = onto_plane(eye, box_corners(np.array([object_x]), lane_y, half, height), front_y)[0, :, 0]
    hidden = (PATH >= px.max() - occluder_half_w + m) & (PATH <= px.min() + occluder_half_w - m)
    cover = (PATH >= px.min() - occluder_half_w - m) & (PATH <= px.max() + occluder_half_w + m)
    veiled = (PATH >= px.max() - occluder_half_w - VEIL * m) & (PATH <= px.min() + occluder_half_w + VEIL * m)
    # the occluder's front face only needs its centre column inside the image
    face = box_corners(PATH, front_y, 0.0, occluder_height)
    return Mover(interval(cover, direction), interval(hidden, direction), interval(veiled, direction),
                 interval(in_view(camera, face, 0.0), direction))


def wall_height(camera: Camera, lane_y: float, half: float, height: float, front_y: float) -> float:
    """Lowest occluder (m) whose front face hides the top of an object in the lane from the eye."""
    eye = eye_of(camera)
    z = onto_plane(eye, box_corners(np.zeros(1), lane_y, half, height)[0], front_y)[:, 1]
    return float(z.max() + MARGIN_PX * metres_per_px(camera, front_y))


def plan_motion(movers: list[Mover], offsets: list[float], speeds: tuple[float, float], frac_speed: float,
                frac_start: float, hidden_at: float | None = None, loose: bool = False) -> tuple[float, float]:
    """Speed v and start u0 of a group moving together at v (mover k starts at u0 - offsets[k]).

    Every mover must be untouched by the occluder for LEAD_S, fully hidden for HIDE_S, clear of
    it for the last TAIL_S, not yet out of its hidden stretch at CONTEXT_S (so it reappears after
    the context), and inside the image all along. The feasible speeds form a set
    from which `frac_speed` picks a quantile; `frac_start` places u0 inside its feasible
    interval. With `hidden_at` (one mover) the start is fixed so that the mover is at the
    centre of its hidden stretch at that time. `loose` only asks the movers to be seen (not
    untouched) in the first and last frames, which lets a group fit in the view.
    """
    v = np.linspace(*speeds, 400)
    lo, hi = np.full_like(v, -math.inf), np.full_like(v, math.inf)
    ok = np.ones_like(v, dtype=bool)
    avoid, lead, tail = ("veiled", SEEN_S, SEEN_S) if loose else ("cover", LEAD_S, TAIL_S)
    for mv, o in zip(movers, offsets):
        a_lo, a_hi = getattr(mv, avoid)
        lo = np.maximum(lo, np.maximum(a_hi + o - v * (CLIP_S - tail), mv.view[0] + o))
        hi = np.minimum(hi, np.minimum(a_lo + o - v * lead, mv.view[1] + o - v * CLIP_S))
        hi = np.minimum(hi, mv.hidden[1] + o - v * CONTEXT_S)
        ok &= mv.hidden[1] - mv.hidden[0] >= v * HIDE_S
    if hidden_at is not None:
        u0 = movers[0].hidden_centre + offsets[0] - v * hidden_at
        ok &= (lo <= u0) & (u0 <= hi)
        lo = hi = u0
    ok &= lo <= hi
    if not ok.any():
        raise PlanError("no speed in [%.2f, %.2f] m/s hides and shows the object inside the clip" % speeds)
    i = np.flatnonzero(ok)[min(int(frac_speed * ok.sum()), ok.sum() - 1)]
    return float(v[i]), float(lo[i] + frac_start * (hi[i] - lo[i]))


def widen_until_planned(plan, zoom: float, steps: int = 8, step: float = 0.5):
    """Call plan(zoom) at the sampled zoom and, where no motion fits, from a little farther away
    (each retry widens the half view by `step` object sizes). Returns (zoom used, plan's result)."""
    for k in range(steps + 1):
        try:
            return zoom + k * step, plan(zoom + k * step)
        except PlanError:
            if k == steps:
                raise


def add_mover(scene: Scene, shape: str, x: float, y: float, half: float, colour: str, mass: float,
              vx: float) -> int:
    """A frictionless sliding cube or a ball rolling without slipping, moving along x at vx."""
    if shape == "ball":
        body = scene.add_sphere((x, y, half), half, colour, mass=mass, lateralFriction=0.8, rollingFriction=0.0,
                                spinningFriction=0.0, restitution=0.0, linearDamping=0.0, angularDamping=0.0)
        scene.bc.resetBaseVelocity(body, (vx, 0, 0), (0, vx / half, 0))  # rolling: v = w x r
    else:
        body = scene.add_box((x, y, half), (half, half, half), colour, mass=mass, lateralFriction=0.0,
                             restitution=0.0, linearDamping=0.0, angularDamping=0.0)
        scene.bc.resetBaseVelocity(body, (vx, 0, 0), (0, 0, 0))
    return body
