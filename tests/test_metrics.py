"""Every metric: the truth scores perfect, a clip that breaks its rule scores worse, and the registry
keeps the names, groups and summaries the harness relies on."""
import math

import numpy as np
import pytest

import scenarios
from physics_evals import probes
from physics_evals.metrics import GROUPS, METRICS, Clip, ClipError, UnknownMetricError, evaluate, get_metric
from physics_evals.summary import summarize_samples
import stub_scenes as fixtures

SPEC = scenarios.RenderSpec(height=64, width=64, fps=15, n_frames=16)
DROP = {"height": 1.5, "restitution": 0.6, "release": 0.0}  # falling from frame 0
BINDING = {  # the names the tasks list; changing one breaks the harness
    "permanence": ["presence_accuracy", "reappear_time_error", "reappear_position_error", "spawn_vanish_rate",
                   "count_conservation", "identity_conservation"],
    "plausibility": ["trajectory_error", "acceleration_error", "velocity_error", "hover_rate", "bounce_growth",
                     "food_regrowth", "food_area_error", "paint_loss", "paint_iou", "break_frame_error",
                     "shard_count_error", "shards_fall", "glass_area_error"],
    "physics_iq": ["piq_spatial_iou", "piq_spatiotemporal_iou", "piq_weighted_spatial_iou", "piq_mse"],
    "pixels": ["psnr", "ssim"],
}


@pytest.fixture(scope="module")
def eps():
    """name -> (episode, context frames)."""
    out = {"drop": (scenarios.generate_episode("free_fall", 1, SPEC, params=DROP), 2)}
    for key, stub in [("pass", "stub_pass_behind"), ("bite", "stub_bite"), ("brush", "stub_brush"),
                      ("shatter", "stub_shatter"), ("below", "stub_below_threshold")]:
        out[key] = (fixtures.episode(stub, 0, SPEC), 4)
    return out


def truth_clip(ep, context):
    return Clip(ep, context, ep.rgb[context:])


def copy_last(ep, context):
    return np.repeat(ep.rgb[context - 1:context], ep.n_frames - context, axis=0)


def higher_bounce(ep, context):
    """After the first bounce the object rises back along its fall path, 4 px higher than it fell."""
    vz = ep.state(0, "linear_velocity")[:, 2]
    b = int(np.flatnonzero((vz[:-1] < 0) & (vz[1:] > 0))[0]) + 1
    out = probes.background(ep, 0)
    out[:b] = ep.rgb[:b]
    for t in range(b, ep.n_frames):
        src = max(0, 2 * b - t)
        probes.paste(out[t], ep.rgb[src], ep.seg[src] == 0, dy=-4)
    return out[context:]


def probe(kind):
    return lambda ep, context: probes.PROBES[kind].make(ep, context)


# metric -> (episode, a rollout that breaks the metric's rule)
MUST_FAIL = {
    "presence_accuracy": ("pass", probe("vanish")),
    "reappear_time_error": ("pass", probe("late")),
    "reappear_position_error": ("pass", probe("elsewhere")),
    "spawn_vanish_rate": ("drop", probe("spawn")),
    "count_conservation": ("bite", probe("spawn")),
    "identity_conservation": ("shatter", probe("spawn")),
    "trajectory_error": ("drop", probe("float")),
    "acceleration_error": ("drop", probe("float")),
    "velocity_error": ("pass", copy_last),
    "hover_rate": ("drop", probe("float")),
    "bounce_growth": ("drop", higher_bounce),
    "food_regrowth": ("bite", probe("heal")),
    "food_area_error": ("bite", probe("heal")),
    "paint_loss": ("brush", probe("fade")),
    "paint_iou": ("brush", probe("fade")),
    "break_frame_error": ("shatter", probe("never_break")),
    "shard_count_error": ("shatter", probe("unbreak")),
    "shards_fall": ("shatter", probe("unbreak")),
    "glass_area_error": ("shatter", probe("never_break")),
    "piq_spatial_iou": ("pass", copy_last),
    "piq_spatiotemporal_iou": ("shatter", copy_last),
    "piq_weighted_spatial_iou": ("bite", copy_last),
    "piq_mse": ("drop", copy_last),
    "psnr": ("brush", copy_last),
    "ssim": ("drop", copy_last),
}


def test_registry_names_groups_and_declarations():
    assert {g: [n for n, m in METRICS.items() if m.group == g] for g in GROUPS} == BINDING
    assert set(MUST_FAIL) == set(METRICS)
    for m in METRICS.values():
        assert m.group in GROUPS and m.scale > 0 and m.unit is not None and m.description
        assert m.aggregation == "mean"
    with pytest.raises(UnknownMetricError, match="unknown metric 'nope'"):
        get_metric("nope")


