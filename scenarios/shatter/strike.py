"""Strike: a ball is thrown at a standing glass pane, which shatters if the hit is hard enough.

The pane is pre-fractured into Voronoi shards held static (see `_glass`). The ball is held
still, then released on a ballistic path that meets the pane's face. At its first touch the
momentum it carries into the pane (mass x normal speed, measured from its velocity just
before the contact) is compared with the pane's break impulse: above it every shard is
freed with a velocity that falls off with distance from the impact ("shatter" event) and
the ball goes on with the break impulse taken off; below it the solver bounces the ball
and the pane stays whole. Both outcomes are sampled: `impact_ratio` = momentum / threshold.
Per frame the glass records `n_pieces` and `shard_positions`.
"""
from __future__ import annotations

import numpy as np

from ..engine import GRAVITY, PALETTE, Camera, Integer, LogUniform, Scenario, Scene, Uniform
from ._glass import add_pane

THICKNESS = 0.012    # pane thickness (m)
GLASS_COLOUR = "cyan"
BALL_COLOURS = tuple(c for c in PALETTE if c not in ("cyan", "blue"))  # hues far from the glass
FALLOFF = 0.12       # distance over which the impact's push on the shards decays (m)


class Strike(Scenario):
    family = "shatter"
    name = "strike"
    description = "a ball is thrown at a glass pane, which shatters into shards if the impact exceeds its break threshold"
    ranges = {
        "n_shards": Integer(12, 36),
        "pane_width": Uniform(0.3, 0.45),       # m
        "pane_height": Uniform(0.22, 0.32),     # m; the pane stands on the ground
        "ball_radius": Uniform(0.035, 0.05),    # m
        "ball_mass": LogUniform(0.1, 0.5),      # kg
        "speed": Uniform(3.0, 7.0),             # horizontal throwing speed (m/s)
        "approach": Uniform(-30.0, 30.0),       # angle of the throw from the pane's normal (degrees)
        "impact_ratio": LogUniform(0.4, 2.5),   # momentum into the pane / break impulse; > 1 breaks
        "hit_x": Uniform(-0.25, 0.25),          # aim point across the pane, in pane widths from its centre
        "hit_z": Uniform(0.35, 0.7),            # aim height, in pane heights
        "distance": Uniform(0.45, 0.6),         # horizontal distance from the ball's start to the aim point (m)
        "cam_distance": Uniform(0.95, 1.1),
        "cam_yaw": Uniform(30.0, 45.0),         # degrees to the side of the pane's normal, away from the throw
        "cam_pitch": Uniform(-30.0, -18.0),
    }

    def derive(self, params, rng):
        return {"ball_colour": BALL_COLOURS[int(rng.integers(len(BALL_COLOURS)))], "glass_colour": GLASS_COLOUR,
                "layout_seed": int(rng.integers(2 ** 31))}

    @staticmethod
    def outcome(params) -> dict:
        """The planned impact: momentum into the pane (N s), the pane's break impulse, whether it breaks."""
        momentum = params["ball_mass"] * params["speed"] * np.cos(np.radians(params["approach"]))
        return {"impact_momentum": round(float(momentum), 6),
                "break_impulse": round(float(momentum / params["impact_ratio"]), 6),
                "breaks": bool(params["impact_ratio"] > 1.0)}

    def camera(self, params):
        # Look across the throw, not along it, at a point between the pane and the ball's start.
        side = 1.0 if params["approach"] < 0 else -1.0
        a = np.radians(params["approach"])
        back = 0.4 * params["distance"]
        target = (params["hit_x"] * params["pane_width"] - back * np.sin(a), -back * np.cos(a), 0.4 * params["pane_height"])
        return Camera(target=target, distance=params["cam_distance"], yaw=side * params["cam_yaw"],
                      pitch=params["cam_pitch"])

    def build(self, scene: Scene, params):
        # The threshold and the outcome go into params here, after any override of what they depend on.
        params.update(self.outcome(params))
        rng = np.random.default_rng(params["layout_seed"])
        w, h, r = params["pane_width"], params["pane_height"], params["ball_radius"]
        glass = add_pane(scene, w, h, THICKNESS, params["n_shards"], params["glass_colour"], rng)
        anchor = scene.add_anchor(glass.centroids.mean(0).tolist())  # recorded pose: the shards' centre of mass
        gid = scene.add_object("pane", "glass", params["glass_colour"], [anchor] + glass.bodies,
                               width=w, height=h, thickness=THICKNESS, n_shards=glass.n)

        # Ballistic throw from `start` that reaches the aim point after `flight` seconds.
        a = np.radians(params["approach"])
        aim = np.array([params["hit_x"] * w, -THICKNESS / 2 - r, params["hit_z"] * h])
        start = aim - params["distance"] * np.array([np.sin(a), np.cos(a), 0.0]) + (0.0, 0.0, 0.05)
        flight = params["distance"] / params["speed"]
        launch = (aim - start) / flight + (0.0, 0.0, 0.5 * GRAVITY * flight)
        ball = scene.add_sphere(start.tolist(), r, params["ball_colour"], mass=0.0,  # held until released
                                restitution=0.3, linearDamping=0.0, angularDamping=0.0)
        bid = scene.add_object("ball", "projectile", params["ball_colour"], [ball], radius=r, mass=params["ball_mass"])
        duration = (scene.spec.n_frames - 1) / scene.spec.fps
        scene.scratch.update(glass=glass, gid=gid, anchor=anchor, ball=ball, bid=bid, launch=launch,
                             release=0.2 * duration, released=False, decided=False, v_prev=np.zeros(3),
                             rng=np.random.default_rng(params["layout_seed"] + 1))

    def on_step(self, scene: Scene, params):
        s = scene.scratch
        t = scene.step_index / scene.spec.sim_hz
        if not s["released"] and t >= s["release"]:
            scene.bc.changeDynamics(s["ball"], -1, mass=params["ball_mass"])
            scene.bc.resetBaseVelocity(s["ball"], s["launch"].tolist(), (0, 0, 0))
            s["released"] = True
        elif s["released"] and not s["decided"]:
            shards = set(s["glass"].bodies)
            if any(c[2] in shards for c in scene.contacts(s["ball"])):
                s["decided"] = True
                self.impact(scene, params, s["v_prev"])
        if s["glass"].broken:
            s["glass"].follow(scene, s["anchor"])
        s["v_prev"] = np.array(scene.bc.getBaseVelocity(s["ball"])[0])

    def impact(self, scene: Scene, params, v_in: np.ndarray) -> None:
        """The ball has just touched the pane carrying velocity v_in: break it or let it bounce."""
        s, glass, m = scene.scratch, scene.scratch["glass"], params["ball_mass"]
        momentum = m * v_in[1]  # the pane's normal is +y
        breaks = momentum > params["break_impulse"]
        scene.event("impact", [s["gid"], s["bid"]], momentum=round(float(momentum), 6),
                    break_impulse=params["break_impulse"], broke=bool(breaks))
        if not breaks:
            return  # the contact solver has already bounced the ball off the static pane
        v_out = v_in.copy()
        v_out[1] -= params["break_impulse"] / m  # breaking the pane takes this much of the ball's momentum
        hit = np.array(scene.bc.getBasePositionAndOrientation(s["ball"])[0])
        offset = glass.centroids - hit
        offset[:, 1] = 0.0
        dist = np.linalg.norm(offset, axis=1, keepdims=True)                   # (n, 1)
        push = np.exp(-dist / FALLOFF)                                        # (n, 1)
        radial = offset / np.maximum(dist, 1e-6)                              # (n, 3) in the pane's plane
        vel = push * (1.1 * v_out[1] * np.array([0.0, 1.0, 0.0]) + 0.4 * v_out[1] * radial)
        vel += s["rng"].normal(0.0, 0.1, size=vel.shape)
        spin = push * s["rng"].normal(0.0, 6.0, size=vel.shape)
        glass.shatter(scene, vel, spin)
        scene.bc.resetBaseVelocity(s["ball"], v_out.tolist(), (0, 0, 0))
        scene.event("shatter", [s["gid"], s["bid"]], n_shards=glass.n, break_frame=scene.frame)

    def on_frame(self, scene: Scene, params):
        scene.scratch["glass"].record(scene, scene.scratch["gid"])

    def caption(self, params):
        how = " hard" if params["speed"] > 5.0 else " gently" if params["speed"] < 4.0 else ""
        thrown = f"a {params['ball_colour']} ball is thrown{how} at a glass pane"
        if params["breaks"]:
            return f"{thrown}, which shatters into {params['n_shards']} shards"
        return f"{thrown}, which stays whole as the ball bounces off"
