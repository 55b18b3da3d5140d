"""Every scenario, keyed by name and grouped by family and split.

A scenario is a module in `scenarios/<family>/` that defines a `Scenario` subclass; it is
found here by looking, so adding a scenario means adding its module and nothing else.

Splits: a scenario's `ranges` are its training ranges; where it also declares `ood` ranges, the
registry adds the variant `<name>_ood` (split "ood"), which draws those and unseen colours. A
combinatorial scenario says `split = "comb"`. `FAMILIES` lists only the "id" scenarios: it is
what training (`simulator.data`) and a plain `generate --family` draw from, so neither ever
sees an OOD value or a combinatorial scene.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil

from .engine import Scenario

from .params import OOD_PALETTE, Choice

FAMILY_ORDER = ("gravity", "occlusion", "state_change", "shatter")
SPLITS = ("id", "ood", "comb")  # in-distribution, out-of-distribution, combinatorial
OOD_SUFFIX = "_ood"


def outside(ood, train) -> bool:
    """Whether the range `ood` lies wholly outside the range `train` (no value both could draw)."""
    if isinstance(ood, Choice) or isinstance(train, Choice):
        return isinstance(ood, Choice) and isinstance(train, Choice) and not set(ood.options) & set(train.options)
    return ood.lo > train.hi or ood.hi < train.lo


def ood_variant(cls: type[Scenario]) -> type[Scenario]:
    """The out-of-distribution variant of a scenario class: its `ood` ranges over its training ones."""
    for key, rng in cls.ood.items():
        assert key in cls.ranges, f"{cls.name}: ood parameter '{key}' has no training range"
        assert outside(rng, cls.ranges[key]), f"{cls.name}.{key}: ood {rng} overlaps the training {cls.ranges[key]}"
    return type(f"{cls.__name__}OOD", (cls,), {
        "__module__": cls.__module__, "name": cls.name + OOD_SUFFIX, "split": "ood", "base": cls.name,
        "ranges": {**cls.ranges, **cls.ood}, "palette": OOD_PALETTE,
        "description": f"{cls.description} (out of distribution: {', '.join(cls.ood)} and colours unseen in training)"})


def _discover() -> dict[str, Scenario]:
    found = {}
    for family in FAMILY_ORDER:
        package = importlib.import_module(f"{__package__}.{family}")
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if issubclass(cls, Scenario) and cls.__module__ == module.__name__ and hasattr(cls, "name"):
                    assert cls.family == family, f"{cls.__name__} lives in {family}/ but says family {cls.family}"
                    assert cls.split in ("id", "comb"), f"{cls.__name__}: split {cls.split!r} (ood variants are derived)"
                    found[cls.name] = cls()
                    if cls.split == "id" and cls.ood:
                        found[cls.name + OOD_SUFFIX] = ood_variant(cls)()
    return found


SCENARIOS: dict[str, Scenario] = _discover()
# family -> its in-distribution scenarios: the training set (OOD variants and combinatorial scenes are left out)
FAMILIES: dict[str, list[str]] = {f: [n for n, s in SCENARIOS.items() if s.family == f and s.split == "id"]
                                  for f in FAMILY_ORDER}


def split_of(name: str) -> str:
    return get_scenario(name).split


def training_range(scenario: Scenario, key: str):
    """The training range of a parameter of any scenario (an OOD variant's come from its base)."""
    return SCENARIOS[getattr(scenario, "base", scenario.name)].ranges[key]


class UnknownScenarioError(ValueError):
    """An unknown family or scenario name; the message lists the choices."""


def get_scenario(name: str) -> Scenario:
    if name not in SCENARIOS:
        raise UnknownScenarioError(f"unknown scenario '{name}'; choose from {', '.join(sorted(SCENARIOS))}")
    return SCENARIOS[name]


def scenarios_of(family: str, split: str = "id") -> list[str]:
    """The family's scenarios of one split ("id" by default: the training set)."""
    if family not in FAMILIES:
        raise UnknownScenarioError(f"unknown family '{family}'; choose from {', '.join(FAMILY_ORDER)}")
    if split not in SPLITS:
        raise UnknownScenarioError(f"unknown split '{split}'; choose from {', '.join(SPLITS)}")
    return [n for n, s in SCENARIOS.items() if s.family == family and s.split == split]