def test_truth_is_perfect_on_every_metric(eps):
    applicable = set()
    for key, (ep, context) in eps.items():
        for name, value in evaluate(truth_clip(ep, context)).items():
            if math.isnan(value):
                continue
            applicable.add(name)
            assert value == pytest.approx(METRICS[name].perfect), (key, name, value)
            assert METRICS[name].score(value) == pytest.approx(100.0)
    assert applicable == set(METRICS)  # perfection is not vacuous: every metric was measured


def test_truth_is_perfect_on_every_registered_scenario():
    spec = scenarios.RenderSpec(height=64, width=64, fps=15, n_frames=32)
    episodes = fixtures.registered(spec, seeds=(0, 1))
    assert {ep.scenario for ep in episodes} >= {"free_fall"}
    for ep in episodes:
        for name, value in evaluate(truth_clip(ep, 8)).items():
            assert math.isnan(value) or value == pytest.approx(METRICS[name].perfect), (ep.episode_id, name, value)


@pytest.mark.parametrize("name", sorted(MUST_FAIL))
def test_metric_fails_where_it_must(eps, name):
    key, make = MUST_FAIL[name]
    ep, context = eps[key]
    m = METRICS[name]
    bad = m(Clip(ep, context, make(ep, context)))
    assert not math.isnan(bad), (name, key)
    assert m.distance(bad) > 0.02 * m.scale, (name, bad)
    assert m.score(bad) < 99.0


def test_not_applicable_is_nan(eps):
    drop, context = eps["drop"]
    values = evaluate(truth_clip(drop, context))
    for name in ("reappear_time_error", "reappear_position_error", "food_regrowth", "food_area_error",
                 "paint_loss", "paint_iou", "break_frame_error", "shard_count_error", "shards_fall", "glass_area_error"):
        assert math.isnan(values[name]), name
    below, context = eps["below"]
    values = evaluate(truth_clip(below, context))
    assert values["break_frame_error"] == 0.0 and math.isnan(values["shard_count_error"])


def test_breaking_when_the_truth_does_not_costs_the_horizon(eps):
    below, context = eps["below"]
    broken = fixtures.episode("stub_shatter", 0, SPEC)  # the same pane (same seed), which does break
    assert (broken.rgb[:context] == below.rgb[:context]).all()
    clip = Clip(below, context, broken.rgb[context:])
    assert METRICS["break_frame_error"](clip) == clip.horizon


def test_summary_groups_and_overall(eps):
    """The one summary formula (physics_evals.summary) on the real metrics of one clip."""
    ep, context = eps["pass"]

    def rows(model, values):
        return [{"model": model, "task": "t", "episode_id": ep.episode_id, "metric": n, "status": "ok",
                 "value": None if math.isnan(v) else v} for n, v in values.items()]
    truth = evaluate(truth_clip(ep, context))
    frozen = evaluate(Clip(ep, context, copy_last(ep, context)))
    blurry = {**truth, "psnr": 0.0, "ssim": 0.0}  # physics of the truth, the worst pixels
    summary = summarize_samples(rows("resimulated", truth) + rows("truth", truth) + rows("frozen", frozen)
                                + rows("blurry", blurry), METRICS)
    assert set(summary["truth"]) == {"permanence", "plausibility", "physics_iq", "overall"}
    assert all(v == pytest.approx(100.0) for v in summary["truth"].values())
    for g in ("permanence", "plausibility", "physics_iq", "overall"):
        assert summary["frozen"][g] < 80.0, (g, summary["frozen"])
    assert summary["blurry"] == summary["truth"]  # pixels never enter the summary


def test_ceiling_makes_a_second_take_score_100(eps):
    ep, context = eps["drop"]
    m = METRICS["trajectory_error"]
    assert m.score(1.5, ceiling=1.5) == 100.0 and m.score(1.5 + m.scale, ceiling=1.5) == pytest.approx(50.0)


def test_a_slightly_perturbed_resimulation_scores_near_the_truth(eps):
    """A second take (release 5 mm higher) stays close on the physics metrics; copy-last does not."""
    ep, context = eps["drop"]
    take2 = scenarios.generate_episode("free_fall", 1, SPEC, params={**DROP, "height": DROP["height"] + 0.005})
    second = evaluate(Clip(ep, context, take2.rgb[context:]), ["trajectory_error", "velocity_error", "hover_rate"])
    frozen = evaluate(Clip(ep, context, copy_last(ep, context)), ["trajectory_error", "velocity_error", "hover_rate"])
    for name in second:
        assert METRICS[name].score(second[name]) > 80.0 > METRICS[name].score(frozen[name]), (name, second, frozen)


