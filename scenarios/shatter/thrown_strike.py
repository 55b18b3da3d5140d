"""Thrown strike (combinatorial): a ball is held in the air, thrown, flies on a parabola and strikes a
glass pane, which shatters.

Known pieces joined in a new way: gravity's held-then-thrown projectile (free flight at -g with
constant horizontal velocity) and the strike scenario's pre-fractured pane with its break
threshold, which training only ever hits with a rolling ball. The throw is aimed so that the ball
touches the pane's face at the aim point `flight` seconds after the release: its launch velocity is
(aim - launch) / flight + 1/2 g flight straight up. The break is decided as in `strike`: the
momentum the ball carries into the pane against its break impulse (`impact_ratio` > 1: it breaks).
The release comes in the 8-frame context; the flight is short (0.3-0.4 s), so the arc stays low.
"""
from __future__ import annotations

import numpy as np

from ..engine import GRAVITY, Camera, Scene

from ..params import Uniform
from .strike import THICKNESS, Strike


class ThrownStrike(Strike):
    name = "thrown_strike"
    description = "a ball thrown on a parabola strikes a glass pane, which shatters into shards"
    split = "comb"
    ood = {}
    ranges = {**{k: v for k, v in Strike.ranges.items() if k != "hit_time"},
              "release": Uniform(0.3, 0.4),        # s: held still until thrown (first moving frame 5-7 at 15 fps)
              "flight": Uniform(0.3, 0.4),         # s from the throw to the touch (frame 10-12 at 15 fps)
              "aim_height": Uniform(0.35, 0.6),    # where the ball touches the pane, in pane heights
              "lift": Uniform(0.05, 0.15)}         # launch height above the aim point (m)

    def derive(self, params, rng):
        return {**super().derive(params, rng), "hit_time": params["release"] + params["flight"]}

    @staticmethod
    def outcome(params) -> dict:
        """As strike's, with the throw's horizontal speed (the distance is flown in `flight` seconds)."""
        return Strike.outcome({**params, "hit_time": params["flight"]})

    def throw(self, params) -> tuple[np.ndarray, np.ndarray]:
        """(launch position, launch velocity) of the ball's centre (m, m/s)."""
        a = np.radians(params["approach"])
        u = np.array([np.sin(a), np.cos(a), 0.0])  # horizontal direction of the throw
        r, T = params["ball_radius"], params["flight"]
        aim = np.array([params["hit_x"] * params["pane_width"], -THICKNESS / 2 - r, params["aim_height"] * params["pane_height"]])
        launch = aim - params["distance"] * u + np.array([0.0, 0.0, params["lift"]])
        return launch, (aim - launch) / T + np.array([0.0, 0.0, 0.5 * GRAVITY * T])

    def camera(self, params):
        """Strike's view, aimed at the middle of the throw (the ball waits at its start through the context)."""
        cam = super().camera(params)
        launch, v = self.throw(params)
        apex = launch[2] + max(v[2], 0.0) ** 2 / (2 * GRAVITY)
        mid = 0.5 * (launch[:2] + [params["hit_x"] * params["pane_width"], 0.0])
        return Camera(target=(mid[0], mid[1], max(cam.target[2], 0.45 * apex)), distance=cam.distance,
                      yaw=cam.yaw, pitch=cam.pitch)

    def build(self, scene: Scene, params):
        super().build(scene, params)  # the pane, and the ball (moved to its launch point and held here)
        s = scene.scratch
        launch, v = self.throw(params)
        scene.bc.changeDynamics(s["ball"], -1, mass=0.0)
        scene.bc.resetBasePositionAndOrientation(s["ball"], launch.tolist(), (0, 0, 0, 1))
        scene.bc.resetBaseVelocity(s["ball"], (0, 0, 0), (0, 0, 0))
        s.update(v_prev=np.zeros(3), throw=v)

    def on_step(self, scene: Scene, params):
        s = scene.scratch
        t = scene.step_index / scene.spec.sim_hz
        if "throw" in s and t >= params["release"]:
            scene.bc.changeDynamics(s["ball"], -1, mass=params["ball_mass"])
            scene.bc.resetBaseVelocity(s["ball"], s["throw"].tolist(), (0, 0, 0))
            scene.event("release", [s["bid"]], time=round(t, 6))
            del s["throw"]
        super().on_step(scene, params)

    def caption(self, params):
        return (f"a {params['ball_colour']} ball is thrown in an arc into a glass pane, which shatters into "
                f"{params['n_shards']} shards")
