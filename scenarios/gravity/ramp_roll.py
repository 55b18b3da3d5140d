"""Ramp roll: a ball held at rest at the top of an inclined ramp is released and rolls down it
and onto the ground.

A solid sphere rolling without slipping accelerates along the slope at 5/7 g sin(theta),
not the g sin(theta) of a sliding block; the friction is high enough for rolling at every
sampled angle (mu >= 2/7 tan(theta)). The ground has rolling friction, so the ball stops
in view after it leaves the ramp. The release comes late in an eval task's context, so the
context shows the ball at rest and starting to roll, and it reaches the ground after the context.
"""
import math

from ..engine import Scene

from ..params import Choice, LogUniform, Uniform, sample_colours
from . import GROUND_ROLLING, HeldThenReleased, frame_box, size_word

THICKNESS = 0.04  # of the ramp board (m)


class RampRoll(HeldThenReleased):
    family = "gravity"
    name = "ramp_roll"
    description = "a ball rolls from rest down an inclined ramp onto the ground"
    ranges = {
        "radius": Uniform(0.08, 0.12),       # m
        "mass": LogUniform(0.1, 5.0),        # kg; must not matter
        "angle": Uniform(10.0, 30.0),        # slope of the ramp (degrees)
        "length": Uniform(0.5, 0.9),         # length of the ramp's top surface (m)
        "direction": Choice(("right", "left")),  # downhill
        "release": Uniform(0.27, 0.37),      # s: held still until then (first moving frame 5 or 6 at 15 fps)
        "cam_margin": Uniform(1.1, 1.3),     # view size / scene size (zoom)
        "cam_yaw": Uniform(-15.0, 15.0),
        "cam_pitch": Uniform(-20.0, -5.0),
    }
    # Out of distribution: larger, heavier balls on gentler slopes (still 5/7 g sin(theta): the friction
    # rolls them at every angle); a gentle slope is slow, so the ball reaches the ground late but in the clip.
    ood = {
        "radius": Uniform(0.13, 0.15),
        "mass": LogUniform(10.0, 40.0),
        "angle": Uniform(6.0, 8.5),
    }

    def derive(self, params, rng):
        ball, ramp = sample_colours(rng, 2, self.palette)
        return {"colour": ball, "ramp_colour": ramp}

    @staticmethod
    def geometry(params):
        """(downhill unit vector, surface normal, top end of the surface) in the x-z plane; the
        surface's low end is at the origin."""
        th, d = math.radians(params["angle"]), 1 if params["direction"] == "right" else -1
        down = (d * math.cos(th), -math.sin(th))
        normal = (d * math.sin(th), math.cos(th))
        top = (-params["length"] * down[0], -params["length"] * down[1])
        return down, normal, top

    def camera(self, params):
        _, _, top = self.geometry(params)
        d, r = 1 if params["direction"] == "right" else -1, params["radius"]
        xs = (top[0] - d * 2 * r, d * (0.45 + r))  # the ramp, and the roll-out on the ground
        return frame_box(min(xs), max(xs), 0.0, top[1] + 2.5 * r, params["cam_yaw"], params["cam_pitch"],
                         params["cam_margin"])

    def build(self, scene: Scene, params):
        down, normal, top = self.geometry(params)
        L, r, th = params["length"], params["radius"], math.radians(params["angle"])
        d = 1 if params["direction"] == "right" else -1
        # the board's centre sits half a thickness under the middle of its top surface
        centre = (top[0] / 2 - normal[0] * THICKNESS / 2, 0.0, top[1] / 2 - normal[1] * THICKNESS / 2)
        orn = scene.bc.getQuaternionFromEuler((0.0, d * th, 0.0))
        ramp = scene.add_box(centre, (L / 2, 0.3, THICKNESS / 2), params["ramp_colour"], mass=0.0,
                             orientation=orn, lateralFriction=1.0, rollingFriction=0.0)
        start = 2 * r  # distance down the slope from the top end (m)
        pos = (top[0] + start * down[0] + r * normal[0], 0.0, top[1] + start * down[1] + r * normal[1])
        ball = scene.add_sphere(pos, r, params["colour"], mass=0.0, lateralFriction=1.0,  # held until release
                                rollingFriction=0.0, spinningFriction=0.0, restitution=0.0,
                                linearDamping=0.0, angularDamping=0.0)
        scene.bc.changeDynamics(scene.ground, -1, lateralFriction=1.0, rollingFriction=GROUND_ROLLING)
        scene.add_object("ramp", "ramp", params["ramp_colour"], [ramp], angle=params["angle"])
        oid = scene.add_object("ball", "projectile", params["colour"], [ball], size=r)
        self.hold(scene, oid, params["mass"])

    def caption(self, params):
        return (f"a {size_word(params['radius'])} {params['colour']} ball rolls to the {params['direction']} "
                f"down a {params['ramp_colour']} ramp inclined at {params['angle']:.0f} degrees")
