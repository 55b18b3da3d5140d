"""Pass behind: a ball rolls or a cube slides (without friction) behind a still wall.

The motion is uniform, so where and when the object must come out is fixed by where and
how fast it went in. Speed and start are planned from the camera (see the package
docstring) so that the object is seen, fully hidden for several frames, and seen again
inside every default-length clip.
"""
from ..engine import Scene
from ..params import Choice, LogUniform, Uniform, sample_colours
from ..gravity import size_word
from . import OcclusionScenario, add_mover, object_mover, occluder_width, plan_motion, shadow_x, wall_height, widen_until_planned

MOTION = {"ball": "rolls", "cube": "slides"}


class PassBehind(OcclusionScenario):
    family = "occlusion"
    name = "pass_behind"
    description = "an object rolls or slides behind a still wall and comes out on the far side"
    ranges = {
        "shape": Choice(("ball", "cube")),
        "size": Uniform(0.07, 0.11),          # radius or half edge (m)
        "mass": LogUniform(0.2, 5.0),         # kg
        "direction": Choice(("right", "left")),
        "hidden_span": Uniform(1.4, 2.5),     # stretch of the path where the object is fully hidden / size
        "occluder_gap": Uniform(0.15, 0.4),   # free space between the path and the occluder's back (m)
        "occluder_depth": Uniform(0.03, 0.15),  # thickness of the occluder along the view (m)
        "occluder_extra": Uniform(0.02, 0.15),  # occluder height above the least that hides the object (m)
        "speed_q": Uniform(0.0, 1.0),         # quantile of the speeds that keep the occlusion inside the clip
        "start_q": Uniform(0.0, 1.0),         # where in its feasible stretch the object starts
        "zoom": Uniform(8.0, 10.0),            # half width of the view at the path / object size
        "cam_yaw": Uniform(-15.0, 15.0),
        "cam_pitch": Uniform(-25.0, -5.0),
    }
    # Out of distribution: larger, heavier objects, hidden for longer, seen from closer (the planner still
    # fits the whole pass into the clip, widening the view where it must).
    ood = {
        "size": Uniform(0.12, 0.15),
        "mass": LogUniform(10.0, 40.0),
        "hidden_span": Uniform(2.6, 3.0),
        "zoom": Uniform(6.5, 7.5),
    }

    def derive(self, params, rng):
        colour, occluder_colour = sample_colours(rng, 2, self.palette)
        s, d = params["size"], 1 if params["direction"] == "right" else -1
        front_y = -(s + params["occluder_gap"] + params["occluder_depth"])

        def plan(zoom):
            cam = self.camera(params, zoom)
            half_w = 0.5 * occluder_width(cam, 0.0, s, 2 * s, front_y, params["hidden_span"] * s)
            occluder_x = shadow_x(cam, 0.0, 0.0, front_y)  # the occluder hides the middle of the view
            mover = object_mover(cam, 0.0, s, 2 * s, occluder_x, half_w, front_y, d)
            speed, u0 = plan_motion([mover], [0.0], (0.1, 2.0), params["speed_q"], params["start_q"])
            height = wall_height(cam, 0.0, s, 2 * s, front_y) + params["occluder_extra"]
            return {"speed": speed, "x0": d * u0, "occluder_x": occluder_x, "occluder_width": 2 * half_w,
                    "occluder_height": height, "occluder_y": front_y}

        zoom, planned = widen_until_planned(plan, params["zoom"])
        return {"colour": colour, "occluder_colour": occluder_colour, "view_zoom": zoom, **planned}

    def build(self, scene: Scene, params):
        s, d = params["size"], 1 if params["direction"] == "right" else -1
        depth, h = params["occluder_depth"], params["occluder_height"]
        wall = scene.add_box((params["occluder_x"], params["occluder_y"] + depth / 2, h / 2), (params["occluder_width"] / 2, depth / 2, h / 2),
                             params["occluder_colour"], mass=0.0)
        body = add_mover(scene, params["shape"], params["x0"], 0.0, s, params["colour"], params["mass"], d * params["speed"])
        scene.add_object("wall", "occluder", params["occluder_colour"], [wall])
        scene.add_object(params["shape"], "projectile", params["colour"], [body], size=s)

    def caption(self, params):
        return (f"a {size_word(params['size'])} {params['colour']} {params['shape']} {MOTION[params['shape']]} "
                f"to the {params['direction']} behind a {params['occluder_colour']} wall and comes out the other side")
