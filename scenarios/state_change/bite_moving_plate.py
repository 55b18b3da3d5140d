"""Bite on a moving plate (combinatorial): the burger rides on a plate that slides across the table at a
constant speed while the ball takes its bites, following it.

Known pieces joined in a new way: bite's burger, biter and timing (its training ranges) and the
uniform sliding of the occlusion family's movers, which training never puts under food. In the
plate's frame it is the bite scenario exactly; in the world every part of the food and the biter's
path are carried along by x(t) = direction * speed * t. So the bites still only remove food (the
remaining volume never grows), and the food, plate and bite marks move together at the plate's speed.
The plate is scripted (mass 0) like the biter, and has no collision shape; the plate, the food's
anchor and its voxels are moved once per frame, before it is rendered (nothing touches them).
"""
from __future__ import annotations

import numpy as np

from ..engine import Camera, Scene

from ..params import Choice, Uniform, sample_colours
from .bite import VOXEL, Bite

PLATE_RIM = 0.04        # the plate reaches this far beyond the burger (m)
PLATE_THICKNESS = 0.01  # m; its top is 2 mm above the ground, under the food


class BiteMovingPlate(Bite):
    name = "bite_moving_plate"
    description = "a ball takes bites out of a burger riding on a plate that slides at a constant speed"
    split = "comb"
    ood = {}
    ranges = {**Bite.ranges,
              "plate_speed": Uniform(0.03, 0.06),         # m/s
              "plate_direction": Choice(("right", "left"))}  # along the image's horizontal

    def derive(self, params, rng):
        out = super().derive(params, rng)
        out["plate_colour"] = next(c for c in sample_colours(rng, 3, self.palette)
                                   if c not in (out["food_colour"], out["biter_colour"]))
        return out

    @staticmethod
    def shift(params, t: float) -> np.ndarray:
        """How far the plate (and all it carries) has slid by time t (s). (3,)"""
        d = 1.0 if params["plate_direction"] == "right" else -1.0
        return np.array([d * params["plate_speed"] * t, 0.0, 0.0])

    def camera(self, params):
        cam = super().camera(params)
        mid = self.shift(params, 1.0)[0]  # about the middle of a default clip
        return Camera(target=(cam.target[0] + mid, *cam.target[1:]), distance=cam.distance, yaw=cam.yaw, pitch=cam.pitch)

    def build(self, scene: Scene, params):
        super().build(scene, params)
        s = scene.scratch
        half = params["food_radius"] + VOXEL + PLATE_RIM
        plate = scene.add_box((0.0, 0.0, 0.002 - PLATE_THICKNESS / 2), (half, half, PLATE_THICKNESS / 2),
                              params["plate_colour"], mass=0.0, collide=False)
        s["plate"] = plate
        s["plate_id"] = scene.add_object("plate", "plate", params["plate_colour"], [plate], half_width=half)
        s["home"] = {b: list(scene.bc.getBasePositionAndOrientation(b)[0]) for b in scene.bodies[s["food"]]}
        s["plate_home"] = [0.0, 0.0, 0.002 - PLATE_THICKNESS / 2]

    def on_step(self, scene: Scene, params):
        s, dt = scene.scratch, 1.0 / scene.spec.sim_hz
        t = scene.step_index * dt
        # bite's own step with its scripted bodies carried along by the plate's slide. In Python floats, with
        # the same operations as `shift` (a sum with the slide (x, 0, 0)): the same numbers at a fraction of the cost
        self.take_bites(scene, t + dt)
        x, x_next = float(self.shift(params, t)[0]), float(self.shift(params, t + dt)[0])
        scene.drive(s["ball"], _carried(self.biter_at(scene, t), x), _carried(self.biter_at(scene, t + dt), x_next))
        if (scene.step_index + 1) % scene.spec.steps_per_frame == 0:  # the next frame is rendered after this step
            # The plate, the food's anchor and its voxels have no collision shape: only where they are when a
            # frame is recorded matters, and a drive or reset sets that whole (pose and velocity).
            scene.drive(s["plate"], _carried(s["plate_home"], x), _carried(s["plate_home"], x_next))
            anchor = scene.bodies[s["food"]][0]
            scene.drive(anchor, _carried(s["home"][anchor], x), _carried(s["home"][anchor], x_next))
            reset = scene.bc.resetBasePositionAndOrientation
            for b in scene.bodies[s["food"]][1:]:  # the voxels not eaten yet
                reset(b, _carried(s["home"][b], x_next), (0, 0, 0, 1))

    def caption(self, params):
        return (f"{super().caption(params)}, while the {params['plate_colour']} plate under it slides to the "
                f"{params['plate_direction']}")


def _carried(home, x: float) -> list[float]:
    """A position carried along by the plate's slide x: home + (x, 0, 0), element by element."""
    return [float(home[0]) + x, float(home[1]) + 0.0, float(home[2]) + 0.0]
