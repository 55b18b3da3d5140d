"""Tasks: what a model is asked to predict, on which held-out episodes, and how it is measured.

A task names a family and one or more scenarios, the held-out seeds of its episodes, how
many frames the model sees (context) and must predict (horizon), the resolution and fps,
and the metrics that apply. Tasks are plain dataclasses; a suite (`default`, `full`) fixes
the sizes and episode counts, so the same task exists at laptop size and at full size.

Splits (PhyWorld's): every family has in-distribution tasks ("id": the training ranges),
out-of-distribution ones ("ood": the scenarios' `<name>_ood` variants, whose declared ranges and
colours lie outside training) and combinatorial ones ("comb": known pieces joined in new ways,
never trained on). `get_tasks` selects by task name, family name or split name.

Held-out seeds: training data uses seeds below scenarios' `HELD_OUT_SEED`; every eval seed is at or
above it, in a block of its own per task and suite, so no eval episode can leak into
training and no two tasks or suites share an episode id.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from scenarios import RenderSpec
from scenarios.episode import HELD_OUT_SEED, check_seeds
from scenarios.generate import Job, plan

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
    look: str = "flat"            # scenarios.look name: light, shadows, textures ("studio" in the hd suite)
    version: int = 1              # bump when anything above changes what is measured
    description: str = ""
    split: str = "id"             # id | ood | comb: the generalisation split the task measures

    def __post_init__(self):
        check_seeds(self.seed, self.n_episodes, held_out=True, what=f"task {self.name}")
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
        return RenderSpec(height=self.height, width=self.width, fps=self.fps, n_frames=self.n_frames, look=self.look)

    def jobs(self) -> list[Job]:
        """The (scenario, seed) of each episode, in order."""
        return plan(list(self.scenarios), self.n_episodes, self.seed)

    def episode_ids(self) -> list[str]:
        return [job.folder(Path(".")).name for job in self.jobs()]

    def episodes_root(self, root: str | Path) -> Path:
        """Where this task's episodes live: one folder per render spec, so suites never mix sizes."""
        s = self.render_spec
        look = "" if s.look == "flat" else f"-{s.look}"  # the 64x64 suites keep their folders
        return Path(root) / f"{s.height}x{s.width}-{s.fps}fps-{s.n_frames}f-{s.sim_hz}hz{look}"

    def episode_folders(self, root: str | Path) -> list[Path]:
        base = self.episodes_root(root)
        return [job.folder(base) for job in self.jobs()]

    def limited(self, n: int | None) -> "Task":
        """The same task on its first n episodes (for quick runs); None keeps them all."""
        return self if n is None else replace(self, n_episodes=max(1, min(n, self.n_episodes)))

    def record(self) -> dict:
        """The task as results.json describes it (fixed contract 3, plus the sizes)."""
        return {"family": self.family, "split": self.split, "version": self.version, "n_episodes": self.n_episodes,
                "context_frames": self.context, "horizon": self.horizon, "scenarios": list(self.scenarios),
                "episode_ids": self.episode_ids(), "height": self.height, "width": self.width, "fps": self.fps,
                "seed": self.seed, "suite": self.suite, "look": self.look, "metrics": list(self.metrics)}


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
    block: int          # seed block index: seeds HELD_OUT_SEED + block * SEED_BLOCK + ...
    description: str
    version: int = 1
    split: str = "id"   # id | ood | comb


SPLITS = ("id", "ood", "comb")
OOD_BLOCKS = 20   # an OOD task's seed block is its ID task's + this (ID blocks are 0-19)
COMB_BLOCKS = 40  # combinatorial tasks' blocks start here

