"""Test scenes for the metrics: small stand-in scenarios simulated by the real engine, and the
registered scenarios' episodes.

The stand-ins follow the Episode contract (roles, per-frame state series, events) and are
deliberately plain and fixed, so that every metric and probe has a case at 16 frames whatever the
registered scenarios do while they evolve: a sphere passes behind a wall and always comes out
inside the clip; 2x2 voxel bites are taken out of a food block at known frames; a brush lays
decals on a canvas; a pane of glass pieces breaks (or, below threshold, not) at a sampled frame
and the pieces fall. They are not registered, so they never enter a task.
"""
from __future__ import annotations

import scenarios
from scenarios.engine import Camera, Scenario, Scene, run_scenario
from scenarios.params import Choice, Integer, Uniform, sample_colours


class _Base(Scenario):
    def camera(self, params):
        return Camera(target=(0.0, 0.0, 0.6), distance=2.4, yaw=0.0, pitch=-5.0)

    def caption(self, params):
        return self.description


class PassBehind(Scenario):
    family, name = "occlusion", "stub_pass_behind"
    description = "a ball rolls sideways behind a wall and comes out on the other side"
    ranges = {"z": Uniform(0.45, 0.75), "half_width": Uniform(0.22, 0.28), "t_mid": Uniform(0.45, 0.6)}

    camera, caption = _Base.camera, _Base.caption

    def derive(self, params, rng):
        ball, wall = sample_colours(rng, 2)
        return {"ball": ball, "wall": wall}

    def build(self, scene: Scene, params):
        ball = scene.add_sphere(self._pos(scene, params, 0), 0.09, params["ball"], mass=0.0)
        wall = scene.add_box((0.0, -0.6, 0.5), (params["half_width"], 0.02, 0.5), params["wall"])
        scene.add_object("ball", "projectile", params["ball"], [ball])
        scene.add_object("wall", "occluder", params["wall"], [wall])

    def _pos(self, scene, params, step):
        duration = scene.spec.n_frames / scene.spec.fps
        t = step / scene.spec.sim_hz - params["t_mid"] * duration   # seconds from the wall's centre line
        return (1.6 / duration * t, 0.0, params["z"])

    def on_step(self, scene, params):
        s = scene.step_index
        scene.drive(scene.bodies[0][0], self._pos(scene, params, s), self._pos(scene, params, s + 1))


class Bite(Scenario):
    family, name = "state_change", "stub_bite"
    description = "bites are taken out of a block of food"
    ranges = {"bite_frames": Choice(((5, 9), (6, 11), (4, 8))), "voxel": Uniform(0.05, 0.06)}

    camera, caption = _Base.camera, _Base.caption

    def derive(self, params, rng):
        return {"colour": sample_colours(rng, 1)[0]}

    def build(self, scene, params):
        v, nx, nz = params["voxel"], 8, 5
        cells = [(i, k) for i in range(nx) for k in range(nz)]
        bodies = [scene.add_box(((i - nx / 2 + 0.5) * 2 * v, 0.0, 0.35 + (k + 0.5) * 2 * v), (v, v, v),
                                params["colour"], collide=False) for i, k in cells]
        scene.scratch["voxels"] = dict(zip(cells, bodies))
        scene.add_object("food", "food", params["colour"], [scene.add_anchor((0, 0, 0.5)), *bodies])

    def on_step(self, scene, params):
        if scene.step_index % scene.spec.steps_per_frame or scene.frame not in params["bite_frames"]:
            return
        n = params["bite_frames"].index(scene.frame)  # bite n removes the top-right 2x2 block, moving left
        cells = [(7 - 2 * n - a, 4 - b) for a in (0, 1) for b in (0, 1)]
        vox = scene.scratch["voxels"]
        scene.remove_bodies(0, [vox.pop(c) for c in cells if c in vox])
        scene.event("bite", [0])

    def on_frame(self, scene, params):
        scene.record(0, "remaining_volume", len(scene.scratch["voxels"]) * (2 * params["voxel"]) ** 3)


