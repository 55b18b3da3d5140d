"""Tasks: what a model is asked to predict, on which held-out episodes, and how it is measured.

A task names a family and one or more scenarios, the held-out seeds of its episodes, how
many frames the model sees (context) and must predict (horizon), the resolution and fps,
and the metrics that apply. Tasks are plain dataclasses; a suite (`default`, `full`) fixes
the sizes and episode counts, so the same task exists at laptop size and at full size.

Held-out seeds: training data uses seeds below `TRAIN_SEED_LIMIT`; every eval seed is at or
above it, in a block of its own per task and suite, so no eval episode can leak into
training and no two tasks or suites share an episode id.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from scenarios import SCENARIOS, RenderSpec
from scenarios.generate import Job, plan

TRAIN_SEED_LIMIT = 1_000_000  # training seeds are < this; eval seeds start here
SEED_BLOCK = 10_000           # seeds reserved per task (default suite in the first half, full in the second)


class UnknownTaskError(ValueError):
    """An unknown task or suite name; the message lists the choices."""


@dataclass(frozen=True)
class Task:
    name: str                     # e.g. "gravity-drop"; the folder name in rollouts/<model>/<task>/
    family: str                   # gravity | occlusion | state_change | shatter
    scenarios: tuple[str, ...]    # scenario names; episode k uses scenarios[k % len]
    metrics: tuple[str, ...]      # names in physics_evals.metrics.METRICS that apply
    seed: int                     # first held-out seed; episode k uses seed + k
    n_episodes: int = 3           # held-out episodes scored per model
    context: int = 4              # frames given to the model
    horizon: int = 12             # frames the model must predict after the context
    height: int = 64              # pixels
    width: int = 64               # pixels
    fps: int = 15                 # frames per second, of the context and of the rollout
    suite: str = "default"        # the suite these sizes come from
    version: int = 1              # bump when anything above changes what is measured
    description: str = ""

    def __post_init__(self):
        if self.seed < TRAIN_SEED_LIMIT:
            raise ValueError(f"task {self.name}: eval seed {self.seed} overlaps training seeds (< {TRAIN_SEED_LIMIT})")
        for k in ("n_episodes", "context", "horizon", "height", "width", "fps"):
            if getattr(self, k) <= 0:
                raise ValueError(f"task {self.name}: {k} must be positive, got {getattr(self, k)}")
        if self.context < 2:
            raise ValueError(f"task {self.name}: context must be at least 2 frames (motion needs two)")

    @property
    def n_frames(self) -> int:
        """Frames per episode: the context followed by the frames to predict."""
        return self.context + self.horizon

    @property
    def render_spec(self) -> RenderSpec:
        return RenderSpec(height=self.height, width=self.width, fps=self.fps, n_frames=self.n_frames)

    @property
    def available(self) -> bool:
        """Whether every scenario of the task is registered."""
        return all(s in SCENARIOS for s in self.scenarios)

    def jobs(self) -> list[Job]:
        """The (scenario, seed) of each episode, in order."""
        return plan(list(self.scenarios), self.n_episodes, self.seed)

    def episode_ids(self) -> list[str]:
        return [job.folder(Path(".")).name for job in self.jobs()]

    def episodes_root(self, root: str | Path) -> Path:
        """Where this task's episodes live: one folder per render spec, so suites never mix sizes."""
        s = self.render_spec
        return Path(root) / f"{s.height}x{s.width}-{s.fps}fps-{s.n_frames}f-{s.sim_hz}hz"

    def episode_folders(self, root: str | Path) -> list[Path]:
        base = self.episodes_root(root)
        return [job.folder(base) for job in self.jobs()]

    def limited(self, n: int | None) -> "Task":
        """The same task on its first n episodes (for quick runs); None keeps them all."""
        return self if n is None else replace(self, n_episodes=max(1, min(n, self.n_episodes)))

    def record(self) -> dict:
        """The task as results.json describes it (fixed contract 3, plus the sizes)."""
        return {"family": self.family, "version": self.version, "n_episodes": self.n_episodes,
                "context_frames": self.context, "horizon": self.horizon, "scenarios": list(self.scenarios),
                "episode_ids": self.episode_ids(), "height": self.height, "width": self.width, "fps": self.fps,
                "seed": self.seed, "suite": self.suite, "metrics": list(self.metrics)}


# ------------------------------------------------------------------------------------
# Metric sets (names are the metrics engineer's registry keys).
PERMANENCE = ("presence_accuracy", "spawn_vanish_rate", "count_conservation", "identity_conservation")
REAPPEAR = ("reappear_time_error", "reappear_position_error")
MOTION = ("trajectory_error", "acceleration_error", "velocity_error", "hover_rate")
PHYSICS_IQ = ("piq_spatial_iou", "piq_spatiotemporal_iou", "piq_weighted_spatial_iou", "piq_mse")
PIXELS = ("psnr", "ssim")


@dataclass(frozen=True)
class TaskDef:
    name: str
    family: str
    scenarios: tuple[str, ...]
    metrics: tuple[str, ...]
    block: int          # seed block index: seeds TRAIN_SEED_LIMIT + block * SEED_BLOCK + ...
    description: str
    version: int = 1


