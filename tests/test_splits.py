"""Generalisation splits: OOD ranges lie outside the training ranges, training never sees them, and the
physics still holds on them; combinatorial scenarios are never trained on and obey their own checks."""
import math

import numpy as np
import pytest

from scenarios import SCENARIOS, RenderSpec, generate_episode, load_episode
from scenarios.engine import GRAVITY
from scenarios.params import OOD_PALETTE, PALETTE
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
    for seed in range(8):
        params = s.sample_params(np.random.default_rng(seed))
        for key in base.ood:
            assert params[key] in base.ood[key] and params[key] not in training_range(s, key), (key, params[key])
        assert colours_of(params) and colours_of(params) <= set(OOD_PALETTE) | {"cyan"}, colours_of(params)  # cyan: the glass


def test_outside_tells_overlapping_ranges():
    from scenarios.params import Choice, Integer, Uniform
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
    cfg = DataConfig(root=str(tmp_path), episodes_per_scenario=1, render_size=16, render_frames=2, seed=0)
    assert set(data_plan(cfg)["scenarios"]) == {n for names in FAMILIES.values() for n in names}
    folders = ensure_episodes(cfg, workers=1, progress=False)
    assert len(folders) == sum(map(len, FAMILIES.values()))
    for folder in folders:
        meta = load_episode(folder).meta
        s = SCENARIOS[meta["scenario"]]
        assert s.split == "id" and meta["split"] == "id", meta["scenario"]
        for key, rng in s.ranges.items():
            assert meta["params"][key] in rng, (meta["scenario"], key, meta["params"][key], rng)
            if key in s.ood:
                assert meta["params"][key] not in s.ood[key]
        assert colours_of(meta["params"]) <= set(PALETTE), (meta["scenario"], colours_of(meta["params"]))


# -- the physics tests still hold on OOD values --------------------------------------------------
SMALL = RenderSpec(height=32, width=32, n_frames=32)
CLIP = RenderSpec(height=64, width=64, fps=15, n_frames=32)  # an eval task's clip: 8 context frames, 24 to predict
CONTEXT = 8
DT, FRAME = 1.0 / SMALL.sim_hz, 1.0 / SMALL.fps


def moving(ep) -> list[int]:
    return [o["id"] for o in ep.objects_with_role("projectile")]


def contacts(ep, oid) -> list[dict]:
    return [e for e in ep.events_of("contact") if oid in e["objects"]]


def release_time(ep, oid) -> tuple[int, float]:
    (e,) = [e for e in ep.events_of("release") if oid in e["objects"]]
    return e["frame"], e["time"]


def assert_free_fall(ep, oid):
    """Held exactly still, then z_n = h0 - g dt^2 n(n+1)/2 (Bullet's semi-implicit Euler) until it lands."""
    z = ep.state(oid, "position")[:, 2]
    c, (r, t_release) = contacts(ep, oid)[0]["frame"], release_time(ep, oid)
    assert c - r >= 3 and np.all(z[:r] == z[0])
    n = np.round(np.maximum(np.arange(c) * FRAME - t_release, 0.0) / DT)
    np.testing.assert_allclose(z[:c], z[0] - GRAVITY * DT ** 2 * n * (n + 1) / 2, atol=1e-5)


@pytest.mark.parametrize("seed", [0, 1])
def test_ood_free_fall_follows_half_g_t_squared(seed):
    ep = generate_episode("free_fall_ood", seed, SMALL)
    assert ep.meta["params"]["shape"] == "cylinder" and ep.meta["split"] == "ood"
    assert_free_fall(ep, moving(ep)[0])


