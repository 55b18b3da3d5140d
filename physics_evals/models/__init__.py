"""Models the harness can score, by spec string.

    ground_truth, resimulated, copy_last_frame, linear_extrapolation   built in
    rollouts:DIR                       outside rollouts, DIR/<model>/<task>/<episode_id>.npz|.mp4
    checkpoint:PATH                    our learned simulator (torch is imported only when it runs)
    NAME=checkpoint:PATH               the same under an explicit name
"""
from __future__ import annotations

from toolkit.provenance import PROJECT_ROOT

from .base import Adapter, UnknownModelError
from .baselines import CopyLastFrame, GroundTruth, LinearExtrapolation, Resimulated, perturb_params
from .external import Checkpoint, RolloutFolder, rollout_folder_models

BUILTIN = {"ground_truth": GroundTruth, "resimulated": Resimulated, "copy_last_frame": CopyLastFrame,
           "linear_extrapolation": LinearExtrapolation}
CEILING = "resimulated"                            # the physical-variance ceiling every score is relative to
FLOORS = ("copy_last_frame", "linear_extrapolation")  # the baselines every real model should beat
REFERENCE_CHECKPOINT = PROJECT_ROOT / "simulator" / "reference"  # our reference model, a default once it exists


def default_model_specs(reference: bool = True) -> list[str]:
    """The built-ins, plus our reference checkpoint when it exists and `reference` (a suite whose sizes it
    was not trained at, such as hd, leaves it out: see tasks.Suite.learned_reference)."""
    specs = list(BUILTIN)
    if reference and REFERENCE_CHECKPOINT.exists():
        specs.append(f"reference=checkpoint:{REFERENCE_CHECKPOINT}")
    return specs


def resolve_models(specs: list[str], task_names: set[str] = frozenset(), seed: int = 0) -> list[Adapter]:
    """Adapters for model specs (one rollouts:DIR may name several models). Raises UnknownModelError."""
    out: list[Adapter] = []
    for spec in specs:
        name, _, rest = spec.partition("=") if "=" in spec.split(":", 1)[0] else ("", "", spec)
        if rest in BUILTIN:
            out.append(BUILTIN[rest](seed=seed) if rest == "resimulated" else BUILTIN[rest]())
        elif rest.startswith("checkpoint:"):
            out.append(Checkpoint(rest.split(":", 1)[1], name or None))
        elif rest.startswith("rollouts:"):
            found = rollout_folder_models(rest.split(":", 1)[1], set(task_names))
            if name and len(found) != 1:
                raise UnknownModelError(f"{spec}: a name fits one model, but {rest} holds {len(found)}")
            if name:
                found[0].name = name
            out.extend(found)
        else:
            raise UnknownModelError(f"unknown model '{spec}'; choose from {', '.join(BUILTIN)}, "
                                    "rollouts:DIR, checkpoint:PATH")
    names = [m.name for m in out]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise UnknownModelError(f"two models are both named '{dup}'; name one with NAME=checkpoint:PATH")
    return out


__all__ = ["Adapter", "BUILTIN", "CEILING", "Checkpoint", "CopyLastFrame", "GroundTruth", "LinearExtrapolation",
           "Resimulated", "RolloutFolder", "UnknownModelError", "default_model_specs", "perturb_params",
           "resolve_models"]
