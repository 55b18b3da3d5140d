"""Brush: a brush paints 1-2 strokes on a canvas and lifts away; the paint stays.

The canvas is a light, unsaturated slab lying on the ground. The brush is scripted (mass 0):
it lowers onto the canvas, moves along each stroke (straight, or a quadratic Bezier curve) at
constant speed, lifts, and at the end flies out of the frame. Paint is laid as visual-only
disc decals along its path (one object "paint", role "paint"), so it is persistent geometry
that renders and segments. Times are absolute seconds, so a longer clip keeps the strokes at
the same frames: at 15 fps painting starts in the first 8 frames (the context the eval tasks
give), goes on well after them, and the brush is out of view by frame 27. Per frame the canvas
records `painted_area` (m^2): the area of the union of the decals, rasterised on a fine grid
of the canvas. Events: "stroke" with phase "start" / "end".
"""
from __future__ import annotations

import numpy as np

from ..engine import Camera, Scenario, Scene, p

from ..params import Choice, Integer, Uniform, rgb_of, sample_colours
from ._motion import Keyframes

CANVAS_HALF = (0.22, 0.16, 0.005)  # canvas half extents (m)
CANVAS_RGB = (0.93, 0.93, 0.90)    # near white: paint shows on it and it never keys as an object colour
BRUSH_RADIUS, BRUSH_LENGTH = 0.012, 0.10  # the brush is an upright cylinder (m)
LIFT = 0.06                        # height of the lifted brush tip above the canvas (m)
CELL = 0.002                       # grid cell of the painted-area raster (m)
DECAL_STEP = 0.4                   # decal spacing along a stroke, in stroke widths
EXIT = (0.9, 0.1, 0.6)             # where the brush leaves to (x mirrored to the nearer side): out of view
START_S, STROKES_S, EXIT_S = 0.1, 1.45, 1.75  # the first stroke's approach starts, all strokes are done, the brush is gone (s)


