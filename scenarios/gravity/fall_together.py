"""Fall together (combinatorial): two objects, held side by side at different heights, are released at
the same moment and fall together.

Known pieces joined in a new way: free_fall's shapes, sizes, masses and heights (its training
ranges), but two objects in one scene, which training never shows. Each must follow
h(t) = h0 - 1/2 g (t - release)^2 until it lands, whatever its mass, so the lower one lands first
and the two stay level in their drop: the same fall, shifted. They are far enough apart never to touch.
"""
from ..engine import Scene
from ..params import Choice, LogUniform, Uniform, sample_colours
from . import HeldThenReleased, a, add_shape, frame_box, size_word


class FallTogether(HeldThenReleased):
    family = "gravity"
    name = "fall_together"
    description = "two objects held side by side at different heights are released together and fall"
    split = "comb"
    ranges = {
        "shape_a": Choice(("sphere", "cube")),
        "shape_b": Choice(("sphere", "cube")),
        "size_a": Uniform(0.08, 0.13),       # radius or half edge (m)
        "size_b": Uniform(0.08, 0.13),
        "height_a": Uniform(0.9, 1.2),       # release height of the higher object's centre (m)
        "height_b": Uniform(0.6, 0.8),       # ... and of the lower one's
        "mass_a": LogUniform(0.1, 10.0),     # kg; must not matter
        "mass_b": LogUniform(0.1, 10.0),
        "gap": Uniform(0.15, 0.3),           # free space between the two objects (m)
        "restitution": Uniform(0.0, 0.4),
        "release": Uniform(0.27, 0.37),      # s: both held still until then
        "cam_margin": Uniform(1.15, 1.4),
        "cam_yaw": Uniform(-20.0, 20.0),
        "cam_pitch": Uniform(-15.0, -2.0),
    }

    def derive(self, params, rng):
        side = 1 if rng.integers(2) else -1  # the higher object stands on the right (1) or the left (-1)
        colour_a, colour_b = sample_colours(rng, 2, self.palette)
        # the two surfaces are `gap` apart, either side of x = 0
        return {"x_a": side * (params["gap"] / 2 + params["size_a"]), "x_b": -side * (params["gap"] / 2 + params["size_b"]),
                "colour_a": colour_a, "colour_b": colour_b}

    def camera(self, params):
        top = params["height_a"] + params["size_a"] + 0.1
        half = max(0.5 * top, max(abs(params["x_a"]) + params["size_a"], abs(params["x_b"]) + params["size_b"]) + 0.1)
        return frame_box(-half, half, -0.1, top, params["cam_yaw"], params["cam_pitch"], params["cam_margin"])

    def build(self, scene: Scene, params):
        scene.bc.changeDynamics(scene.ground, -1, restitution=0.5)
        dyn = dict(restitution=params["restitution"], linearDamping=0.0, angularDamping=0.0)
        for k in ("a", "b"):
            s, shape = params[f"size_{k}"], params[f"shape_{k}"]
            body = add_shape(scene, shape, (params[f"x_{k}"], 0.0, params[f"height_{k}"]), s,
                             params[f"colour_{k}"], mass=0.0, **dyn)  # held until release
            oid = scene.add_object(shape, "projectile", params[f"colour_{k}"], [body], size=s)
            self.hold(scene, oid, params[f"mass_{k}"])

    def caption(self, params):
        one = a(f"{size_word(params['size_a'])} {params['colour_a']} {params['shape_a']}")
        two = a(f"{size_word(params['size_b'])} {params['colour_b']} {params['shape_b']}")
        return f"{one} and {two} held lower beside it are released together and fall to the ground"