@pytest.mark.parametrize("seed", [0, 1])
def test_ood_projectile_flies_a_parabola(seed):
    from test_gravity import first_contact, release_of
    ep = generate_episode("projectile_ood", seed, SMALL)
    c, (r, _) = first_contact(ep), release_of(ep)
    pos = ep.state(0, "position")[r:c]
    assert c - r >= 4
    assert np.ptp(np.diff(pos[:, 0]) / FRAME) < 1e-3                                   # vx constant
    np.testing.assert_allclose(np.diff(pos[:, 2], 2) / FRAME ** 2, -GRAVITY, atol=0.01)  # az = -g


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ood_bounces_never_grow(seed):
    from test_gravity import ballistic_apexes
    ep = generate_episode("bounce_ood", seed, SMALL)
    apexes = ballistic_apexes(ep)
    assert apexes and apexes[0] < ep.meta["params"]["height"]
    assert all(b <= a + 1e-3 for a, b in zip(apexes, apexes[1:])), apexes


def test_ood_ramp_ball_rolls_at_five_sevenths_g_sin_theta():
    ep = generate_episode("ramp_roll_ood", 0, SMALL, params={"length": 0.9, "direction": "right"})
    th = math.radians(ep.meta["params"]["angle"])
    ball = moving(ep)[0]
    pos = ep.state(ball, "position")
    on_ramp = pos[:, 0] < -0.15
    on_ramp[:release_time(ep, ball)[0]] = False
    assert on_ramp.sum() >= 6
    accel = 2 * np.polyfit(np.flatnonzero(on_ramp) * FRAME, pos[on_ramp, 0] / math.cos(th), 2)[0]
    assert abs(accel - 5 / 7 * GRAVITY * math.sin(th)) < 0.04 * 5 / 7 * GRAVITY * math.sin(th)


@pytest.mark.parametrize("seed", [0, 1])
def test_ood_object_comes_to_rest_on_its_support(seed):
    ep = generate_episode("rest_on_support_ood", seed, SMALL)
    support, obj = ep.objects_with_role("support")[0], ep.objects_with_role("projectile")[0]
    pos, vel = ep.state(obj["id"], "position"), ep.state(obj["id"], "linear_velocity")
    assert abs(pos[-1, 2] - (support["top"] + obj["half_height"])) < 5e-3
    assert np.abs(pos[-1, :2]).max() < support["half_width"] and np.linalg.norm(vel[-3:], axis=1).max() < 0.02


@pytest.mark.parametrize("name", ["bite_ood", "bite_moving_plate"])
def test_bites_only_shrink_the_food(name):
    for seed in (0, 1):
        ep = generate_episode(name, seed, SMALL)
        food = ep.objects_with_role("food")[0]["id"]
        volume = ep.state(food, "remaining_volume")
        events = ep.events_of("bite")
        assert events and np.all(np.diff(volume) <= 0)
        drops = set((np.flatnonzero(np.diff(volume) < 0) + 1).tolist())
        assert drops == {e["frame"] for e in events if e["removed_voxels"]} and min(drops) >= CONTEXT + 1


def test_ood_paint_only_accumulates():
    ep = generate_episode("brush_ood", 0, SMALL)
    area = ep.state(ep.objects_with_role("canvas")[0]["id"], "painted_area")
    assert np.all(np.diff(area) >= 0) and area[-1] > 0
    assert [e["phase"] for e in ep.events_of("stroke")] == ["start", "end"] * 3


@pytest.mark.parametrize("name", ["strike_ood", "thrown_strike"])
def test_a_pane_breaks_into_its_shard_count_after_the_context(name):
    ep = generate_episode(name, 0, CLIP)
    gid = ep.objects_with_role("glass")[0]["id"]
    pieces, n = ep.state(gid, "n_pieces"), ep.meta["params"]["n_shards"]
    (event,) = ep.events_of("shatter")
    k = event["frame"]
    assert k >= CONTEXT + 1 and event["n_shards"] == n
    assert np.all(pieces[:k] == 1) and np.all(pieces[k:] == n)
    shards = ep.state(gid, "shard_positions")
    assert shards[-1, :, 2].mean() < shards[k - 1, :, 2].mean() - 0.03  # the shards come down


def test_ood_soft_hit_leaves_the_pane_whole():
    ep = generate_episode("below_threshold_ood", 0, SMALL)
    gid = ep.objects_with_role("glass")[0]["id"]
    (impact,) = ep.events_of("impact")
    assert not ep.events_of("shatter") and np.all(ep.state(gid, "n_pieces") == 1) and not impact["broke"]


