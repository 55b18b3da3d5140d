"""Tasks and suites: held-out seeds, coverage of the families, sizes, metric names."""
import pytest

from physics_evals.tasks import (SUITES, TASK_DEFS, Task, UnknownTaskError, get_tasks,
                                 suite_tasks)
from scenarios import SCENARIOS
from scenarios.episode import HELD_OUT_SEED
from scenarios.registry import FAMILY_ORDER

EXPECTED_SCENARIOS = {"free_fall", "projectile", "ramp_roll", "bounce", "rest_on_support", "pass_behind",
                      "occluder_passes", "multi_object", "bite", "brush", "strike", "below_threshold"}
COMB_SCENARIOS = {"fall_together", "drop_behind", "bite_moving_plate", "thrown_strike"}


def test_every_family_has_id_ood_and_combinatorial_tasks_and_every_scenario_is_used():
    for family in FAMILY_ORDER:
        for split, least in (("id", 2), ("ood", 2), ("comb", 1)):
            assert sum(d.family == family and d.split == split for d in TASK_DEFS) >= least, (family, split)
    used = {s for d in TASK_DEFS for s in d.scenarios}
    assert used == EXPECTED_SCENARIOS | {f"{n}_ood" for n in EXPECTED_SCENARIOS} | COMB_SCENARIOS
    assert set(SCENARIOS) <= used  # every registered scenario, of every split, is measured by some task


def test_registered_scenarios_match_their_task_family_and_split():
    for d in TASK_DEFS:
        for s in d.scenarios:
            if s in SCENARIOS:
                assert SCENARIOS[s].family == d.family, (d.name, s)
                assert SCENARIOS[s].split == d.split, (d.name, s)


def test_tasks_are_selected_by_name_family_or_split():
    every = get_tasks()
    gravity = get_tasks(["gravity"])
    assert {t.name for t in gravity} == {t.name for t in every if t.family == "gravity"}
    assert {t.split for t in gravity} == {"id", "ood", "comb"}
    ood = get_tasks(["ood"])
    assert [t.name for t in ood] == [f"{t.name}-ood" for t in every if t.split == "id"]
    assert all(t.split == "ood" and all(s.endswith("_ood") for s in t.scenarios) for t in ood)
    mixed = get_tasks(["gravity-drop-ood", "ood", "comb", "gravity-drop"])  # no repeats, first mention first
    assert [t.name for t in mixed][:2] == ["gravity-drop-ood", "gravity-projectile-ood"]
    assert len(mixed) == len({t.name for t in mixed}) == len(ood) + len(get_tasks(["comb"])) + 1
    with pytest.raises(UnknownTaskError, match="a family .*gravity.* or a split .*ood"):
        get_tasks(["gravty"])


def test_eval_seeds_are_held_out_and_disjoint_across_tasks_and_suites():
    seen = {}
    for suite in SUITES:
        for t in suite_tasks(suite).values():
            seeds = range(t.seed, t.seed + t.n_episodes)
            assert min(seeds) >= HELD_OUT_SEED
            for s in seeds:
                assert s not in seen, f"{t.name}/{suite} reuses seed {s} of {seen[s]}"
                seen[s] = f"{t.name}/{suite}"


def test_a_training_seed_is_refused():
    with pytest.raises(ValueError, match="task x: held-out seeds 999999..1000000 reach below 1000000"):
        Task("x", "gravity", ("free_fall",), ("psnr",), seed=HELD_OUT_SEED - 1, n_episodes=2)


def test_default_suite_is_laptop_sized_and_full_suite_is_larger():
    d, f = suite_tasks("default")["gravity-drop"], suite_tasks("full")["gravity-drop"]
    assert (d.height, d.width, d.fps) == (64, 64, 15) and d.n_frames <= 32 and d.n_episodes <= 3
    assert f.n_episodes > d.n_episodes and f.n_frames >= d.n_frames
    assert d.render_spec.n_frames == d.context + d.horizon


def test_episode_ids_follow_the_scenario_engine_naming():
    t = suite_tasks("default")["gravity-drop"]
    assert t.episode_ids() == [f"free_fall-{t.seed + k:07d}" for k in range(t.n_episodes)]
    assert t.limited(1).episode_ids() == t.episode_ids()[:1]


def test_unknown_task_and_suite_name_the_value():
    with pytest.raises(UnknownTaskError, match="unknown task 'nope'"):
        get_tasks(["nope"])
    with pytest.raises(UnknownTaskError, match="unknown suite 'huge'"):
        suite_tasks("huge")


def test_every_task_metric_exists_in_the_registry():
    from physics_evals.metrics import METRICS as metrics
    for d in TASK_DEFS:
        missing = [m for m in d.metrics if m not in metrics]
        assert not missing, f"{d.name}: {missing}"
    # and every physics metric of the registry is used by some task
    used = {m for d in TASK_DEFS for m in d.metrics}
    assert set(metrics) - used == set()
