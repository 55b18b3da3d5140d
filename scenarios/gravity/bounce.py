"""Bounce: a ball held still, then dropped onto a hard floor, bounces several times, lower each time.

Restitution is varied from dull to lively. Whatever it is, a bounce can never rise higher
than the one before (energy is only lost). A small sideways drift, given at the release, makes
the bounces travel. The release comes late in an eval task's context, the first landing after it.
"""
from ..engine import Scene
from ..params import Choice, LogUniform, Uniform, sample_colours
from . import HeldThenReleased, frame_box, size_word

DRIFT_S = 2.2  # seconds of drift the view allows for (a little more than a default clip)


class Bounce(HeldThenReleased):
    family = "gravity"
    name = "bounce"
    description = "a ball dropped onto a hard floor bounces several times, each bounce lower"
    ranges = {
        "radius": Uniform(0.08, 0.13),       # m
        "mass": LogUniform(0.1, 5.0),        # kg
        "height": Uniform(0.6, 1.1),         # release height of the centre (m)
        "restitution": Uniform(0.5, 0.9),    # of the ball; the floor's is 1, so this is the pair's
        "drift": Uniform(0.0, 0.25),         # sideways speed at release (m/s)
        "direction": Choice(("right", "left")),
        "release": Uniform(0.27, 0.37),      # s: held still until then (first moving frame 5 or 6 at 15 fps)
        "cam_margin": Uniform(1.1, 1.3),     # view size / scene size (zoom)
        "cam_yaw": Uniform(-15.0, 15.0),
        "cam_pitch": Uniform(-12.0, -2.0),
    }
    # Out of distribution: larger, heavier, duller balls dropped from higher (a bounce still never grows).
    ood = {
        "radius": Uniform(0.14, 0.17),
        "mass": LogUniform(10.0, 40.0),
        "height": Uniform(1.2, 1.5),
        "restitution": Uniform(0.3, 0.45),
    }

    def derive(self, params, rng):
        d = 1 if params["direction"] == "right" else -1
        return {"colour": sample_colours(rng, 1, self.palette)[0], "x0": -0.5 * d * params["drift"] * DRIFT_S}

    def camera(self, params):
        r, x0 = params["radius"], params["x0"]
        xs = (x0, -x0)
        top = params["height"] + r
        half = max(0.5 * (max(xs) - min(xs)) + r + 0.05, 0.35 * top)
        return frame_box(-half, half, 0.0, top + 0.05, params["cam_yaw"], params["cam_pitch"], params["cam_margin"])

    def build(self, scene: Scene, params):
        d = 1 if params["direction"] == "right" else -1
        scene.bc.changeDynamics(scene.ground, -1, restitution=1.0)
        body = scene.add_sphere((params["x0"], 0.0, params["height"]), params["radius"], params["colour"],
                                mass=0.0, restitution=params["restitution"], lateralFriction=0.5,  # held
                                linearDamping=0.0, angularDamping=0.0)
        oid = scene.add_object("ball", "projectile", params["colour"], [body], size=params["radius"])
        self.hold(scene, oid, params["mass"], velocity=(d * params["drift"], 0.0, 0.0))

    def caption(self, params):
        lively = "very bouncy" if params["restitution"] > 0.75 else "bouncy"
        return (f"a {size_word(params['radius'])} {lively} {params['colour']} ball is dropped from "
                f"{params['height']:.1f} m and bounces, each bounce lower than the last")
