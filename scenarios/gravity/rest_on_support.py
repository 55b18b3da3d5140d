"""Rest on support: an object held above a table-like box is dropped onto it and comes to rest on it.

It must end at rest on the support's top face (not sink into it, not hover, not slide off):
its centre settles at the top's height plus its own half height, inside the top's footprint.
The release comes at the end of an eval task's context and the drop is high enough that the
object lands on the support, and settles, after the context.
"""
import math

from ..engine import Scene

from ..params import Choice, LogUniform, Uniform, sample_colours
from . import HeldThenReleased, a, frame_box, size_word


class RestOnSupport(HeldThenReleased):
    family = "gravity"
    name = "rest_on_support"
    description = "an object is held above a support, dropped onto it and comes to rest on its top"
    ranges = {
        "shape": Choice(("cube", "cylinder", "slab")),
        "size": Uniform(0.07, 0.12),         # half edge / radius / half length (m)
        "mass": LogUniform(0.1, 5.0),        # kg
        "drop": Uniform(0.15, 0.3),          # gap between the object's bottom and the support's top (m)
        "support_ratio": Uniform(1.8, 2.8),  # half width and half depth of the support / size
        "support_height": Uniform(0.15, 0.4),  # height of the support's top (m)
        "offset": Uniform(-0.5, 0.5),        # where on the top, as a fraction of the free half width
        "spin": Uniform(-45.0, 45.0),        # heading of the object about the vertical (degrees)
        "restitution": Uniform(0.0, 0.3),
        "release": Uniform(0.38, 0.45),      # s: held still until then (first moving frame 6 or 7 at 15 fps)
        "cam_margin": Uniform(1.25, 1.5),    # view size / scene size (zoom)
        "cam_yaw": Uniform(-20.0, 20.0),
        "cam_pitch": Uniform(-25.0, -5.0),
    }
    # Out of distribution: larger, heavier objects dropped from higher onto taller supports.
    ood = {
        "size": Uniform(0.13, 0.16),
        "mass": LogUniform(10.0, 40.0),
        "drop": Uniform(0.32, 0.42),
        "support_height": Uniform(0.45, 0.6),
    }

    @staticmethod
    def half_height(params) -> float:
        return 0.5 * params["size"] if params["shape"] == "slab" else params["size"]

    def derive(self, params, rng):
        obj, support = sample_colours(rng, 2, self.palette)
        free = params["support_ratio"] * params["size"] - params["size"] * math.sqrt(2) - 0.02  # the object's corners stay on top
        return {"colour": obj, "support_colour": support, "x": params["offset"] * max(free, 0.0)}

    def camera(self, params):
        half = params["support_ratio"] * params["size"] + 0.05
        top = params["support_height"] + params["drop"] + 2 * self.half_height(params) + 0.1
        return frame_box(-half, half, 0.0, top,
                         params["cam_yaw"], params["cam_pitch"], params["cam_margin"])

    def build(self, scene: Scene, params):
        s, top = params["size"], params["support_height"]
        sh = params["support_ratio"] * s
        hh = self.half_height(params)
        support = scene.add_box((0.0, 0.0, top / 2), (sh, sh, top / 2), params["support_colour"], mass=0.0,
                                lateralFriction=0.8)
        pos = (params["x"], 0.0, top + params["drop"] + hh)
        orn = scene.bc.getQuaternionFromEuler((0.0, 0.0, math.radians(params["spin"])))
        dyn = dict(restitution=params["restitution"], lateralFriction=0.8, linearDamping=0.0, angularDamping=0.0)
        if params["shape"] == "cylinder":
            body = scene.add_cylinder(pos, s, 2 * hh, params["colour"], mass=0.0, orientation=orn, **dyn)  # held
        else:
            body = scene.add_box(pos, (s, s, hh), params["colour"], mass=0.0, orientation=orn, **dyn)
        scene.add_object("table", "support", params["support_colour"], [support], top=top, half_width=sh)
        oid = scene.add_object(params["shape"], "projectile", params["colour"], [body], size=s, half_height=hh)
        self.hold(scene, oid, params["mass"])

    def caption(self, params):
        how = "placed" if params["drop"] < 0.05 else "dropped"
        return (f"{a(size_word(params['size']) + ' ' + params['colour'] + ' ' + params['shape'])} is {how} "
                f"onto {a(params['support_colour'] + ' table')} and comes to rest on it")
