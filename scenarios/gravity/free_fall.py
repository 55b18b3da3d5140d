"""Free fall: a ball or box is held still, released at rest and drops onto the ground.

Mass is varied over two orders of magnitude; it must not change the fall
(h(t) = h0 - 1/2 g (t - release)^2 until contact). Air drag is switched off. The release comes
late in an eval task's context and the drop is high enough to land after it.
"""
from ..engine import Scene
from ..params import Choice, LogUniform, Uniform, sample_colours
from . import HeldThenReleased, add_shape, frame_box, size_word


class FreeFall(HeldThenReleased):
    family = "gravity"
    name = "free_fall"
    description = "an object is released at rest and falls onto the ground"
    ranges = {
        "shape": Choice(("sphere", "cube")),
        "size": Uniform(0.08, 0.15),        # radius or half edge (m)
        "height": Uniform(0.6, 1.2),        # release height of the centre above the ground (m)
        "mass": LogUniform(0.1, 10.0),      # kg; must not matter
        "restitution": Uniform(0.0, 0.6),
        "x": Uniform(-0.3, 0.3),            # release position along the image's horizontal (m)
        "release": Uniform(0.27, 0.37),     # s: held still until then (first moving frame 5 or 6 at 15 fps)
        "cam_margin": Uniform(1.15, 1.45),  # view size / scene size (zoom)
        "cam_yaw": Uniform(-20.0, 20.0),
        "cam_pitch": Uniform(-15.0, -2.0),
    }
    # Out of distribution: an unseen shape, larger, heavier, livelier, dropped from higher. The fall is the
    # same law; the larger scene is framed from farther away (the object stays 6+ px wide at 64x64), and a
    # higher drop lands later, so the landing still comes after the context.
    ood = {
        "shape": Choice(("cylinder",)),     # upright, half height = size
        "size": Uniform(0.16, 0.2),
        "height": Uniform(1.3, 1.7),
        "mass": LogUniform(15.0, 60.0),
        "restitution": Uniform(0.65, 0.8),
    }

    def derive(self, params, rng):
        return {"colour": sample_colours(rng, 1, self.palette)[0]}

    def camera(self, params):
        top = params["height"] + params["size"] + 0.1
        half = max(0.5 * top, abs(params["x"]) + params["size"] + 0.1)
        return frame_box(-half, half, -0.1, top, params["cam_yaw"], params["cam_pitch"], params["cam_margin"])

    def build(self, scene: Scene, params):
        pos, s = (params["x"], 0.0, params["height"]), params["size"]
        dyn = dict(restitution=params["restitution"], linearDamping=0.0, angularDamping=0.0)
        scene.bc.changeDynamics(scene.ground, -1, restitution=0.5)
        body = add_shape(scene, params["shape"], pos, s, params["colour"], mass=0.0, **dyn)  # held until release
        oid = scene.add_object(params["shape"], "projectile", params["colour"], [body], size=s)
        self.hold(scene, oid, params["mass"])

    def caption(self, params):
        weight = "light" if params["mass"] < 1 else "heavy"
        return (f"a {size_word(params['size'])} {weight} {params['colour']} {params['shape']} is dropped "
                f"from {params['height']:.1f} m and falls to the ground")
