"""Bite: a ball-shaped biter takes 1-3 bites out of a burger built of voxels, and the marks stay.

The food is a disc of small boxes (voxels) in a few layers, all one colour, so removing a
voxel is a visible, permanent change. The biter is scripted (mass 0): it comes towards the
food from the first frame, moves in, and at its deepest point the voxels the ball overlaps are
removed (a "bite" event); it backs out, moves round the same side to the next bite, and
finally withdraws. Times are absolute seconds, so a longer clip keeps the bites at the same
frames: at 15 fps the first bite falls on frame 10-12, after the 8 context frames the eval
tasks give (the approach is what the context shows), and the last by frame 24.
Per frame the food records `remaining_volume` (m^3) and `bites`.
"""
from __future__ import annotations

import numpy as np

from ..engine import Camera, Scenario, Scene, p

from ..params import Choice, Integer, Uniform, rgb_of, sample_colours
from ._motion import Keyframes

VOXEL = 0.03             # edge of a food voxel (m)
CLEARANCE = 0.05         # gap between the biter and the food while it moves round (m)
# Approach angles (degrees about +z from +x; the camera looks along +y) of the bite slots on the
# right side; the left side mirrors them. Bites never come from behind, where the food hides them.
RIGHT_SLOTS = (-50.0, -12.0, 26.0)
APPROACH = (0.08, 0.05)  # the biter starts this much farther out and higher than where it waits for its first bite (m)
BITE_GAP_S = 0.42        # seconds between bites; the ball goes in and out in 35% of it
WITHDRAW_S = 0.4         # seconds from backing out of the last bite to being withdrawn
WORDS = {1: "one bite", 2: "two bites", 3: "three bites"}


