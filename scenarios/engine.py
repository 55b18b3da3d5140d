"""The scenario engine: a PyBullet DIRECT world that steps, renders and records an Episode.

A scenario (see `Scenario`) samples its parameters from an explicit rng, builds bodies in
a `Scene`, and may hook every physics step or every frame to script motion and record
events. `run_scenario` does the rest, identically for every scenario: fixed-rate
stepping, TinyRenderer frames with segmentation and metric depth, per-object states,
visibility, occlusion and contact events, and the meta.json record.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np

from toolkit.provenance import versions

from .client import Client, p
from .episode import SCHEMA_VERSION, Episode, episode_id, project_to_pixels, scenarios_fingerprint
from .look import GROUND_HALF, LOOKS, add_backdrop, add_ground
from .params import GROUND_RGB, PALETTE, Choice, Integer, LogUniform, rgb_of

GRAVITY = 9.81  # m/s^2, along -z
# Override key: params={GRAVITY_SCALE: 1.1} simulates the same episode (same sampled parameters, same
# scene) under 1.1 g. Scenarios never read it; only run_scenario does, before building the scene.
GRAVITY_SCALE = "gravity_scale"
NEAR, FAR = 0.05, 20.0  # camera clip planes in metres

# ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RenderSpec:
    """How an episode is sampled in time and space (not what happens in it)."""
    height: int = 64     # pixels
    width: int = 64      # pixels
    fps: int = 15        # frames per second of the recorded video
    n_frames: int = 32   # frames per episode (about 2 s at 15 fps)
    sim_hz: int = 240    # physics steps per second; a multiple of fps
    look: str = "flat"   # light, shadows and textures: a name in look.LOOKS ("studio" for the HD suite)

    def __post_init__(self):
        for name in ("height", "width", "fps", "n_frames", "sim_hz"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if self.look not in LOOKS:
            raise ValueError(f"look must be one of {', '.join(LOOKS)}, got {self.look!r}")
        if self.sim_hz % self.fps:
            raise ValueError(f"sim_hz ({self.sim_hz}) must be a multiple of fps ({self.fps})")

    @property
    def steps_per_frame(self) -> int: return self.sim_hz // self.fps


@dataclass(frozen=True)
class Camera:
    target: tuple[float, float, float]  # point looked at (m)
    distance: float                     # metres from target
    yaw: float                          # degrees about +z; 0 looks along +y
    pitch: float                        # degrees, negative looks down
    fov: float = 50.0                   # vertical field of view (degrees)

    def matrices(self, spec: RenderSpec) -> tuple[list[float], list[float]]:
        view = p.computeViewMatrixFromYawPitchRoll(self.target, self.distance, self.yaw, self.pitch, 0.0, 2)
        proj = p.computeProjectionMatrixFOV(self.fov, spec.width / spec.height, NEAR, FAR)
        return list(view), list(proj)


# ------------------------------------------------------------------------------------
class Scene:
    """One PyBullet DIRECT client and the objects that are recorded from it."""

    def __init__(self, spec: RenderSpec, ground: bool = True):
        self.spec = spec
        self.bc = Client.acquire()
        self.bc.setGravity(0, 0, -GRAVITY)
        self.bc.setPhysicsEngineParameter(fixedTimeStep=1.0 / spec.sim_hz, numSubSteps=1, deterministicOverlappingPairs=1)
        self.objects: list[dict] = []         # meta.json records (id, name, role, rgb, ...)
        self.bodies: dict[int, list[int]] = {}  # object id -> PyBullet body ids (first one is the object's pose)
        self.events: list[dict] = []
        self.frame = 0                          # index of the next frame to be recorded
        self.step_index = 0                     # physics steps taken
        self.extra: dict[int, dict[str, list]] = {}  # object id -> scenario series per frame
        self.scratch: dict[str, Any] = {}       # a scenario's own working state for this episode (plans, counters)
        self.owner: dict[int, int] = {}         # body id -> object id (the lowest, if a body were in two objects)
        self.no_collision: set[int] = set()     # bodies made without a collision shape: they never touch anything
        self._lut = np.full(1, -1, np.int32)    # body id -> object id for `seg`; rebuilt when bodies change
        self._lut_stale = True
        self.look = LOOKS[spec.look]
        if ground:  # the same collision box in every look; a textured look draws it as a tiled floor
            self.ground = add_ground(self, p) if self.look.textured else \
                self.add_box((0, 0, -0.05), GROUND_HALF, GROUND_RGB, mass=0.0)
        else:
            self.ground = None

    # -- building -----------------------------------------------------------------------
    def add_box(self, pos, half_extents, colour, mass=0.0, orientation=(0, 0, 0, 1), collide=True, **dyn) -> int:
        vis = self.bc.createVisualShape(p.GEOM_BOX, halfExtents=half_extents, rgbaColor=(*rgb_of(colour), 1))
        col = self.bc.createCollisionShape(p.GEOM_BOX, halfExtents=half_extents) if collide else -1
        return self._body(mass, col, vis, pos, orientation, dyn)

    def add_sphere(self, pos, radius, colour, mass=1.0, **dyn) -> int:
        vis = self.bc.createVisualShape(p.GEOM_SPHERE, radius=radius, rgbaColor=(*rgb_of(colour), 1))
        col = self.bc.createCollisionShape(p.GEOM_SPHERE, radius=radius)
        return self._body(mass, col, vis, pos, (0, 0, 0, 1), dyn)

    def add_cylinder(self, pos, radius, length, colour, mass=1.0, orientation=(0, 0, 0, 1), **dyn) -> int:
        vis = self.bc.createVisualShape(p.GEOM_CYLINDER, radius=radius, length=length, rgbaColor=(*rgb_of(colour), 1))
        col = self.bc.createCollisionShape(p.GEOM_CYLINDER, radius=radius, height=length)
        return self._body(mass, col, vis, pos, orientation, dyn)

    def add_anchor(self, pos) -> int:
        """An invisible body without collision: the recorded pose of an object whose visible bodies
        come and go (bitten food voxels, paint decals, glass shards)."""
        body = self.bc.createMultiBody(0.0, -1, -1, basePosition=pos)
        self.no_collision.add(body)
        return body

    def add_visuals(self, visual: int, positions: list) -> list[int]:
        """Static, visual-only bodies of one visual shape at `positions` (food voxels, paint decals), in one
        call. They are made in maximal coordinates: a fixed multibody still costs the solver about a
        microsecond per physics step even without a collision shape, a static rigid body costs next to
        nothing, and both render the same pixels (checked: byte-identical frames)."""
        if not positions:
            return []
        kw = dict(basePosition=positions[0], useMaximalCoordinates=True)
        if len(positions) > 1:
            kw["batchPositions"] = [list(q) for q in positions]
        made = self.bc.createMultiBody(0.0, -1, visual, **kw)
        bodies = [made] if isinstance(made, int) else list(made)
        self.no_collision.update(bodies)
        return bodies

    def drive(self, body: int, pos, next_pos, orientation=(0, 0, 0, 1)) -> None:
        """Script a mass-0 body from `on_step`: place it at `pos` with the velocity that carries it to
        `next_pos` in this physics step (PyBullet integrates mass-0 bodies' velocity), so its recorded
        velocity is the scripted one and it pushes dynamic bodies it meets."""
        hz = self.spec.sim_hz  # float arithmetic, not numpy: the same IEEE doubles, a fraction of the cost per step
        vel = [(float(b) - float(a)) * hz for a, b in zip(pos, next_pos)]
        self.bc.resetBasePositionAndOrientation(body, pos, orientation)
        self.bc.resetBaseVelocity(body, vel, (0, 0, 0))

    def _body(self, mass, col, vis, pos, orn, dyn) -> int:
        body = self.bc.createMultiBody(mass, col, vis, basePosition=pos, baseOrientation=orn)
        if dyn:
            self.bc.changeDynamics(body, -1, **dyn)
        if col == -1:
            self.no_collision.add(body)
        return body

    def add_object(self, name: str, role: str, colour: str | tuple, bodies: list[int], **info) -> int:
        """Register bodies as one recorded object; `colour` is a PALETTE name or an RGB tuple."""
        rgb = rgb_of(colour)
        oid = len(self.objects)
        self.objects.append({"id": oid, "name": name, "role": role,
                             "colour": colour if isinstance(colour, str) else None,
                             "rgb": [int(round(255 * c)) for c in rgb], **info})
        self.bodies[oid] = list(bodies)
        self._own(oid, bodies)
        return oid

    def _own(self, oid: int, bodies) -> None:
        for b in bodies:
            self.owner[b] = min(self.owner.get(b, oid), oid)
        self._lut_stale = True

    def add_bodies(self, oid: int, bodies: list[int]) -> None:
        """Attach more bodies to an object (paint decals, shards): they share its id in `seg`."""
        self.bodies[oid].extend(bodies)
        self._own(oid, bodies)

    def remove_bodies(self, oid: int, bodies: list[int]) -> None:
        """Remove bodies from the world (bitten food voxels); the object's first body must stay."""
        gone = set(bodies)
        self.bodies[oid] = [b for b in self.bodies[oid] if b not in gone]
        for b in bodies:
            self.bc.removeBody(b)
            self.owner.pop(b, None)  # PyBullet may hand a removed body's id to a new body
        self._lut_stale = True

    def event(self, kind: str, objects: list[int], **info) -> None:
        """Record an event at the frame being simulated towards (the next recorded frame, whose image
        is the first to show its effect)."""
        self.events.append({"frame": self.frame, "kind": kind, "objects": list(objects), **info})

    def record(self, oid: int, key: str, value) -> None:
        """Record a scenario-specific per-frame series value; call once per frame from `on_frame`."""
        self.extra.setdefault(oid, {}).setdefault(key, []).append(value)

    # -- running ------------------------------------------------------------------------
    def render(self, view, proj) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One TinyRenderer frame as it comes: RGBA (H, W, 4) uint8, the z-buffer (H, W) float32, and object
        ids (H, W) int32 (-1 background). `run_scenario` makes RGB and metres of a whole clip at once."""
        h, w = self.spec.height, self.spec.width
        _, _, rgba, zbuf, seg = self.bc.getCameraImage(
            w, h, view, proj, renderer=p.ER_TINY_RENDERER, **self.look.light())
        body_seg = np.asarray(seg, dtype=np.int32).reshape(h, w)  # body id per pixel, -1 background
        top = int(body_seg.max())
        if self._lut_stale or top >= len(self._lut) - 1:
            # body id -> object id; its last entry (past every body) is -1, which background pixels index
            size = max(top, max(self.owner, default=-1)) + 2
            self._lut = np.full(size, -1, dtype=np.int32)
            self._lut[list(self.owner)] = list(self.owner.values())
            self._lut_stale = False
        return (np.asarray(rgba, dtype=np.uint8).reshape(h, w, 4), np.asarray(zbuf, dtype=np.float32).reshape(h, w),
                self._lut[body_seg])

    def contacts(self, body_a: int, body_b: int | None = None) -> list:
        return self.bc.getContactPoints(body_a) if body_b is None else self.bc.getContactPoints(body_a, body_b)

    def close(self) -> None:
        self.bc.release()


class Scenario:
    """Base class of a scenario. Subclasses set the class attributes and override `build`."""
    family: ClassVar[str]
    name: ClassVar[str]
    description: ClassVar[str]
    # The training ranges, parameter -> Uniform | LogUniform | Integer | Choice: what sampling draws by
    # default, for training data and in-distribution (ID) tasks.
    ranges: ClassVar[dict[str, Any]]
    # Out-of-distribution ranges of some parameters, declared next to `ranges`, each wholly outside its
    # training range (`registry` checks): the `<name>_ood` variant draws them, training never does.
    ood: ClassVar[dict[str, Any]] = {}
    # "id" (the training distribution), "ood" (the variant the registry derives from `ood`) or "comb"
    # (a combinatorial scenario: known pieces joined in a new way; never in training).
    split: ClassVar[str] = "id"
    palette: ClassVar[dict] = PALETTE  # colours to draw from; OOD variants draw OOD_PALETTE (unseen colours)

    def sample_params(self, rng: np.random.Generator, overrides: dict | None = None) -> dict:
        """Draw every declared parameter in declaration order, apply overrides, then add derived ones.

        Every parameter is drawn even when overridden, so the rng stream (and with it every other
        parameter) is the same with and without overrides.
        """
        overrides = overrides or {}
        params = {k: r.sample(rng) for k, r in self.ranges.items()}
        params.update({k: v for k, v in overrides.items() if k in self.ranges})
        params.update(self.derive(params, rng))
        params.update(overrides)  # overrides of derived parameters (colours, perturbations) win too
        return params

    def check_overrides(self, overrides: dict) -> dict:
        """Validate user-set parameters against the declared ranges; returns them with their types fixed.

        Values outside a range are allowed (extrapolation is a use), impossible ones are not:
        a negative value for a parameter whose range is non-negative, a non-number for a number.
        """
        checked = {}
        for key, value in overrides.items():
            if key not in self.ranges:
                raise ValueError(f"scenario {self.name} has no parameter '{key}'; choose from {', '.join(self.ranges)}")
            rng = self.ranges[key]
            if isinstance(rng, Choice):
                match = [o for o in rng.options if str(o) == str(value)]
                if not match:
                    raise ValueError(f"{self.name}.{key} must be {rng}, got {value!r}")
                checked[key] = match[0]
                continue
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"{self.name}.{key} must be a number, got {value!r}") from None
            if not np.isfinite(number) or (rng.lo >= 0 and number < 0) or (isinstance(rng, LogUniform) and number <= 0):
                raise ValueError(f"{self.name}.{key} = {value} is impossible (range {rng})")
            checked[key] = int(number) if isinstance(rng, Integer) else number
        return checked

    def derive(self, params: dict, rng: np.random.Generator) -> dict:
        """Extra parameters that depend on the sampled ones (colours, camera); override as needed."""
        return {}

    def camera(self, params: dict) -> Camera:
        raise NotImplementedError

    def build(self, scene: Scene, params: dict) -> None:
        raise NotImplementedError

    def on_step(self, scene: Scene, params: dict) -> None:
        """Called before every physics step: scripted motion, breaking, bites."""

    def on_frame(self, scene: Scene, params: dict) -> None:
        """Called after every physics frame is rendered: scenario-specific per-frame series."""

    def caption(self, params: dict) -> str:
        raise NotImplementedError


def run_scenario(scenario: Scenario, seed: int, spec: RenderSpec = RenderSpec(), params: dict | None = None) -> Episode:
    """Simulate one episode. `params` overrides the sampled ones (used by tests and re-simulation)."""
    params = scenario.sample_params(np.random.default_rng(seed), params)
    scene = Scene(spec)
    try:
        if GRAVITY_SCALE in params:  # a counterfactual world (physics_evals' sensitivity probes), recorded in params
            scene.bc.setGravity(0, 0, -GRAVITY * float(params[GRAVITY_SCALE]))
        scenario.build(scene, params)
        view, proj = scenario.camera(params).matrices(spec)
        if scene.look.textured:  # after the scenario's bodies: scenery only, no collision shape
            add_backdrop(scene, p, scenario.camera(params), view)
        T, H, W = spec.n_frames, spec.height, spec.width
        rgba = np.empty((T, H, W, 4), np.uint8)
        zbuf = np.empty((T, H, W), np.float32)
        seg = np.empty((T, H, W), np.int32)
        keys = ("position", "orientation", "linear_velocity", "angular_velocity")
        states = {str(o["id"]): {k: [] for k in (*keys, "visible")} for o in scene.objects}
        poses = [(scene.bodies[o["id"]][0], [states[str(o["id"])][k] for k in keys]) for o in scene.objects]
        # Contacts of the movers' main bodies are checked after every physics step (a bounce can start and
        # end between frames); bodies without a collision shape (anchors) never touch, so they are not asked.
        movers = [o["id"] for o in scene.objects if o["role"] not in STATIC_ROLES
                  and scene.bodies[o["id"]][0] not in scene.no_collision]
        contact_points, owner = scene.bc.getContactPoints, scene.owner

        def touching(oid: int) -> int | None:  # what the object's main body touches: an object id, -1 (ground), None
            own = scene.bodies[oid]
            for c in contact_points(own[0]):
                if c[2] not in own:
                    return owner.get(c[2], -1)
            return None

        in_contact = {oid: touching(oid) for oid in movers}
        on_step = None if type(scenario).on_step is Scenario.on_step else scenario.on_step
        step_simulation = scene.bc.stepSimulation
        base_pose, base_velocity = scene.bc.getBasePositionAndOrientation, scene.bc.getBaseVelocity
        for t in range(T):
            for _ in range(spec.steps_per_frame if t > 0 else 0):
                if on_step is not None:
                    on_step(scene, params)
                step_simulation()
                scene.step_index += 1
                for oid in movers:
                    other = touching(oid)
                    if other is not None and in_contact[oid] is None:
                        scene.events.append({"frame": t, "kind": "contact", "objects": [oid],
                                             "with": other, "time": round(scene.step_index / spec.sim_hz, 6)})
                    in_contact[oid] = other
            rgba[t], zbuf[t], seg[t] = scene.render(view, proj)
            for body, lists in poses:  # position, orientation, linear and angular velocity: floats, to 6 places
                for values, out in zip((*base_pose(body), *base_velocity(body)), lists):
                    out.append([round(x, 6) for x in values])
            scenario.on_frame(scene, params)
            scene.frame = t + 1
        # The whole clip at once: RGB out of RGBA one channel at a time (a strided copy of 3 of 4 bytes is several
        # times slower), depth in metres from the OpenGL z-buffer, and which objects each frame shows.
        rgb = np.empty((T, H, W, 3), np.uint8)
        for c in range(3):
            rgb[..., c] = rgba[..., c]
        depth = (FAR * NEAR / (FAR - (FAR - NEAR) * zbuf)).astype(np.float16)
        n = len(scene.objects)
        shown = np.bincount((seg + 1 + (n + 1) * np.arange(T)[:, None, None]).ravel(), minlength=T * (n + 1))
        for o, visible in zip(scene.objects, (shown.reshape(T, n + 1)[:, 1:] > 0).T.tolist()):
            states[str(o["id"])]["visible"] = visible
        for oid, series in scene.extra.items():
            states[str(oid)].update(series)
        events = scene.events + _visibility_events(scene.objects, states, view, proj, H, W)
        events.sort(key=lambda e: (e["frame"], e["kind"], e["objects"]))
        meta = {
            "schema_version": SCHEMA_VERSION, "family": scenario.family, "scenario": scenario.name,
            "episode_id": episode_id(scenario.name, seed), "seed": int(seed), "split": scenario.split,
            "params": _jsonable(params),
            "render": asdict(spec), "fps": spec.fps, "sim_hz": spec.sim_hz, "height": H, "width": W, "n_frames": T,
            "camera": {"view": view, "projection": proj, "near": NEAR, "far": FAR, **asdict(scenario.camera(params))},
            "objects": scene.objects, "states": states, "events": events,
            "caption": scenario.caption(params),
            "versions": {**versions(), "scenarios_source": scenarios_fingerprint()},
        }
        return Episode(rgb=rgb, seg=seg, depth=depth, meta=meta)
    finally:
        scene.close()


STATIC_ROLES = ("occluder", "support", "canvas", "paint", "food", "ramp", "wall")


def _visibility_events(objects: list[dict], states: dict, view, proj, height: int, width: int) -> list[dict]:
    """'occluded' when an object inside the image stops being visible, 'reappeared' when it is seen
    again; leaving or entering the image is 'left_view' / 'entered_view' instead."""
    camera = {"view": view, "projection": proj}
    events = []
    for o in objects:
        if o["role"] in STATIC_ROLES:
            continue
        st = states[str(o["id"])]
        vis = st["visible"]
        xy = project_to_pixels(camera, np.asarray(st["position"]), height, width)
        inside = (xy[:, 0] >= 0) & (xy[:, 0] <= width - 1) & (xy[:, 1] >= 0) & (xy[:, 1] <= height - 1)
        for t in range(1, len(vis)):
            if vis[t - 1] and not vis[t]:
                events.append({"frame": t, "kind": "occluded" if inside[t] else "left_view", "objects": [o["id"]]})
            elif not vis[t - 1] and vis[t] and any(vis[:t]):
                events.append({"frame": t, "kind": "reappeared" if inside[t - 1] else "entered_view", "objects": [o["id"]]})
    return events


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj
