"""Projectile: a ball is held still, then thrown with an initial velocity and flies on a parabola.

In flight the horizontal velocity is constant and the vertical acceleration is -g, whatever
the mass (no drag). After landing it bounces and rolls to a stop on a ground with rolling
friction, so it stays in view. The throw comes late in an eval task's context (`release`) and
the flight lasts long enough to land after it.
"""
import math

from ..engine import GRAVITY, Scene

from ..params import Choice, LogUniform, Uniform, sample_colours
from . import GROUND_ROLLING, HeldThenReleased, frame_box, size_word


class Projectile(HeldThenReleased):
    family = "gravity"
    name = "projectile"
    description = "a ball is thrown with an initial velocity, flies on a parabola and lands"
    ranges = {
        "radius": Uniform(0.08, 0.12),       # m
        "mass": LogUniform(0.1, 5.0),        # kg; must not matter
        "speed": Uniform(1.2, 2.4),          # launch speed (m/s)
        "angle": Uniform(25.0, 65.0),        # launch angle above the horizontal (degrees)
        "height": Uniform(0.35, 0.7),        # launch height of the centre (m)
        "direction": Choice(("right", "left")),
        "restitution": Uniform(0.2, 0.6),
        "release": Uniform(0.30, 0.38),      # s: held still until thrown (first moving frame 5 or 6 at 15 fps)
        "cam_margin": Uniform(1.1, 1.3),     # view size / scene size (zoom)
        "cam_yaw": Uniform(-15.0, 15.0),
        "cam_pitch": Uniform(-12.0, -2.0),
    }
    # Out of distribution: larger, heavier, duller balls thrown faster from higher. A duller ball bounces
    # less after landing, so the faster throw still rolls out inside the view it is framed for.
    ood = {
        "radius": Uniform(0.13, 0.16),
        "mass": LogUniform(10.0, 40.0),
        "speed": Uniform(2.5, 3.0),
        "height": Uniform(0.75, 0.95),
        "restitution": Uniform(0.05, 0.15),
    }

    @staticmethod
    def flight(params) -> tuple[float, float, float, float]:
        """(vx, vz, landing time, apex height of the centre) of the throw, vx signed by direction."""
        a, r = math.radians(params["angle"]), params["radius"]
        vx, vz = params["speed"] * math.cos(a), params["speed"] * math.sin(a)
        t_land = (vz + math.sqrt(vz ** 2 + 2 * GRAVITY * (params["height"] - r))) / GRAVITY
        d = 1 if params["direction"] == "right" else -1
        return d * vx, vz, t_land, params["height"] + vz ** 2 / (2 * GRAVITY)

    def derive(self, params, rng):
        vx, _, t_land, _ = self.flight(params)
        return {"colour": sample_colours(rng, 1, self.palette)[0], "x0": -0.5 * (vx * t_land + 0.3 * vx)}

    def camera(self, params):
        vx, _, t_land, apex = self.flight(params)
        r, x0 = params["radius"], params["x0"]
        xs = (x0, x0 + vx * t_land + 0.3 * vx)  # launch, landing plus the roll-out
        return frame_box(min(xs) - r - 0.05, max(xs) + r + 0.05, 0.0, apex + r + 0.05,
                         params["cam_yaw"], params["cam_pitch"], params["cam_margin"])

    def build(self, scene: Scene, params):
        vx, vz, _, _ = self.flight(params)
        scene.bc.changeDynamics(scene.ground, -1, restitution=1.0, rollingFriction=GROUND_ROLLING)
        body = scene.add_sphere((params["x0"], 0.0, params["height"]), params["radius"], params["colour"],
                                mass=0.0, restitution=params["restitution"], lateralFriction=0.8,  # held
                                linearDamping=0.0, angularDamping=0.0)
        oid = scene.add_object("ball", "projectile", params["colour"], [body], size=params["radius"])
        self.hold(scene, oid, params["mass"], velocity=(vx, 0.0, vz))

    def caption(self, params):
        return (f"a {size_word(params['radius'])} {params['colour']} ball is thrown to the {params['direction']} "
                f"at {params['speed']:.1f} m/s, {params['angle']:.0f} degrees up, and lands")