ID_DEFS: tuple[TaskDef, ...] = (
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
# Out of distribution: every ID task again on its scenarios' `_ood` variants, with the same metrics.
OOD_DEFS: tuple[TaskDef, ...] = tuple(
    replace(d, name=f"{d.name}-ood", scenarios=tuple(f"{n}_ood" for n in d.scenarios), block=d.block + OOD_BLOCKS,
            split="ood", description=f"{d.description}; sizes, masses, speeds and colours outside training")
    for d in ID_DEFS)
# Combinatorial: known pieces joined in new ways, one per family (scenarios with split "comb").
COMB_DEFS: tuple[TaskDef, ...] = (
    TaskDef("gravity-fall-together", "gravity", ("fall_together",), PERMANENCE + MOTION + PHYSICS_IQ + PIXELS,
            COMB_BLOCKS + 0, "two objects released together from different heights fall side by side", split="comb"),
    TaskDef("occlusion-drop-behind", "occlusion", ("drop_behind",),
            PERMANENCE + REAPPEAR + ("trajectory_error", "acceleration_error", "hover_rate") + PHYSICS_IQ + PIXELS,
            COMB_BLOCKS + 1, "an object falls behind a hanging panel and must come out below it on time", split="comb"),
    TaskDef("bite-moving-plate", "state_change", ("bite_moving_plate",),
            PERMANENCE + ("food_regrowth", "food_area_error", "trajectory_error") + PHYSICS_IQ + PIXELS,
            COMB_BLOCKS + 2, "bites are taken from food riding on a sliding plate; the bites never grow back",
            split="comb"),
    TaskDef("shatter-thrown", "shatter", ("thrown_strike",),
            PERMANENCE + ("break_frame_error", "shard_count_error", "shards_fall", "glass_area_error",
                          "trajectory_error") + PHYSICS_IQ + PIXELS,
            COMB_BLOCKS + 3, "a ball thrown on a parabola strikes a glass pane, which shatters", split="comb"),
)
TASK_DEFS: tuple[TaskDef, ...] = ID_DEFS + OOD_DEFS + COMB_DEFS


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
    look: str = "flat"        # scenarios.look name of every episode
    suffix: str = ""          # appended to task names, so a suite of another look never shares a rollout folder
    wide_width: int = 0       # > 0: every task also at this width (name <task><suffix>-wide), with seeds of its own
    learned_reference: bool = True  # the 64x64 learned reference runs by default (see models.default_model_specs)
    splits: tuple[str, ...] = SPLITS  # the splits whose tasks the suite holds


SUITES: dict[str, Suite] = {
    # Both suites use the 32-frame clips (15 fps) the scenarios are timed for: each key event (a landing,
    # a bite, an impact, a reappearance) comes after the 8 context frames and its consequences before the end.
    # runs on a laptop in minutes: a few episodes per task
    "default": Suite("default", n_episodes=3, context=8, horizon=24, height=64, width=64, fps=15, seed_offset=0),
    # the numbers to publish: more episodes
    "full": Suite("full", n_episodes=24, context=8, horizon=24, height=64, width=64, fps=15, seed_offset=SEED_BLOCK // 2),
    # for outside video models: lit, shadowed and textured through TinyRenderer, at 256x256 and 448x256 (16:9),
    # 24 fps; 12 context frames (0.46 s, as the 8 at 15 fps) and 48 to predict (2 s). One episode per ID task
    # and size keeps it minutes on a laptop. Its seeds sit in the last quarter of each task's block (full uses
    # 5000-5023), the wide size 1250 further on. The 64x64 reference is not a default model here: scoring it
    # would only measure its 4x upscaling.
    "hd": Suite("hd", n_episodes=1, context=12, horizon=48, height=256, width=256, fps=24,
                seed_offset=3 * SEED_BLOCK // 4, look="studio", suffix="-hd", wide_width=448, learned_reference=False,
                splits=("id",)),
    # the hd numbers to publish: with one episode a task, hd's bootstrap intervals are points; 12 give intervals
    # (seeds 100 after hd's, so the two never share an episode)
    "hd-full": Suite("hd-full", n_episodes=12, context=12, horizon=48, height=256, width=256, fps=24,
                     seed_offset=3 * SEED_BLOCK // 4 + 100, look="studio", suffix="-hd", wide_width=448,
                     learned_reference=False, splits=("id",)),
}
WIDE_SEED_SHIFT = SEED_BLOCK // 8  # seeds of a suite's wide tasks start this far after its square ones


def suite_tasks(suite: str = "default") -> dict[str, Task]:
    """Every task of a suite, keyed by name, in a fixed order."""
    if suite not in SUITES:
        raise UnknownTaskError(f"unknown suite '{suite}'; choose from {', '.join(SUITES)}")
    s = SUITES[suite]
    sizes = [("", s.width, 0)] + ([("-wide", s.wide_width, WIDE_SEED_SHIFT)] if s.wide_width else [])
    tasks = [Task(name=d.name + s.suffix + tag, family=d.family, scenarios=d.scenarios, metrics=d.metrics,
                  seed=HELD_OUT_SEED + d.block * SEED_BLOCK + s.seed_offset + shift, n_episodes=s.n_episodes,
                  context=s.context, horizon=s.horizon, height=s.height, width=width, fps=s.fps,
                  suite=s.name, look=s.look, version=d.version, description=d.description, split=d.split)
             for d in TASK_DEFS if d.split in s.splits for tag, width, shift in sizes]
    return {t.name: t for t in tasks}


def expand(names: list[str], tasks: dict[str, Task]) -> list[str]:
    """Task names for a list of task, family (`gravity`) and split (`ood`) names, in the suite's order
    within each name and without repeats. Unknown names raise UnknownTaskError."""
    out = []
    for name in names:
        if name in tasks:
            picked = [name]
        elif name in SPLITS:
            picked = [n for n, t in tasks.items() if t.split == name]
        else:
            picked = [n for n, t in tasks.items() if t.family == name]
        if not picked:
            families = sorted({t.family for t in tasks.values()})
            raise UnknownTaskError(f"unknown task '{name}'; choose from {', '.join(tasks)}, a family "
                                   f"({', '.join(families)}) or a split ({', '.join(SPLITS)})")
        out += [n for n in picked if n not in out]
    return out


def get_tasks(names: list[str] | None = None, suite: str = "default") -> list[Task]:
    """The named tasks of a suite (all of them when names is None); a name may also be a family
    (`gravity`: its tasks of every split) or a split (`ood`: every family's). Unknown names raise UnknownTaskError."""
    tasks = suite_tasks(suite)
    if names is None:
        return list(tasks.values())
    return [tasks[n] for n in expand(names, tasks)]