class Bite(Scenario):
    family = "state_change"
    name = "bite"
    description = "a ball-shaped biter takes 1-3 bites out of a burger made of voxels; the bite marks stay"
    ranges = {
        "n_bites": Integer(1, 3),
        "food_radius": Uniform(0.09, 0.13),   # radius of the burger disc (m)
        "n_layers": Integer(2, 4),            # voxel layers; height = n_layers * 3 cm
        "bite_radius": Uniform(0.045, 0.065), # radius of the biter ball (m); voxels it touches are eaten
        "bite_depth": Uniform(0.6, 1.1),      # how far the ball pushes past the food's edge, in ball radii
        "bite_height": Uniform(0.5, 1.0),     # ball centre height at a bite, as a fraction of the food's height
        "side": Choice(("right", "left")),    # the side of the food the biter works on
        "first_bite": Uniform(0.62, 0.75),    # time of the first bite (s): frame 10-12 at 15 fps
        "cam_distance": Uniform(0.6, 0.7),
        "cam_yaw": Uniform(-12.0, 12.0),
        "cam_pitch": Uniform(-50.0, -35.0),
    }
    # Out of distribution: a smaller but taller burger bitten by a smaller ball (each bite still eats at
    # least one voxel: the plan pushes deeper until it does).
    ood = {
        "food_radius": Uniform(0.06, 0.08),
        "n_layers": Integer(5, 6),
        "bite_radius": Uniform(0.03, 0.04),
    }

    def derive(self, params, rng):
        food, biter = sample_colours(rng, 2, self.palette)
        # Anything that depends on other parameters is drawn in build() from this seed, so it follows overrides.
        return {"food_colour": food, "biter_colour": biter, "layout_seed": int(rng.integers(2 ** 31))}

    @staticmethod
    def bite_angles(params) -> list[float]:
        """Approach angle of each bite (degrees): distinct slots on the chosen side, jittered."""
        rng = np.random.default_rng(params["layout_seed"])
        slots = np.sort(rng.choice(len(RIGHT_SLOTS), size=params["n_bites"], replace=False))
        angles = [RIGHT_SLOTS[i] + rng.uniform(-6.0, 6.0) for i in slots]
        return [round(180.0 - a if params["side"] == "left" else a, 3) for a in angles]

    def camera(self, params):
        shift = 0.09 if params["side"] == "right" else -0.09  # keep the waiting biter in the frame
        return Camera(target=(shift, 0.0, 0.5 * VOXEL * params["n_layers"]), distance=params["cam_distance"],
                      yaw=params["cam_yaw"], pitch=params["cam_pitch"])

    def build(self, scene: Scene, params):
        R, r, height = params["food_radius"], params["bite_radius"], VOXEL * params["n_layers"]
        # Food: voxel centres on a grid, kept where they fall inside the disc.
        n = int(np.ceil(R / VOXEL))
        grid = (np.arange(-n, n) + 0.5) * VOXEL
        centres = np.array([(x, y, (k + 0.5) * VOXEL) for k in range(params["n_layers"])
                            for x in grid for y in grid if x * x + y * y <= R * R])  # (V, 3)
        vis = scene.bc.createVisualShape(p.GEOM_BOX, halfExtents=[VOXEL / 2] * 3,
                                         rgbaColor=(*rgb_of(params["food_colour"]), 1))
        voxels = scene.add_visuals(vis, centres.tolist())
        anchor = scene.add_anchor((0.0, 0.0, height / 2))  # the food's recorded pose; never eaten
        angles = self.bite_angles(params)
        food = scene.add_object("burger", "food", params["food_colour"], [anchor] + voxels,
                                radius=R, height=height, voxel=VOXEL, n_voxels=len(voxels), bite_angles=angles)

        # Plan the bites on the voxel grid: each must eat at least one voxel, so push deeper if needed.
        left = np.ones(len(voxels), bool)
        plan = []
        for angle in angles:
            u = np.array([np.cos(np.radians(angle)), np.sin(np.radians(angle)), 0.0])
            z = min(params["bite_height"] * height, height)
            depth = params["bite_depth"] * r
            while True:
                centre = (R + r - depth) * u + (0.0, 0.0, z)
                gap = np.maximum(np.abs(centres - centre) - VOXEL / 2, 0.0)  # ball centre to each voxel box
                eaten = left & (np.linalg.norm(gap, axis=1) < r)
                if eaten.any() or depth > R + r:
                    break
                depth += 0.25 * r
            left &= ~eaten
            plan.append({"angle": angle, "rho": R + r - depth, "z": z, "eaten": [voxels[i] for i in np.flatnonzero(eaten)]})

        # Timeline (s): the ball approaches from t = 0, bites every BITE_GAP_S from first_bite, then withdraws.
        gap = BITE_GAP_S
        rho_out = R + VOXEL + r + CLEARANCE
        times, keys = [0.0], [(plan[0]["angle"], rho_out + APPROACH[0], plan[0]["z"] + APPROACH[1])]
        for k, b in enumerate(plan):
            b["time"] = params["first_bite"] + gap * k
            for dt, rho in ((-0.35 * gap, rho_out), (0.0, b["rho"]), (0.35 * gap, rho_out)):
                times.append(b["time"] + dt)
                keys.append((b["angle"], rho, b["z"]))
        times.append(times[-1] + WITHDRAW_S)
        keys.append((plan[-1]["angle"], rho_out + 0.1, plan[-1]["z"] + 0.08))
        ball = scene.add_sphere(_polar(keys[0]), r, params["biter_colour"], mass=0.0)
        biter = scene.add_object("ball", "biter", params["biter_colour"], [ball], radius=r)
        scene.scratch.update(food=food, biter=biter, ball=ball, plan=plan, next_bite=0, path=Keyframes(times, keys),
                             biter_path={}, voxel_volume=VOXEL ** 3)

    def on_step(self, scene: Scene, params):
        dt = 1.0 / scene.spec.sim_hz
        t = scene.step_index * dt
        scene.drive(scene.scratch["ball"], self.biter_at(scene, t), self.biter_at(scene, t + dt))
        self.take_bites(scene, t + dt)

    @staticmethod
    def biter_at(scene: Scene, t: float) -> list:
        """The biter's planned position at time t (s); each time is computed once (a step asks for its
        start and its end, and its end is often the next step's start)."""
        s = scene.scratch
        if t not in s["biter_path"]:
            s["biter_path"][t] = _polar(s["path"](t))
        return s["biter_path"][t]

    @staticmethod
    def take_bites(scene: Scene, t_next: float) -> None:
        """Remove the voxels of every bite planned by t_next (s), the end of this physics step."""
        s = scene.scratch
        while s["next_bite"] < len(s["plan"]) and s["plan"][s["next_bite"]]["time"] <= t_next:
            bite = s["plan"][s["next_bite"]]
            scene.remove_bodies(s["food"], bite["eaten"])
            s["next_bite"] += 1
            scene.event("bite", [s["food"], s["biter"]], bite=s["next_bite"], angle=bite["angle"], removed_voxels=len(bite["eaten"]),
                        removed_volume=round(len(bite["eaten"]) * s["voxel_volume"], 9))

    def on_frame(self, scene: Scene, params):
        s = scene.scratch
        n_left = len(scene.bodies[s["food"]]) - 1  # minus the anchor
        scene.record(s["food"], "remaining_volume", round(n_left * s["voxel_volume"], 9))
        scene.record(s["food"], "bites", s["next_bite"])

    def caption(self, params):
        return (f"a {params['biter_colour']} ball takes {WORDS[params['n_bites']]} out of a "
                f"{params['food_colour']} burger from the {params['side']}, and the bite marks stay")


def _polar(key) -> list[float]:
    """(angle in degrees, radial distance, height) -> world position."""
    angle, rho, z = key
    return [rho * np.cos(np.radians(angle)), rho * np.sin(np.radians(angle)), z]