class Brush(Scenario):
    family, name = "state_change", "stub_brush"
    description = "a brush paints a stroke across a canvas"
    ranges = {"z": Uniform(0.5, 0.75), "start": Integer(2, 4)}

    camera, caption = _Base.camera, _Base.caption

    def derive(self, params, rng):
        paint, brush = sample_colours(rng, 2)
        return {"paint": paint, "brush": brush}

    def build(self, scene, params):
        canvas = scene.add_box((0.0, 0.1, 0.6), (0.7, 0.01, 0.45), (0.95, 0.95, 0.9), collide=False)
        brush = scene.add_sphere((-0.6, -0.15, params["z"]), 0.05, params["brush"], mass=0.0)
        scene.add_object("canvas", "canvas", (0.95, 0.95, 0.9), [canvas])
        scene.add_object("paint", "paint", params["paint"], [scene.add_anchor((0, 0.08, 0.6))])
        scene.add_object("brush", "brush", params["brush"], [brush])
        scene.scratch["decals"] = 0

    def _pos(self, scene, params, step):
        frame = step / scene.spec.steps_per_frame  # continuous frame time
        x = -0.6 + 1.1 * max(0.0, frame - params["start"]) / max(1, scene.spec.n_frames - params["start"] - 2)
        return (x, -0.15, params["z"])

    def on_step(self, scene, params):
        s = scene.step_index
        pos = self._pos(scene, params, s)
        scene.drive(scene.bodies[2][0], pos, self._pos(scene, params, s + 1))
        if s % scene.spec.steps_per_frame == 0 and scene.frame > params["start"]:
            decal = scene.add_box((pos[0], 0.085, pos[2]), (0.08, 0.004, 0.035), params["paint"], collide=False)
            scene.add_bodies(1, [decal])
            if scene.scratch["decals"] == 0:
                scene.event("stroke", [1, 2])
            scene.scratch["decals"] += 1

    def on_frame(self, scene, params):
        scene.record(1, "painted_area", scene.scratch["decals"] * 0.16 * 0.07)


class Shatter(Scenario):
    family, name = "shatter", "stub_shatter"
    description = "a pane of glass breaks into pieces that fall"
    ranges = {"break_frame": Integer(5, 8), "breaks": Choice((True,)), "height": Uniform(0.55, 0.75)}

    camera, caption = _Base.camera, _Base.caption

    def derive(self, params, rng):
        return {"colour": "cyan", "kicks": rng.normal(0, 0.6, size=(16, 3)).tolist()}

    def build(self, scene, params):
        s, n = 0.06, 4
        pieces = [scene.add_box(((i - n / 2 + 0.5) * 2 * s, 0.0, params["height"] + (k - n / 2 + 0.5) * 2 * s),
                                (s, 0.01, s), params["colour"], mass=0.0) for i in range(n) for k in range(n)]
        scene.scratch["pieces"] = pieces
        scene.add_object("glass", "glass", params["colour"], [scene.add_anchor((0, 0, params["height"])), *pieces])

    def on_step(self, scene, params):
        if (params["breaks"] and scene.frame == params["break_frame"]
                and scene.step_index % scene.spec.steps_per_frame == 0):
            for body, kick in zip(scene.scratch["pieces"], params["kicks"]):
                scene.bc.changeDynamics(body, -1, mass=0.05)
                scene.bc.resetBaseVelocity(body, [kick[0], kick[1] * 0.2, abs(kick[2])], [0, 0, 0])
            scene.event("shatter", [0])

    def on_frame(self, scene, params):
        broken = params["breaks"] and scene.frame >= params["break_frame"]
        positions = [list(scene.bc.getBasePositionAndOrientation(b)[0]) for b in scene.scratch["pieces"]]
        scene.record(0, "n_pieces", len(positions) if broken else 1)
        scene.record(0, "shard_positions", positions if broken else [])


class BelowThreshold(Shatter):
    name = "stub_below_threshold"
    description = "a pane of glass is touched too gently to break"
    ranges = {**Shatter.ranges, "breaks": Choice((False,))}


STUBS = {s.name: s for s in (PassBehind(), Bite(), Brush(), Shatter(), BelowThreshold())}


def registered(spec: scenarios.RenderSpec, seeds=(0, 1)) -> list[scenarios.Episode]:
    """Episodes of every registered scenario (the real ones), for checks that must hold on all of them.
    A scenario that cannot make an episode at this spec is left out: its own tests report that."""
    out = []
    for name in scenarios.SCENARIOS:
        for s in seeds:
            try:
                out.append(scenarios.generate_episode(name, s, spec))
            except ValueError:
                continue
    return out


def episode(name: str, seed: int, spec: scenarios.RenderSpec) -> scenarios.Episode:
    """An episode of a stand-in (or of a registered scenario, by its name)."""
    if name in STUBS:
        return run_scenario(STUBS[name], seed, spec)
    return scenarios.generate_episode(name, seed, spec)
