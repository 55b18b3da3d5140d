"""`python -m physics_evals ls tasks|models|metrics`: what exists, one line each."""
from __future__ import annotations

from .tasks import SUITES, suite_tasks


def list_tasks(suite: str) -> list[str]:
    lines = [f"{'task':<32} {'family':<13} {'split':<5} {'scenarios':<20} {'eps':>4} {'ctx+hor':>8} {'size':>9} "
             f"{'fps':>4} {'metrics':>7}  seeds"]
    tasks = suite_tasks(suite).values()
    for t in tasks:
        lines.append(f"{t.name:<32} {t.family:<13} {t.split:<5} {','.join(t.scenarios):<20} {t.n_episodes:>4} "
                     f"{f'{t.context}+{t.horizon}':>8} {f'{t.width}x{t.height}':>9} {t.fps:>4} {len(t.metrics):>7}  "
                     f"{t.seed}..{t.seed + t.n_episodes - 1}")
    return lines + split_ranges(tasks)


def split_ranges(tasks) -> list[str]:
    """What makes each OOD task out of distribution: its parameters' training and OOD ranges, as the
    scenarios declare them (one declaration, shown here and by `python -m scenarios ls`)."""
    from scenarios import SCENARIOS
    from scenarios.params import OOD_PALETTE
    lines = ["", "out-of-distribution ranges (training -> ood); colours "
             f"{', '.join(OOD_PALETTE)} are never in training; combinatorial scenarios are never in training"]
    for t in tasks:
        if t.split != "ood":
            continue
        for name in t.scenarios:
            base = SCENARIOS[SCENARIOS[name].base]
            lines.append(f"  {t.name} ({name}): " + "; ".join(f"{k} {base.ranges[k]} -> {r}" for k, r in base.ood.items()))
    return lines if len(lines) > 2 else []  # no OOD task in this suite: no section


def list_models() -> list[str]:
    from .models import BUILTIN, REFERENCE_CHECKPOINT, default_model_specs
    lines = [f"{name:<22} {cls.source}" for name, cls in BUILTIN.items()]
    lines += [f"{'rollouts:DIR':<22} an outside model's videos: DIR/<model>/<task>/<episode_id>.npz|.mp4",
              f"{'checkpoint:PATH':<22} our learned simulator (NAME=checkpoint:PATH to name it)",
              f"{'':<22} reference checkpoint {REFERENCE_CHECKPOINT}: "
              f"{'present' if REFERENCE_CHECKPOINT.exists() else 'not there yet'}",
              "default models: " + " ".join(default_model_specs())]
    return lines


def list_metrics() -> list[str]:
    from .evaluate import registry
    lines = [f"{'metric':<26} {'group':<13} {'better':<7} {'perfect':>7} {'scale':>7} {'unit':<8} description"]
    for name, m in registry().items():
        lines.append(f"{name:<26} {m.group:<13} {'higher' if m.higher_is_better else 'lower':<7} {m.perfect:>7g} "
                     f"{m.scale:>7g} {m.unit:<8} {m.description}")
    return lines


def add_arguments(p) -> None:
    p.add_argument("what", choices=("tasks", "models", "metrics"))
    p.add_argument("--suite", default="default", choices=list(SUITES), help="for tasks: which suite's sizes")


def main(args) -> int:
    lines = {"tasks": lambda: list_tasks(args.suite), "models": list_models, "metrics": list_metrics}[args.what]()
    print("\n".join(lines))
    return 0