TASK_DEFS: tuple[TaskDef, ...] = (
    TaskDef("gravity-drop", "gravity", ("free_fall",), PERMANENCE + MOTION + PHYSICS_IQ + PIXELS, 0,
            "an object released at rest falls onto the ground"),
    TaskDef("gravity-projectile", "gravity", ("projectile",), PERMANENCE + MOTION + PHYSICS_IQ + PIXELS, 1,
            "a thrown object follows a parabola"),
    TaskDef("gravity-bounce", "gravity", ("bounce",), PERMANENCE + MOTION + ("bounce_growth",) + PHYSICS_IQ + PIXELS, 2,
            "a ball bounces and each bounce is lower than the last"),
    # rolling on the ramp is never free flight, so the fitted free-flight acceleration does not apply
    TaskDef("gravity-ramp", "gravity", ("ramp_roll",),
            PERMANENCE + tuple(m for m in MOTION if m != "acceleration_error") + PHYSICS_IQ + PIXELS, 3,
            "an object rolls or slides down a ramp"),
    TaskDef("gravity-rest", "gravity", ("rest_on_support",), PERMANENCE + ("trajectory_error", "hover_rate") + PHYSICS_IQ + PIXELS, 4,
            "an object lands on a support and stays at rest"),
    TaskDef("occlusion-pass-behind", "occlusion", ("pass_behind",), PERMANENCE + REAPPEAR + ("trajectory_error",) + PHYSICS_IQ + PIXELS, 5,
            "an object passes behind an occluder and must reappear on time and in place"),
    TaskDef("occlusion-multi-object", "occlusion", ("multi_object",), PERMANENCE + REAPPEAR + ("trajectory_error",) + PHYSICS_IQ + PIXELS, 6,
            "several objects pass behind occluders; count and identities are conserved"),
    TaskDef("occlusion-occluder-passes", "occlusion", ("occluder_passes",), PERMANENCE + REAPPEAR + PHYSICS_IQ + PIXELS, 7,
            "an occluder passes in front of a still object, which must still be there afterwards"),
    TaskDef("bite", "state_change", ("bite",), PERMANENCE + ("food_regrowth", "food_area_error") + PHYSICS_IQ + PIXELS, 8,
            "bites are taken from a food object; the bitten area never grows back"),
    TaskDef("brush", "state_change", ("brush",), PERMANENCE + ("paint_loss", "paint_iou") + PHYSICS_IQ + PIXELS, 9,
            "brush strokes are laid on a canvas; paint persists and matches the strokes"),
    TaskDef("shatter-strike", "shatter", ("strike",),
            PERMANENCE + ("break_frame_error", "shard_count_error", "shards_fall", "glass_area_error") + PHYSICS_IQ + PIXELS, 10,
            "a glass object is struck hard enough to break into falling shards"),
    TaskDef("shatter-below-threshold", "shatter", ("below_threshold",),
            PERMANENCE + ("break_frame_error", "shard_count_error", "glass_area_error") + PHYSICS_IQ + PIXELS, 11,
            "a glass object is struck too softly to break and must stay whole"),
)


@dataclass(frozen=True)
class Suite:
    name: str
    n_episodes: int   # held-out episodes per task
    context: int      # context frames
    horizon: int      # frames to predict
    height: int       # pixels
    width: int        # pixels
    fps: int          # frames per second
    seed_offset: int  # where this suite's seeds start inside each task's block


SUITES: dict[str, Suite] = {
    # Both suites use the 32-frame clips (15 fps) the scenarios are timed for: each key event (a landing,
    # a bite, an impact, a reappearance) comes after the 8 context frames and its consequences before the end.
    # runs on a laptop in minutes: a few episodes per task
    "default": Suite("default", n_episodes=3, context=8, horizon=24, height=64, width=64, fps=15, seed_offset=0),
    # the numbers to publish: more episodes
    "full": Suite("full", n_episodes=24, context=8, horizon=24, height=64, width=64, fps=15, seed_offset=SEED_BLOCK // 2),
}


def suite_tasks(suite: str = "default") -> dict[str, Task]:
    """Every task of a suite, keyed by name, in a fixed order."""
    if suite not in SUITES:
        raise UnknownTaskError(f"unknown suite '{suite}'; choose from {', '.join(SUITES)}")
    s = SUITES[suite]
    return {d.name: Task(name=d.name, family=d.family, scenarios=d.scenarios, metrics=d.metrics,
                         seed=TRAIN_SEED_LIMIT + d.block * SEED_BLOCK + s.seed_offset, n_episodes=s.n_episodes,
                         context=s.context, horizon=s.horizon, height=s.height, width=s.width, fps=s.fps,
                         suite=s.name, version=d.version, description=d.description)
            for d in TASK_DEFS}


def get_tasks(names: list[str] | None = None, suite: str = "default") -> list[Task]:
    """The named tasks of a suite (all of them when names is None). Unknown names raise UnknownTaskError."""
    tasks = suite_tasks(suite)
    if names is None:
        return list(tasks.values())
    unknown = [n for n in names if n not in tasks]
    if unknown:
        raise UnknownTaskError(f"unknown task '{unknown[0]}'; choose from {', '.join(tasks)}")
    return [tasks[n] for n in names]