@pytest.mark.parametrize("name", scenarios_of("occlusion", "ood") + ["drop_behind"])
def test_hidden_objects_reappear_after_the_context(name):
    for seed in range(3):
        ep = generate_episode(name, seed, CLIP)
        for oid in moving(ep) or [o["id"] for o in ep.objects_with_role("object")]:
            vis = ep.state(oid, "visible").astype(bool)
            back = [e["frame"] for e in ep.events_of("reappeared") if oid in e["objects"]]
            assert vis[:3].all() and vis[-1] and back, (seed, oid)
            assert min(back) >= CONTEXT + 1 and (~vis).sum() >= 2, (seed, oid, back)


# -- combinatorial scenarios: their own physics ------------------------------------------------------
def test_every_family_has_a_combinatorial_scenario_that_training_never_draws():
    for family in FAMILY_ORDER:
        comb = scenarios_of(family, "comb")
        assert comb and not set(comb) & set(FAMILIES[family]), family


@pytest.mark.parametrize("seed", [0, 1])
def test_two_objects_fall_together_each_by_the_law_and_the_lower_lands_first(seed):
    ep = generate_episode("fall_together", seed, SMALL)
    a, b = moving(ep)
    for oid in (a, b):
        assert_free_fall(ep, oid)
    assert release_time(ep, a) == release_time(ep, b)  # released together
    assert contacts(ep, b)[0]["time"] < contacts(ep, a)[0]["time"]  # b is held lower
    # mass does not matter: the same scene with the masses swapped falls identically
    p = ep.meta["params"]
    swapped = generate_episode("fall_together", seed, SMALL, params={"mass_a": p["mass_b"], "mass_b": p["mass_a"]})
    c = min(contacts(ep, a)[0]["frame"], contacts(ep, b)[0]["frame"])
    for oid in (a, b):
        np.testing.assert_allclose(ep.state(oid, "position")[:c], swapped.state(oid, "position")[:c], atol=1e-6)
    x = [ep.state(oid, "position")[:c, 0] for oid in (a, b)]
    assert np.abs(x[0] - x[1]).min() > p["size_a"] + p["size_b"]  # they never touch


def test_a_drop_behind_the_panel_keeps_falling_by_the_law_while_hidden():
    ep = generate_episode("drop_behind", 0, CLIP)
    oid = moving(ep)[0]
    assert_free_fall(ep, oid)  # through the hidden frames too
    vis = ep.state(oid, "visible").astype(bool)
    hidden = np.flatnonzero(~vis)
    assert len(hidden) >= 2 and hidden.min() >= release_time(ep, oid)[0]
    panel = ep.objects_with_role("occluder")[0]
    z = ep.state(oid, "position")[:, 2]
    assert z[-1] + ep.meta["params"]["size"] < ep.meta["params"]["panel_bottom"]  # it rests below the panel, in view
    assert vis[-1] and ep.state(panel["id"], "visible").all()


def test_the_plate_carries_the_food_at_a_constant_speed():
    ep = generate_episode("bite_moving_plate", 2, SMALL)
    p = ep.meta["params"]
    speed = (1 if p["plate_direction"] == "right" else -1) * p["plate_speed"]
    t = np.arange(ep.n_frames) * FRAME
    for role in ("food", "plate"):
        oid = ep.objects_with_role(role)[0]["id"]
        x = ep.state(oid, "position")[:, 0]
        np.testing.assert_allclose(x - x[0], speed * t, atol=1e-6)
    # the bitten burger moves with its plate: the food's pixels shift the way the plate goes
    food = ep.objects_with_role("food")[0]["id"]
    cols = [np.flatnonzero((ep.seg[k] == food).any(axis=0)) for k in (0, ep.n_frames - 1)]
    assert np.sign(cols[1].max() - cols[0].max()) == np.sign(speed) or abs(speed) * t[-1] < 0.05