@pytest.mark.parametrize("pred, message", [
    (np.zeros((12, 32, 32, 3), np.uint8), r"uint8\[12, 32, 32, 3\], expected uint8\[T, 64, 64, 3\]"),
    (np.zeros((12, 64, 64, 3), np.float32), "float32"),
    (np.zeros((13, 64, 64, 3), np.uint8), "13 frames after 4 context frames, but the truth has 16"),
])
def test_a_rollout_that_does_not_fit_its_truth_gives_one_clear_error(eps, pred, message):
    ep, _ = eps["pass"]
    with pytest.raises(ClipError, match=message):
        METRICS["trajectory_error"](Clip(ep, 4, pred))


# Adversarial rollouts built from real episodes: frames that carry no physics must not score as if they did.
ADV_SPEC = scenarios.RenderSpec(height=64, width=64, fps=15, n_frames=32)
ADV_CONTEXT = 8
GRAVITY = ("free_fall", "projectile", "bounce")
# Specks of an object's own colour that touch its still blob move the centroid by a few hundredths of a
# pixel either way; that jitter is the only way a frozen, speckled frame may differ from copy-last.
SPECKLE_JITTER = 0.2  # px (trajectory) and px/frame (velocity): speckles touching a body weigh in its soft edge


def noise_frames(ep, context, seed):
    """Uniform random RGB frames for the horizon."""
    return np.random.default_rng(seed).integers(0, 256, (ep.n_frames - context,) + ep.rgb.shape[1:], dtype=np.uint8)


def speckled(frames, ep, fraction, seed):
    """frames with `fraction` of the pixels replaced by the episode's object colours, at random."""
    rng = np.random.default_rng(seed)
    out, colours = frames.copy(), np.array([o["rgb"] for o in ep.objects], np.uint8)
    hit = rng.random(out.shape[:3]) < fraction
    out[hit] = colours[rng.integers(0, len(colours), int(hit.sum()))]
    return out


@pytest.fixture(scope="module")
def gravity_eps():
    return [scenarios.generate_episode(name, s, ADV_SPEC) for name in GRAVITY for s in (0, 1)]


def test_noise_and_speckle_do_not_beat_copy_last_on_gravity(gravity_eps):
    """Specks of every colour everywhere once pulled each centroid to the image centre, which scored
    better than an honest frozen frame; now noise shows no object and a speckled frozen frame shows
    it frozen."""
    names = ["trajectory_error", "velocity_error"]
    for s, ep in enumerate(gravity_eps):
        last = copy_last(ep, ADV_CONTEXT)
        frozen = evaluate(Clip(ep, ADV_CONTEXT, last), names)
        assert frozen["trajectory_error"] > 5.0, (ep.episode_id, frozen)  # the objects really move
        for kind, frames in [("noise", noise_frames(ep, ADV_CONTEXT, s)),
                             ("speckled copy 5%", speckled(last, ep, 0.05, s)),
                             ("speckled copy 10%", speckled(last, ep, 0.10, s))]:
            bad = evaluate(Clip(ep, ADV_CONTEXT, frames), names)
            for n in names:
                assert bad[n] >= frozen[n] - SPECKLE_JITTER, (ep.episode_id, kind, n, bad[n], frozen[n])


def test_speckled_truth_still_scores_near_perfect(gravity_eps):
    """The tracker tolerates mild noise: the truth under 1% (and even 5%) speckle of the objects' colours
    keeps its trajectories to well under a pixel."""
    for s, ep in enumerate(gravity_eps):
        for fraction in (0.01, 0.05):
            v = evaluate(Clip(ep, ADV_CONTEXT, speckled(ep.rgb[ADV_CONTEXT:], ep, fraction, s)),
                         ["trajectory_error", "velocity_error", "hover_rate", "presence_accuracy"])
            assert v["trajectory_error"] < 1.0 and v["velocity_error"] < 0.5, (ep.episode_id, fraction, v)
            assert v["hover_rate"] == 0.0 and v["presence_accuracy"] == 1.0, (ep.episode_id, fraction, v)


def test_every_metric_ranks_noise_below_the_truth():
    """On every registered scenario, uniform noise is worse than the truth on every metric that applies.
    bounce_growth is one-sided (it sees only apexes that grow), and frames without an object have none,
    like the truth: it may tie."""
    one_sided = {"bounce_growth"}
    checked = set()
    for s, ep in enumerate(fixtures.registered(ADV_SPEC, seeds=(0,))):
        truth = evaluate(truth_clip(ep, ADV_CONTEXT))
        noise = evaluate(Clip(ep, ADV_CONTEXT, noise_frames(ep, ADV_CONTEXT, s)))
        for name, m in METRICS.items():
            if math.isnan(truth[name]) or name in one_sided:
                continue
            assert not math.isnan(noise[name]), (ep.episode_id, name)
            assert m.distance(noise[name]) > m.distance(truth[name]), (ep.episode_id, name, noise[name], truth[name])
            checked.add(name)
    assert checked == set(METRICS) - one_sided  # every other metric was checked somewhere
