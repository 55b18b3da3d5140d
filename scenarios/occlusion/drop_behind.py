"""Drop behind (combinatorial): an object is held above a hanging panel, released, falls behind it and
comes out below it onto the ground.

Known pieces joined in a new way: gravity's held-then-released drop (free_fall's shapes, sizes
and masses; heights at the top of its training range) and occlusion's still occluder, which training
only ever shows hiding horizontal motion. Behind the panel the object keeps falling as
h(t) = h0 - 1/2 g (t - release)^2: it must come out below the panel at the time and place that law
says, after the 8 context frames, and lie on the ground in view. The panel hangs in the air (no
collision shape) just in front of the fall, so its bottom edge is above the resting object.
"""
from ..engine import Scene
from ..params import Choice, LogUniform, Uniform, sample_colours
from ..gravity import HeldThenReleased, a, add_shape, frame_box, size_word


class DropBehind(HeldThenReleased):
    family = "occlusion"
    name = "drop_behind"
    description = "an object falls behind a hanging panel and comes out below it onto the ground"
    split = "comb"
    ranges = {
        "shape": Choice(("sphere", "cube")),
        "size": Uniform(0.07, 0.09),           # radius or half edge (m)
        "height": Uniform(1.05, 1.2),          # release height of the centre (m)
        "mass": LogUniform(0.1, 10.0),         # kg; must not matter
        "restitution": Uniform(0.0, 0.3),
        "above": Uniform(0.06, 0.12),          # free space between the held object's bottom and the panel's top (m)
        "below": Uniform(0.1, 0.16),           # free space between the resting object's top and the panel's bottom (m)
        "panel_margin": Uniform(0.08, 0.12),   # the panel reaches this far beyond the object on each side (m)
        "occluder_gap": Uniform(0.1, 0.2),     # free space between the object and the panel's back (m)
        "occluder_depth": Uniform(0.02, 0.05), # thickness of the panel along the view (m)
        "release": Uniform(0.27, 0.37),        # s: held still until then
        "cam_margin": Uniform(1.15, 1.35),
        "cam_yaw": Uniform(-8.0, 8.0),         # nearly square on: the panel hides the fall, not its side
        "cam_pitch": Uniform(-8.0, -2.0),
    }

    def derive(self, params, rng):
        colour, panel_colour = sample_colours(rng, 2, self.palette)
        s = params["size"]
        return {"colour": colour, "panel_colour": panel_colour,
                "panel_top": params["height"] - s - params["above"], "panel_bottom": 2 * s + params["below"],
                "panel_half_width": s + params["panel_margin"],
                "panel_y": -(s + params["occluder_gap"] + params["occluder_depth"] / 2)}

    def camera(self, params):
        top = params["height"] + params["size"] + 0.1
        half = max(0.4 * top, params["panel_half_width"] + 0.1)
        return frame_box(-half, half, 0.0, top, params["cam_yaw"], params["cam_pitch"], params["cam_margin"])

    def build(self, scene: Scene, params):
        lo, hi = params["panel_bottom"], params["panel_top"]
        panel = scene.add_box((0.0, params["panel_y"], (lo + hi) / 2),
                              (params["panel_half_width"], params["occluder_depth"] / 2, (hi - lo) / 2),
                              params["panel_colour"], mass=0.0, collide=False)
        scene.add_object("panel", "occluder", params["panel_colour"], [panel])
        dyn = dict(restitution=params["restitution"], lateralFriction=0.8, linearDamping=0.0, angularDamping=0.0)
        body = add_shape(scene, params["shape"], (0.0, 0.0, params["height"]), params["size"], params["colour"],
                         mass=0.0, **dyn)  # held until release
        oid = scene.add_object(params["shape"], "projectile", params["colour"], [body], size=params["size"])
        self.hold(scene, oid, params["mass"])

    def caption(self, params):
        thing = a(f"{size_word(params['size'])} {params['colour']} {params['shape']}")
        return (f"{thing} is dropped behind {a(params['panel_colour'] + ' panel')} hanging in the air, "
                f"falls out below it and lands on the ground")