class Brush(Scenario):
    family = "state_change"
    name = "brush"
    description = "a brush paints 1-2 straight or curved strokes on a canvas and lifts away; the paint stays"
    ranges = {
        "n_strokes": Integer(1, 2),
        "stroke_shape": Choice(("straight", "curved")),
        "stroke_width": Uniform(0.035, 0.055),  # width of the paint trail (m)
        "bend": Uniform(0.25, 0.5),             # curved strokes: control point offset, in stroke lengths
        "cam_distance": Uniform(0.65, 0.75),
        "cam_yaw": Uniform(-15.0, 15.0),
        "cam_pitch": Uniform(-75.0, -58.0),
    }
    # Out of distribution: three strokes (painted faster, in the same time), wider, and more curved.
    ood = {
        "n_strokes": Integer(3, 3),
        "stroke_width": Uniform(0.06, 0.07),
        "bend": Uniform(0.55, 0.7),
    }

    def derive(self, params, rng):
        paint, brush = sample_colours(rng, 2, self.palette)
        # The strokes depend on other parameters, so build() draws them from this seed (they follow overrides).
        return {"paint_colour": paint, "brush_colour": brush, "layout_seed": int(rng.integers(2 ** 31))}

    @staticmethod
    def strokes(params) -> list[dict]:
        """Each stroke's start, end and (curved) Bezier control point on the canvas (m)."""
        rng = np.random.default_rng(params["layout_seed"])
        margin = params["stroke_width"] / 2 + 0.02
        lo, hi = -np.array(CANVAS_HALF[:2]) + margin, np.array(CANVAS_HALF[:2]) - margin
        strokes = []
        for _ in range(params["n_strokes"]):
            while True:  # strokes at least 18 cm long
                a, b = rng.uniform(lo, hi), rng.uniform(lo, hi)
                if np.linalg.norm(b - a) >= 0.18:
                    break
            normal = np.array([a[1] - b[1], b[0] - a[0]])  # |normal| = stroke length
            side = rng.choice((-1.0, 1.0))
            # The control point stays on the canvas, so the whole curve (in its hull) does too.
            c = np.clip((a + b) / 2 + side * params["bend"] * normal, lo, hi)
            strokes.append({"start": _r(a), "end": _r(b), "control": _r(c) if params["stroke_shape"] == "curved" else None})
        return strokes

    def camera(self, params):
        return Camera(target=(0.0, 0.0, 0.0), distance=params["cam_distance"], yaw=params["cam_yaw"],
                      pitch=params["cam_pitch"])

    def build(self, scene: Scene, params):
        top = 2 * CANVAS_HALF[2]
        slab = scene.add_box((0.0, 0.0, CANVAS_HALF[2]), CANVAS_HALF, CANVAS_RGB, mass=0.0)
        canvas = scene.add_object("canvas", "canvas", CANVAS_RGB, [slab], size=[2 * h for h in CANVAS_HALF[:2]])
        anchor = scene.add_anchor((0.0, 0.0, top))  # the paint's recorded pose: the canvas centre
        strokes = self.strokes(params)
        paint = scene.add_object("paint", "paint", params["paint_colour"], [anchor], width=params["stroke_width"],
                                 strokes=strokes)

        # The tip's whole path, precomputed at every physics step time: (N + 1, 3).
        spec = scene.spec
        n_steps = (spec.n_frames - 1) * spec.steps_per_frame
        times = np.arange(n_steps + 2) / spec.sim_hz
        paths = [_stroke_points(s, top) for s in strokes]  # each (K, 3)
        tip, windows = _tip_path(times, paths, top)
        # Decals every DECAL_STEP widths of arc length, each due at the first step the tip reaches it.
        w = params["stroke_width"]
        decals = []  # (step, xyz) sorted by step
        for path, (t0, t1) in zip(paths, windows):
            arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
            stops = np.append(np.arange(0.0, arc[-1], DECAL_STEP * w), arc[-1])
            for s in stops:
                t = t0 + (t1 - t0) * s / arc[-1]
                xyz = [float(np.interp(s, arc, path[:, i])) for i in range(3)]
                decals.append((int(np.ceil(t * spec.sim_hz - 1e-9)), xyz))
        decals.sort(key=lambda d: d[0])

        body = scene.add_cylinder(tip[0] + (0, 0, BRUSH_LENGTH / 2), BRUSH_RADIUS, BRUSH_LENGTH,
                                  params["brush_colour"], mass=0.0)
        brush = scene.add_object("brush", "brush", params["brush_colour"], [body], radius=BRUSH_RADIUS)
        # A decal is a flat upward-facing disc: no side walls, so overlapping decals shade as one surface.
        ring = [[w / 2 * np.cos(a), w / 2 * np.sin(a), 0.0] for a in np.linspace(0, 2 * np.pi, 24, endpoint=False)]
        vis = scene.bc.createVisualShape(p.GEOM_MESH, vertices=[[0.0, 0.0, 0.0]] + ring, normals=[[0, 0, 1]] * 25,
                                         indices=[i for k in range(24) for i in (0, 1 + k, 1 + (k + 1) % 24)],
                                         rgbaColor=(*rgb_of(params["paint_colour"]), 1))
        n = np.ceil(np.array(CANVAS_HALF[:2]) / CELL).astype(int)
        grid = ((np.arange(-n[0], n[0]) + 0.5) * CELL, (np.arange(-n[1], n[1]) + 0.5) * CELL)
        centre = (tip + np.array([0.0, 0.0, BRUSH_LENGTH / 2])).tolist()  # of the brush body, per step: lists once
        scene.scratch.update(canvas=canvas, paint=paint, brush=brush, body=body, tip=tip, centre=centre, decals=decals,
                             next_decal=0, vis=vis, top=top, windows=windows, stroke_events=0,
                             grid=grid, painted=np.zeros((2 * n[1], 2 * n[0]), bool))  # (rows y, cols x)

    def on_step(self, scene: Scene, params):
        s = scene.scratch
        i = scene.step_index
        scene.drive(s["body"], s["centre"][i], s["centre"][i + 1])
        t_next = (i + 1) / scene.spec.sim_hz
        # Stroke events: 2 per stroke (start, end), in time order.
        while s["stroke_events"] < 2 * len(s["windows"]):
            k, end = divmod(s["stroke_events"], 2)
            if s["windows"][k][end] > t_next + 1e-9:
                break
            scene.event("stroke", [s["brush"], s["canvas"], s["paint"]], stroke=k + 1, phase="end" if end else "start")
            s["stroke_events"] += 1
        if (i + 1) % scene.spec.steps_per_frame:
            return
        # Decals are visual only and the painted area is read once a frame: the decals due by the frame about to
        # be recorded are laid in the last step before it, in order, in one call (the same bodies and pixels).
        new = []
        while s["next_decal"] < len(s["decals"]) and s["decals"][s["next_decal"]][0] <= i + 1:
            xyz = s["decals"][s["next_decal"]][1]
            new.append([xyz[0], xyz[1], s["top"] + 0.001])
            _stamp(s["painted"], s["grid"], xyz[:2], params["stroke_width"] / 2)
            s["next_decal"] += 1
        if new:
            scene.add_bodies(s["paint"], scene.add_visuals(s["vis"], new))

    def on_frame(self, scene: Scene, params):
        s = scene.scratch
        scene.record(s["canvas"], "painted_area", round(float(s["painted"].sum()) * CELL * CELL, 7))

    def caption(self, params):
        n = params["n_strokes"]
        what = f"{('one', 'two', 'three')[n - 1]} {params['stroke_shape']} {params['paint_colour']} stroke{'s' if n > 1 else ''}"
        return f"a {params['brush_colour']} brush paints {what} on a white canvas and lifts away, leaving the paint behind"


