"""Generalisation splits: OOD ranges lie outside the training ranges, training never sees them, and the
physics still holds on them; combinatorial scenarios are never trained on and obey their own checks."""
import math

import numpy as np
import pytest

from scenarios import SCENARIOS, RenderSpec, generate_episode, load_episode
from scenarios.engine import GRAVITY, OOD_PALETTE, PALETTE
from scenarios.registry import FAMILIES, FAMILY_ORDER, outside, scenarios_of, training_range

OOD = [n for n, s in SCENARIOS.items() if s.split == "ood"]
COMB = [n for n, s in SCENARIOS.items() if s.split == "comb"]
COLOUR_KEYS = ("colour", "occluder_colour", "ramp_colour", "support_colour", "food_colour", "biter_colour",
               "paint_colour", "brush_colour", "ball_colour")


def colours_of(params: dict) -> set[str]:
    found = {params[k] for k in COLOUR_KEYS if isinstance(params.get(k), str)}
    return found | {o["colour"] for o in params.get("objects", []) if isinstance(o, dict) and "colour" in o}


def test_every_family_has_id_and_ood_scenarios():
    for family in FAMILY_ORDER:
        for split in ("id", "ood"):
            assert scenarios_of(family, split), (family, split)
    # every training scenario has an OOD variant, and the training set is exactly the "id" scenarios
    for family, names in FAMILIES.items():
        assert all(SCENARIOS[n].split == "id" and f"{n}_ood" in SCENARIOS for n in names), family


@pytest.mark.parametrize("name", OOD)
def test_ood_ranges_lie_outside_the_training_ranges(name):
    s = SCENARIOS[name]
    base = SCENARIOS[s.base]
    assert base.ood and set(base.ood) <= set(base.ranges)
    for key, rng in base.ood.items():
        assert outside(rng, base.ranges[key]), (key, rng, base.ranges[key])
    # and what the variant draws is in its OOD range, outside the training one, in colours never trained on
    for seed in range(20):
        params = s.sample_params(np.random.default_rng(seed))
        for key in base.ood:
            assert params[key] in base.ood[key] and params[key] not in training_range(s, key), (key, params[key])
        assert colours_of(params) and colours_of(params) <= set(OOD_PALETTE) | {"cyan"}, colours_of(params)  # cyan: the glass


def test_outside_tells_overlapping_ranges():
    from scenarios.engine import Choice, Integer, Uniform
    assert outside(Uniform(1.3, 1.7), Uniform(0.6, 1.2)) and not outside(Uniform(1.1, 1.7), Uniform(0.6, 1.2))
    assert outside(Integer(3, 3), Integer(1, 2)) and not outside(Integer(2, 3), Integer(1, 2))
    assert outside(Choice(("cylinder",)), Choice(("sphere", "cube"))) and not outside(Choice(("cube",)), Choice(("sphere", "cube")))


def test_palettes_are_disjoint_and_ood_hues_are_distinct():
    import cv2
    assert not set(PALETTE) & set(OOD_PALETTE)
    rgb = np.array([[[round(255 * c) for c in v] for v in OOD_PALETTE.values()]], np.uint8)
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)[0].astype(int)
    hue = hsv[:, 0]
    gap = np.abs(hue[:, None] - hue[None, :])
    gap = np.minimum(gap, 180 - gap) + 180 * np.eye(len(hue), dtype=int)
    assert gap.min() >= 22 and hsv[:, 1].min() >= 200  # far apart in hue (tracker tolerance 10) and saturated


def test_training_data_never_sees_ood_values_or_combinatorial_scenes(tmp_path):
    """Generate training episodes through the simulator's own data path and check every parameter."""
    from simulator.config import DataConfig
    from simulator.data import data_plan, ensure_episodes
    cfg = DataConfig(root=str(tmp_path), episodes_per_scenario=2, render_size=16, render_frames=2, seed=0)
    assert set(data_plan(cfg)["scenarios"]) == {n for names in FAMILIES.values() for n in names}
    folders = ensure_episodes(cfg, workers=1, progress=False)
    assert len(folders) == 2 * sum(map(len, FAMILIES.values()))
    for folder in folders:
        meta = load_episode(folder).meta
        s = SCENARIOS[meta["scenario"]]
        assert s.split == "id" and meta["split"] == "id", meta["scenario"]
        for key, rng in s.ranges.items():
            assert meta["params"][key] in rng, (meta["scenario"], key, meta["params"][key], rng)
            if key in s.ood:
                assert meta["params"][key] not in s.ood[key]
        assert colours_of(meta["params"]) <= set(PALETTE), (meta["scenario"], colours_of(meta["params"]))
