"""Gravity family: drops, throws, ramps, bounces and objects coming to rest on a support.

Two helpers shared with the occlusion family live here: `frame_box` (a camera that keeps a
region of the x-z plane in view) `a` and `size_word` (caption words).

Every gravity scenario starts like a Physics-IQ switch frame: the moving object is held still
(mass 0) at its start and released at `release` seconds, late in an eval task's 8 context
frames, so the context shows it at rest and then its first frames of motion, and the landing,
bounces and rolling come after the context (see `HeldThenReleased`). Times are absolute, so a
longer or faster clip keeps the events at the same moments.
"""
from __future__ import annotations

import math

from ..engine import Camera, Scenario, Scene

GROUND_ROLLING = 0.08  # rolling friction of a ground that stops a ball rolling at 2 m/s within about 0.5 m
FOV = 50.0  # vertical field of view of every gravity/occlusion camera (degrees)
SIZE_WORDS = ((0.09, "small"), (0.12, "medium"), (math.inf, "large"))  # (radius or half edge below, word)


def a(phrase: str) -> str:
    """The phrase with its indefinite article: 'an orange ball', 'a red cube'."""
    return ("an " if phrase[:1] in "aeiou" else "a ") + phrase


def size_word(size: float) -> str:
    """'small', 'medium' or 'large' for a radius or half edge in metres."""
    return next(word for limit, word in SIZE_WORDS if size < limit)


def frame_box(x_lo: float, x_hi: float, z_lo: float, z_hi: float, yaw: float, pitch: float,
              margin: float = 1.2, y: float = 0.0) -> Camera:
    """A camera at (yaw, pitch) degrees aimed at the centre of the box [x_lo, x_hi] x [z_lo, z_hi]
    (in the plane y) from far enough that the box's larger side fills 1/margin of the view."""
    span = margin * max(x_hi - x_lo, z_hi - z_lo)
    distance = 0.5 * span / math.tan(math.radians(FOV) / 2)
    return Camera(target=(0.5 * (x_lo + x_hi), y, 0.5 * (z_lo + z_hi)), distance=distance,
                  yaw=yaw, pitch=pitch, fov=FOV)


def add_shape(scene: Scene, shape: str, pos, size: float, colour, mass: float = 0.0, **dyn) -> int:
    """A sphere (radius `size`), cube (half edge) or upright cylinder (radius, half height) body."""
    if shape == "sphere":
        return scene.add_sphere(pos, size, colour, mass=mass, **dyn)
    if shape == "cylinder":
        return scene.add_cylinder(pos, size, 2 * size, colour, mass=mass, **dyn)
    return scene.add_box(pos, (size, size, size), colour, mass=mass, **dyn)


class HeldThenReleased(Scenario):
    """A scenario whose moving objects are held still until `params["release"]` seconds.

    `build` creates the object's body with mass 0 (a fixed body: gravity does not move it, so the
    held phase is exactly still) and calls `hold`; at the release time the body gets its mass and
    its initial velocity and a "release" event is recorded at the first frame that shows it moving.
    """

    def hold(self, scene: Scene, oid: int, mass: float, velocity=(0.0, 0.0, 0.0)) -> None:
        """Hold object `oid` (its first body created with mass 0) until release; then give it `mass`
        (kg) and `velocity` (m/s, world frame). Several held objects are released together."""
        scene.scratch.setdefault("held", []).append({"oid": oid, "mass": mass, "velocity": tuple(velocity)})

    def on_step(self, scene: Scene, params):
        held = scene.scratch.get("held")
        t = scene.step_index / scene.spec.sim_hz  # time at the start of this physics step (s)
        if not held or t < params["release"]:
            return
        for h in held:
            body = scene.bodies[h["oid"]][0]
            scene.bc.changeDynamics(body, -1, mass=h["mass"])
            scene.bc.resetBaseVelocity(body, h["velocity"], (0.0, 0.0, 0.0))
            scene.event("release", [h["oid"]], time=round(t, 6))
        del scene.scratch["held"]