def _r(v) -> list[float]:
    return [round(float(x), 4) for x in v]


def _stroke_points(stroke: dict, z: float, k: int = 64) -> np.ndarray:
    """Points along a stroke on the canvas surface: a line, or a quadratic Bezier. (k, 3)."""
    a, b = np.array(stroke["start"]), np.array(stroke["end"])
    c = (a + b) / 2 if stroke["control"] is None else np.array(stroke["control"])
    s = np.linspace(0.0, 1.0, k)[:, None]
    xy = (1 - s) ** 2 * a + 2 * (1 - s) * s * c + s ** 2 * b
    return np.concatenate([xy, np.full((k, 1), z)], axis=1)


def _tip_path(times: np.ndarray, paths: list[np.ndarray], top: float):
    """Brush tip position at each time (N, 3), and each stroke's painting window (t_start, t_end).

    Strokes are painted between START_S and STROKES_S: lower, paint at constant speed, lift, move
    to the next; then the brush flies out of view by EXIT_S and stays there."""
    leg = (STROKES_S - START_S) / len(paths)  # time per stroke, moves included
    up = np.array([0.0, 0.0, LIFT])
    key_t, key_p, windows = [], [], []
    for k, path in enumerate(paths):
        t0 = START_S + k * leg
        t_paint, t_end = t0 + 0.15 * leg, t0 + 0.8 * leg
        key_t += [t0, t_paint]
        key_p += [path[0] + up, path[0]]
        windows.append((t_paint, t_end))
        key_t += [t_end, t_end + 0.12 * leg]
        key_p += [path[-1], path[-1] + up]
    exit_pos = np.array([np.copysign(EXIT[0], key_p[-1][0]), EXIT[1], EXIT[2]])
    key_t.append(EXIT_S)
    key_p.append(exit_pos)
    along = Keyframes(key_t, key_p)  # keyframed's numbers, without numpy's cost per call
    tip = np.array([along(t) for t in times.tolist()])
    for path, (t0, t1) in zip(paths, windows):  # constant speed along the stroke while painting
        arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
        on = (times >= t0) & (times <= t1)
        s = (times[on] - t0) / (t1 - t0) * arc[-1]
        tip[on] = np.stack([np.interp(s, arc, path[:, i]) for i in range(3)], axis=1)
    return tip, windows


def _stamp(painted: np.ndarray, grid: tuple, centre, radius: float) -> None:
    """Mark the raster cells whose centres lie inside a paint disc."""
    xs, ys = grid
    cols = np.flatnonzero(np.abs(xs - centre[0]) <= radius)
    rows = np.flatnonzero(np.abs(ys - centre[1]) <= radius)
    if len(cols) and len(rows):
        inside = (xs[cols][None, :] - centre[0]) ** 2 + (ys[rows][:, None] - centre[1]) ** 2 <= radius ** 2
        painted[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] |= inside
