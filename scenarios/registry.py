"""Every scenario, keyed by name and grouped by family.

A scenario is a module in `scenarios/<family>/` that defines a `Scenario` subclass; it is
found here by looking, so adding a scenario means adding its module and nothing else.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil

from .engine import Scenario

FAMILY_ORDER = ("gravity", "occlusion", "state_change", "shatter")


def _discover() -> dict[str, Scenario]:
    found = {}
    for family in FAMILY_ORDER:
        package = importlib.import_module(f"{__package__}.{family}")
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if issubclass(cls, Scenario) and cls.__module__ == module.__name__ and hasattr(cls, "name"):
                    assert cls.family == family, f"{cls.__name__} lives in {family}/ but says family {cls.family}"
                    found[cls.name] = cls()
    return found


SCENARIOS: dict[str, Scenario] = _discover()
FAMILIES: dict[str, list[str]] = {f: [n for n, s in SCENARIOS.items() if s.family == f] for f in FAMILY_ORDER}


class UnknownScenarioError(ValueError):
    """An unknown family or scenario name; the message lists the choices."""


def get_scenario(name: str) -> Scenario:
    if name not in SCENARIOS:
        raise UnknownScenarioError(f"unknown scenario '{name}'; choose from {', '.join(sorted(SCENARIOS))}")
    return SCENARIOS[name]


def scenarios_of(family: str) -> list[str]:
    if family not in FAMILIES:
        raise UnknownScenarioError(f"unknown family '{family}'; choose from {', '.join(FAMILY_ORDER)}")
    return FAMILIES[family]
