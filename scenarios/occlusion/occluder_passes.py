"""Occluder passes: a wall slides in front of a still object, hides it, and moves on.

The wall is kinematic (scripted each physics step at a constant speed, not pushed by
physics), so the object must simply stay where it was: it reappears at the same place.
Speed and start of the wall are planned from the camera like pass_behind's object.
"""
from ..engine import Scene
from ..params import Choice, LogUniform, Uniform, sample_colours
from ..gravity import a, size_word
from . import OcclusionScenario, add_mover, occluder_mover, occluder_width, plan_motion, wall_height, widen_until_planned


class OccluderPasses(OcclusionScenario):
    family = "occlusion"
    name = "occluder_passes"
    description = "a wall slides in front of a still object, hides it for a moment and moves on"
    ranges = {
        "shape": Choice(("ball", "cube")),
        "size": Uniform(0.07, 0.11),          # radius or half edge of the still object (m)
        "mass": LogUniform(0.2, 5.0),         # kg
        "x": Uniform(-0.05, 0.05),             # where the object stands along the image's horizontal (m)
        "direction": Choice(("right", "left")),  # the wall's motion
        "hidden_span": Uniform(1.6, 2.5),     # how long the object stays fully hidden, as a path length / size
        "occluder_gap": Uniform(0.12, 0.3),   # free space between the object and the wall's back (m)
        "occluder_depth": Uniform(0.03, 0.12),  # thickness of the wall along the view (m)
        "occluder_extra": Uniform(0.02, 0.15),  # wall height above the least that hides the object (m)
        "speed_q": Uniform(0.0, 1.0),         # quantile of the speeds that keep the occlusion inside the clip
        "start_q": Uniform(0.0, 1.0),         # where in its feasible stretch the wall starts
        "zoom": Uniform(8.0, 10.0),           # half width of the view at the object / object size
        "cam_yaw": Uniform(-15.0, 15.0),
        "cam_pitch": Uniform(-25.0, -5.0),
    }
    # Out of distribution: a larger, heavier object, hidden for longer, seen from closer.
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
            width = occluder_width(cam, 0.0, s, 2 * s, front_y, params["hidden_span"] * s)
            height = wall_height(cam, 0.0, s, 2 * s, front_y) + params["occluder_extra"]
            mover = occluder_mover(cam, params["x"], 0.0, s, 2 * s, width / 2, height, front_y, d)
            speed, u0 = plan_motion([mover], [0.0], (0.05, 2.0), params["speed_q"], params["start_q"])
            return {"speed": speed, "occluder_x0": d * u0, "occluder_width": width, "occluder_height": height,
                    "occluder_y": front_y}

        zoom, planned = widen_until_planned(plan, params["zoom"])
        return {"colour": colour, "occluder_colour": occluder_colour, "view_zoom": zoom, **planned}

    def build(self, scene: Scene, params):
        s, depth, h = params["size"], params["occluder_depth"], params["occluder_height"]
        wall_y = params["occluder_y"] + depth / 2
        wall = scene.add_box((params["occluder_x0"], wall_y, h / 2), (params["occluder_width"] / 2, depth / 2, h / 2),
                             params["occluder_colour"], mass=0.0, collide=False)
        body = add_mover(scene, params["shape"], params["x"], 0.0, s, params["colour"], params["mass"], 0.0)
        scene.add_object("wall", "occluder", params["occluder_colour"], [wall])
        scene.add_object(params["shape"], "object", params["colour"], [body], size=s)

    def on_step(self, scene: Scene, params):
        # The wall has no collision shape: where it is between frames changes nothing, and a drive sets its whole
        # state (pose and velocity), so driving it in the last step before each frame records the same clip.
        if (scene.step_index + 1) % scene.spec.steps_per_frame:
            return
        d = 1 if params["direction"] == "right" else -1
        depth, h = params["occluder_depth"], params["occluder_height"]
        t, dt = scene.step_index / scene.spec.sim_hz, 1.0 / scene.spec.sim_hz
        at = lambda time: (params["occluder_x0"] + d * params["speed"] * time, params["occluder_y"] + depth / 2, h / 2)
        scene.drive(scene.bodies[0][0], at(t), at(t + dt))

    def caption(self, params):
        return (f"{a(params['occluder_colour'] + ' wall')} slides to the {params['direction']} in front of a still "
                f"{size_word(params['size'])} {params['colour']} {params['shape']}, hides it and moves on")
