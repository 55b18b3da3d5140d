"""Multi object: two or three objects pass behind one wall; all of them must come out again.

Three layouts: "convoy-2" (two objects in one lane, one after another at one speed, so
they never touch) and "crossing-2" / "crossing-3" (one or two objects in the near lane one
way, one in a farther lane the other way, timed to meet behind the wall). Three in a row
would need so wide a view that the objects shrink to a few pixels, so it is left out. Either way, the number of
objects in view drops while the wall hides some of them and must come back to the true
count: object permanence with counting.
"""
from ..engine import Scene
from ..params import Choice, LogUniform, Uniform, sample_colours
from ..gravity import a
from . import OcclusionScenario, PlanError, add_mover, object_mover, occluder_width, plan_motion, shadow_x, wall_height, widen_until_planned

SHAPES = {"balls": ("ball",), "cubes": ("cube",), "mixed": ("ball", "cube")}


def strict_or_loose(plan, *args, **kwargs):
    """Plan with the objects untouched by the wall at the start and end if that fits, else only seen."""
    try:
        return plan(*args, **kwargs)
    except PlanError:
        return plan(*args, loose=True, **kwargs)


class MultiObject(OcclusionScenario):
    family = "occlusion"
    name = "multi_object"
    description = "two or three objects pass behind one wall, in a convoy or crossing, and all come out"
    ranges = {
        "layout": Choice(("convoy-2", "crossing-2", "crossing-3")),
        "shapes": Choice(("balls", "cubes", "mixed")),
        "size": Uniform(0.07, 0.1),           # radius or half edge of every object (m)
        "mass": LogUniform(0.2, 5.0),         # kg, every object
        "direction": Choice(("right", "left")),  # of the near lane
        "spacing": Uniform(2.4, 3.0),         # convoy: centre to centre distance / size
        "lane_gap": Uniform(0.05, 0.2),       # crossing: free space between the two lanes (m)
        "hidden_span": Uniform(1.6, 2.5),     # stretch of the near lane where an object is fully hidden / size
        "occluder_gap": Uniform(0.15, 0.35),  # free space between the near lane and the wall's back (m)
        "occluder_depth": Uniform(0.03, 0.12),  # thickness of the wall along the view (m)
        "occluder_extra": Uniform(0.02, 0.15),  # wall height above the least that hides every object (m)
        "speed_q": Uniform(0.0, 1.0),         # quantile of the feasible speeds (near lane)
        "start_q": Uniform(0.0, 1.0),         # where in its feasible stretch the near lane starts
        "cross_speed_q": Uniform(0.0, 1.0),   # crossing: quantile of the feasible speeds of the far object
        "zoom": Uniform(7.5, 9.5),            # half width of the view at the near lane / object size (widened where no motion fits)
        "cam_yaw": Uniform(-15.0, 15.0),
        "cam_pitch": Uniform(-25.0, -5.0),
    }
    # Out of distribution: larger, heavier objects, hidden for longer.
    ood = {
        "size": Uniform(0.11, 0.13),
        "mass": LogUniform(10.0, 40.0),
        "hidden_span": Uniform(2.6, 3.0),
    }

    def derive(self, params, rng):
        pattern, n = params["layout"].split("-")
        n, s = int(n), params["size"]
        colours = sample_colours(rng, n + 1, self.palette)
        shapes = SHAPES[params["shapes"]]
        d = 1 if params["direction"] == "right" else -1
        n_near = n - 1 if pattern == "crossing" else n
        far_y = 2 * s + params["lane_gap"]
        front_y = -(s + params["occluder_gap"] + params["occluder_depth"])
        offsets = [k * params["spacing"] * s for k in range(n_near)]  # behind the first of the near lane (m)

        def plan(zoom):
            cam = self.camera(params, zoom)
            occluder_x = shadow_x(cam, 0.0, 0.0, front_y)
            half_w = 0.5 * occluder_width(cam, 0.0, s, 2 * s, front_y, params["hidden_span"] * s)
            height = max(wall_height(cam, y, s, 2 * s, front_y) for y in (0.0, far_y)) + params["occluder_extra"]
            near = object_mover(cam, 0.0, s, 2 * s, occluder_x, half_w, front_y, d)
            speed, u0 = strict_or_loose(plan_motion, [near] * n_near, offsets, (0.05, 2.0), params["speed_q"],
                                        params["start_q"])
            objects = [{"shape": shapes[k % len(shapes)], "colour": colours[k + 1], "y": 0.0,
                        "x0": d * (u0 - o), "vx": d * speed} for k, o in enumerate(offsets)]
            if n_near < n:  # the far object meets the near ones behind the wall: hidden mid-way between them
                t_meet = (near.hidden_centre - u0 + sum(offsets) / n_near) / speed
                far = object_mover(cam, far_y, s, 2 * s, occluder_x, half_w, front_y, -d)
                far_speed, far_u0 = strict_or_loose(plan_motion, [far], [0.0], (0.05, 2.0), params["cross_speed_q"],
                                                    0.0, hidden_at=t_meet)
                objects.append({"shape": shapes[n_near % len(shapes)], "colour": colours[n], "y": far_y,
                                "x0": -d * far_u0, "vx": -d * far_speed})
            return {"occluder_x": occluder_x, "occluder_width": 2 * half_w, "occluder_height": height,
                    "occluder_y": front_y, "objects": objects}

        zoom, planned = widen_until_planned(plan, params["zoom"])
        return {"occluder_colour": colours[0], "view_zoom": zoom, **planned}

    def build(self, scene: Scene, params):
        depth, h = params["occluder_depth"], params["occluder_height"]
        wall = scene.add_box((params["occluder_x"], params["occluder_y"] + depth / 2, h / 2),
                             (params["occluder_width"] / 2, depth / 2, h / 2), params["occluder_colour"], mass=0.0)
        scene.add_object("wall", "occluder", params["occluder_colour"], [wall])
        for o in params["objects"]:
            body = add_mover(scene, o["shape"], o["x0"], o["y"], params["size"], o["colour"], params["mass"], o["vx"])
            scene.add_object(o["shape"], "projectile", o["colour"], [body], size=params["size"])

    def caption(self, params):
        objs, wall = params["objects"], a(f"{params['occluder_colour']} wall")
        things = [a(f"{o['colour']} {o['shape']}") for o in objs]
        listed = ", ".join(things[:-1]) + " and " + things[-1]
        if params["layout"].startswith("convoy"):
            return f"{listed} pass behind {wall} one after another and all come out the other side"
        return f"{listed} pass behind {wall} from opposite sides, cross behind it and all come out"