def test_a_thrown_ball_flies_a_parabola_into_the_pane():
    ep = generate_episode("thrown_strike", 1, RenderSpec(height=32, width=32, fps=30, n_frames=46))
    ball = moving(ep)[0]
    r, _ = release_time(ep, ball)
    (impact,) = ep.events_of("impact")
    pos = ep.state(ball, "position")[r:impact["frame"]]
    dt = 1.0 / ep.fps
    assert len(pos) >= 6 and impact["broke"]
    assert np.ptp(np.diff(pos[:, :2], axis=0) / dt, axis=0).max() < 1e-3        # horizontal velocity constant
    np.testing.assert_allclose(np.diff(pos[:, 2], 2) / dt ** 2, -GRAVITY, atol=0.01)  # vertical acceleration -g
    assert impact["momentum"] == pytest.approx(ep.meta["params"]["impact_momentum"], rel=0.02)


# -- the eval-clip guarantees on many seeds (slow: 12 seeds of every OOD and combinatorial scenario) ---
def key_frames(ep) -> list[int]:
    """Frames of the events the model must predict: landings, reaching the ground, reappearances,
    bites, impacts."""
    family, movers = ep.family, moving(ep)
    if ep.objects_with_role("ramp"):  # the ball rolls off the ramp's low end (x = 0) onto the ground
        d = 1 if ep.meta["params"]["direction"] == "right" else -1
        return np.flatnonzero(d * ep.state(movers[0], "position")[:, 0] > 0).tolist()[:1]
    if family == "gravity":  # a landing on the ground or a support
        return [e["frame"] for e in ep.events_of("contact") if e["objects"][0] in movers]
    if family == "occlusion":
        return [e["frame"] for e in ep.events_of("reappeared")]
    return [e["frame"] for e in ep.meta["events"] if e["kind"] in ("bite", "impact")]


@pytest.mark.slow
@pytest.mark.parametrize("name", OOD + COMB)
def test_key_events_come_after_the_context_and_movers_stay_in_view(name):
    family = SCENARIOS[name].family
    for seed in range(12):
        ep = generate_episode(name, seed, CLIP)
        shown = [o["id"] for o in ep.objects if o["role"] in ("projectile", "object", "biter", "plate")]
        for oid in shown:  # the context shows every mover (an occluded one may hide before it ends)
            assert ep.state(oid, "visible")[:3 if family == "occlusion" else CONTEXT].all(), (seed, oid)
        if family in ("gravity", "shatter"):  # and they stay in view (the brush and biter leave on purpose)
            assert not [e for e in ep.events_of("left_view") if e["frame"] < ep.n_frames - 1], seed
        if ep.objects_with_role("canvas"):  # painting starts in the context; most of the paint comes after it
            area = ep.state(ep.objects_with_role("canvas")[0]["id"], "painted_area")
            assert area[-1] > 1.5 * area[CONTEXT - 1], seed
        else:
            frames = key_frames(ep)
            assert frames and min(frames) >= CONTEXT + 1, (seed, sorted(frames)[:3])


# -- the colour-keyed tracker finds OOD-coloured objects and combinatorial scenes ----------------------
def assert_tracked(name: str, seed: int):
    from physics_evals.tracker import validate
    ep = generate_episode(name, seed, CLIP)
    report = validate(ep.rgb, ep.seg, ep.objects)
    assert report and min(r["iou"] for r in report.values()) >= 0.98, (name, seed, report)


@pytest.mark.parametrize("name", ["multi_object_ood", "strike_ood"])  # 4 OOD colours in one scene; the glass
def test_the_tracker_matches_the_true_masks_on_ood_colours(name):
    assert_tracked(name, 0)


@pytest.mark.slow
@pytest.mark.parametrize("name", OOD + COMB)
def test_the_tracker_matches_the_true_masks_on_every_ood_and_combinatorial_scene(name):
    for seed in (0, 1):  # measured: IoU >= 0.994 on every object (the sliding plate's rim is the lowest)
        assert_tracked(name, seed)
