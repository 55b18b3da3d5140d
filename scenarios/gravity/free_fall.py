"""Free fall: a ball or box is released at rest and drops onto the ground.

Mass is varied over two orders of magnitude; it must not change the fall
(h(t) = h0 - 1/2 g t^2 until contact). Air drag is switched off.
"""
from ..engine import Camera, Choice, LogUniform, Scenario, Scene, Uniform, sample_colours

SIZE_WORDS = ((0.07, "small"), (0.11, "medium"), (1.0, "large"))


class FreeFall(Scenario):
    family = "gravity"
    name = "free_fall"
    description = "an object is released at rest and falls onto the ground"
    ranges = {
        "shape": Choice(("sphere", "cube")),
        "size": Uniform(0.05, 0.15),        # radius or half edge (m)
        "height": Uniform(0.6, 1.6),        # release height of the centre above the ground (m)
        "mass": LogUniform(0.1, 10.0),      # kg; must not matter
        "restitution": Uniform(0.0, 0.6),
        "x": Uniform(-0.3, 0.3),            # release position along the image's horizontal (m)
        "cam_distance": Uniform(2.2, 2.8),
        "cam_yaw": Uniform(-15.0, 15.0),
        "cam_pitch": Uniform(-12.0, -2.0),
    }

    def derive(self, params, rng):
        return {"colour": sample_colours(rng, 1)[0]}

    def camera(self, params):
        return Camera(target=(0.0, 0.0, 0.75), distance=params["cam_distance"], yaw=params["cam_yaw"],
                      pitch=params["cam_pitch"])

    def build(self, scene: Scene, params):
        pos, s = (params["x"], 0.0, params["height"]), params["size"]
        dyn = dict(restitution=params["restitution"], linearDamping=0.0, angularDamping=0.0)
        scene.bc.changeDynamics(scene.ground, -1, restitution=0.5)
        if params["shape"] == "sphere":
            body = scene.add_sphere(pos, s, params["colour"], mass=params["mass"], **dyn)
        else:
            body = scene.add_box(pos, (s, s, s), params["colour"], mass=params["mass"], **dyn)
        scene.add_object(params["shape"], "projectile", params["colour"], [body], size=s)

    def caption(self, params):
        size = next(w for limit, w in SIZE_WORDS if params["size"] < limit)
        weight = "light" if params["mass"] < 1 else "heavy"
        return f"a {size} {weight} {params['colour']} {params['shape']} is dropped from {params['height']:.1f} m and falls to the ground"
