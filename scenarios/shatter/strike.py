"""Strike: a ball rolls into a standing glass pane, which shatters if the hit is hard enough.

The pane is pre-fractured into Voronoi shards held static (see `_glass`). The ball is rolling
towards the pane's face from the first frame and touches it after `hit_time` seconds (absolute
time, so a longer clip keeps the hit at the same frame: frames 11-15 at 15 fps, after the 8
context frames the eval tasks give). It rolls rather than flies because a ballistic throw that
takes that long rises g T^2 / 8 (about half a metre) above its chord, out of the camera's view.
At its first touch the momentum it carries into the pane (mass x normal speed, measured from its
velocity just before the contact) is compared with the pane's break impulse: above it every
shard is freed, thrown forward and spread apart from the impact ("shatter" event) and the
ball goes on with the break impulse taken off; below it the solver bounces the ball and
the pane stays whole. `impact_ratio` = momentum / threshold is sampled above 1 here (the pane
breaks); `below_threshold` samples it below 1. Per frame the glass records `n_pieces` and
`shard_positions`.
"""
from __future__ import annotations

import numpy as np

from ..engine import Camera, Scenario, Scene

from ..params import Integer, LogUniform, Uniform
from ._glass import add_pane

THICKNESS = 0.012    # pane thickness (m)
GLASS_COLOUR = "cyan"
NEAR_GLASS = ("cyan", "blue", "jade", "azure")  # hues within 23 OpenCV units of the glass's: never a ball's
FALLOFF = 0.2        # distance over which the impact's push on the shards decays (m)
BURST = 0.8          # forward speed the released strain gives the shards at the impact (m/s)
SPREAD = 5.0         # in-plane speed of a shard away from the impact per metre of distance from it (1/s)


class Strike(Scenario):
    family = "shatter"
    name = "strike"
    description = "a ball rolls into a glass pane, which shatters into shards if the impact exceeds its break threshold"
    ranges = {
        "n_shards": Integer(12, 36),
        "pane_width": Uniform(0.3, 0.45),       # m
        "pane_height": Uniform(0.22, 0.32),     # m; the pane stands on the ground
        "ball_radius": Uniform(0.04, 0.055),    # m
        "ball_mass": LogUniform(0.2, 1.0),      # kg
        "hit_time": Uniform(0.7, 0.98),         # s from the first frame to the touch (frame 11-15 at 15 fps)
        "approach": Uniform(-30.0, 30.0),       # angle of the roll from the pane's normal (degrees)
        "impact_ratio": LogUniform(1.2, 3.0),   # momentum into the pane / break impulse; > 1 breaks
        "hit_x": Uniform(-0.25, 0.25),          # aim point across the pane, in pane widths from its centre
        "distance": Uniform(0.45, 0.65),        # distance the ball rolls to the aim point (m); speed = distance / hit_time
        "cam_distance": Uniform(0.95, 1.1),
        "cam_yaw": Uniform(30.0, 45.0),         # degrees to the side of the pane's normal, away from the roll
        "cam_pitch": Uniform(-30.0, -18.0),
    }
    # Out of distribution: fewer, larger shards, struck by a larger, heavier ball (the break impulse scales
    # with its momentum through impact_ratio, so whether the pane breaks is decided the same way).
    ood = {
        "n_shards": Integer(6, 10),
        "ball_radius": Uniform(0.06, 0.07),
        "ball_mass": LogUniform(1.5, 3.0),
    }

    def derive(self, params, rng):
        balls = [c for c in self.palette if c not in NEAR_GLASS]
        return {"ball_colour": balls[int(rng.integers(len(balls)))], "glass_colour": GLASS_COLOUR,
                "layout_seed": int(rng.integers(2 ** 31))}

    @staticmethod
    def outcome(params) -> dict:
        """The planned impact: rolling speed (m/s), momentum into the pane (N s), the pane's break
        impulse, whether it breaks."""
        speed = params["distance"] / params["hit_time"]
        momentum = params["ball_mass"] * speed * np.cos(np.radians(params["approach"]))
        return {"speed": round(float(speed), 6), "impact_momentum": round(float(momentum), 6),
                "break_impulse": round(float(momentum / params["impact_ratio"]), 6),
                "breaks": bool(params["impact_ratio"] > 1.0)}

    def camera(self, params):
        # Look across the roll, not along it, at a point between the pane and the ball's start.
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

        # The ball rolls without slipping (no rolling resistance) from `start` and touches the pane's face
        # at the aim point after hit_time seconds.
        a = np.radians(params["approach"])
        u = np.array([np.sin(a), np.cos(a), 0.0])  # direction of the roll
        aim = np.array([params["hit_x"] * w, -THICKNESS / 2 - r, r])
        start = aim - params["distance"] * u
        ball = scene.add_sphere(start.tolist(), r, params["ball_colour"], mass=params["ball_mass"],
                                restitution=0.9, lateralFriction=0.8, rollingFriction=0.0, spinningFriction=0.0,
                                linearDamping=0.0, angularDamping=0.0)
        v = params["speed"] * u
        scene.bc.resetBaseVelocity(ball, v.tolist(), (np.cross((0.0, 0.0, 1.0), v) / r).tolist())  # rolling: v = w x r
        bid = scene.add_object("ball", "projectile", params["ball_colour"], [ball], radius=r, mass=params["ball_mass"])
        scene.scratch.update(glass=glass, shards=set(glass.bodies), gid=gid, anchor=anchor, ball=ball, bid=bid, decided=False,
                             v_prev=v, rng=np.random.default_rng(params["layout_seed"] + 1))

    def on_step(self, scene: Scene, params):
        s = scene.scratch
        if not s["decided"]:
            if any(c[2] in s["shards"] for c in scene.contacts(s["ball"])):
                s["decided"] = True
                self.impact(scene, params, s["v_prev"])
            else:  # the ball's velocity just before the touch is only needed until the touch
                s["v_prev"] = np.array(scene.bc.getBaseVelocity(s["ball"])[0])
        last_step_of_frame = (scene.step_index + 1) % scene.spec.steps_per_frame == 0
        if s["glass"].broken and last_step_of_frame:  # the anchor is only read when a frame is recorded
            s["glass"].settle(scene)
            s["glass"].follow(scene, s["anchor"])

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
        push = np.exp(-np.linalg.norm(offset, axis=1, keepdims=True) / FALLOFF)  # (n, 1)
        # Shards are thrown forward, hardest near the hit, and spread apart in the pane's plane at a speed
        # that grows with distance from the hit, so that neighbours separate instead of running into each other.
        vel = (1.1 * v_out[1] + BURST) * push * np.array([0.0, 1.0, 0.0]) + SPREAD * offset
        vel += s["rng"].normal(0.0, 0.1, size=vel.shape)
        spin = push * s["rng"].normal(0.0, 2.0, size=vel.shape)
        glass.shatter(scene, vel, spin)
        scene.bc.resetBaseVelocity(s["ball"], v_out.tolist(), (0, 0, 0))
        scene.event("shatter", [s["gid"], s["bid"]], n_shards=glass.n, break_frame=scene.frame)

    def on_frame(self, scene: Scene, params):
        scene.scratch["glass"].record(scene, scene.scratch["gid"])

    def caption(self, params):
        how = " fast" if params["speed"] > 0.75 else " slowly" if params["speed"] < 0.6 else ""
        rolls = f"a {params['ball_colour']} ball rolls{how} into a glass pane"
        if params["breaks"]:
            return f"{rolls}, which shatters into {params['n_shards']} shards"
        return f"{rolls}, which stays whole as the ball bounces off"
