"""Physics of the shatter scenarios: whole below the threshold, many free-falling shards above it."""
import numpy as np
import pytest

from scenarios import RenderSpec, generate_episode
from scenarios.engine import GRAVITY

SPEC = RenderSpec(height=32, width=32, fps=30, n_frames=46)  # 30 fps: enough frames of shards in flight
CLIP = RenderSpec(height=64, width=64, fps=15, n_frames=32)  # an eval task's clip: 8 context frames, 24 to predict
CONTEXT = 8
SEEDS = range(12)


def glass_series(ep):
    gid = ep.objects_with_role("glass")[0]["id"]
    return gid, ep.state(gid, "n_pieces"), ep.state(gid, "shard_positions")  # (T,), (T, n, 3)


@pytest.fixture(scope="module")
def broken():
    return generate_episode("strike", 0, SPEC, params={"impact_ratio": 2.0, "n_shards": 20})


def test_one_static_body_before_the_break_many_after(broken):
    gid, pieces, shards = glass_series(broken)
    (event,) = broken.events_of("shatter")
    k = event["frame"]
    assert 0 < k < broken.n_frames - 4
    assert event["n_shards"] == 20 and shards.shape[1:] == (20, 3)
    assert np.all(pieces[:k] == 1) and np.all(pieces[k:] == 20)
    assert np.array_equal(shards[:k], np.broadcast_to(shards[0], shards[:k].shape)), "shards static until the break"
    moved = np.linalg.norm(shards[-1] - shards[0], axis=-1)  # (n,)
    assert (moved > 0.02).sum() > 1, "after the break the shards move apart"
    assert broken.meta["params"]["breaks"] and broken.meta["objects"][gid]["n_shards"] == 20


def test_shards_fall_under_gravity(broken):
    _, _, shards = glass_series(broken)
    k = broken.events_of("shatter")[0]["frame"]
    z = shards[..., 2]  # (T, n)
    assert z[-1].mean() < z[k - 1].mean() - 0.03, "the shards' mean height drops"
    # Vertical acceleration from second differences, where a shard is well above the ground for 3 frames.
    dt = 1.0 / broken.fps
    acc = (z[k + 2:] - 2 * z[k + 1:-1] + z[k:-2]) / dt ** 2  # (T - k - 2, n), centred on frames k+1..T-2
    flying = (z[k + 2:] > 0.06) & (z[k + 1:-1] > 0.06) & (z[k:-2] > 0.06)
    assert flying.sum() >= 10
    assert np.median(acc[flying]) == pytest.approx(-GRAVITY, rel=0.05)


def test_below_threshold_stays_whole_and_the_ball_bounces():
    ep = generate_episode("below_threshold", 0, SPEC)
    _, pieces, shards = glass_series(ep)
    assert not ep.meta["params"]["breaks"] and not ep.events_of("shatter")
    assert np.all(pieces == 1)
    assert np.array_equal(shards, np.broadcast_to(shards[0], shards.shape)), "no shard ever moves"
    (impact,) = ep.events_of("impact")
    assert not impact["broke"] and impact["momentum"] < impact["break_impulse"]
    ball = ep.objects_with_role("projectile")[0]["id"]
    vy = ep.state(ball, "linear_velocity")[:, 1]
    assert vy[impact["frame"] - 1] > 0 > vy[impact["frame"]], "the ball comes back off the pane"


def test_the_threshold_decides():
    # The same throw just under and just over the break impulse: only the second one breaks.
    under, over = (generate_episode("strike", 4, SPEC, params={"impact_ratio": r}) for r in (0.9, 1.1))
    assert not under.events_of("shatter") and glass_series(under)[1].max() == 1
    assert over.events_of("shatter") and glass_series(over)[1].max() > 1
    for ep in (under, over):  # the measured momentum is the planned one
        (impact,) = ep.events_of("impact")
        assert impact["momentum"] == pytest.approx(ep.meta["params"]["impact_momentum"], rel=1e-3)


def test_strike_breaks_and_below_threshold_does_not():
    spec = RenderSpec(height=16, width=16, fps=15, n_frames=2)  # params only
    assert all(generate_episode("strike", s, spec).meta["params"]["breaks"] for s in range(40))
    assert not any(generate_episode("below_threshold", s, spec).meta["params"]["breaks"] for s in range(40))


@pytest.fixture(scope="module")
def clips():
    return {(name, s): generate_episode(name, s, CLIP) for name in ("strike", "below_threshold") for s in SEEDS}


@pytest.mark.parametrize("name", ["strike", "below_threshold"])
def test_the_ball_rolls_in_the_context_and_hits_after_it(clips, name):
    """The hit is predicted, not seen: frame 10-16, with the ball moving towards the pane in every context frame."""
    for seed in SEEDS:
        ep = clips[name, seed]
        (impact,) = ep.events_of("impact")
        assert 10 <= impact["frame"] <= 16, (seed, impact)
        ball = ep.objects_with_role("projectile")[0]["id"]
        assert ep.state(ball, "visible")[:CONTEXT].all(), seed
        xy = ep.to_pixels(ep.state(ball, "position"))  # (T, 2)
        steps = np.linalg.norm(np.diff(xy[:CONTEXT], axis=0), axis=1)  # px per frame
        assert steps.min() > 0.5 and steps.sum() > 6, (seed, steps)
        seen = (ep.seg[:CONTEXT] == ball).any(axis=(1, 2))
        assert seen.all(), seed
        assert ep.meta["params"]["hit_time"] * ep.fps == pytest.approx(impact["frame"], abs=1.0)


def test_strike_breaks_in_the_clip_and_the_shards_come_down(clips):
    for seed in SEEDS:
        ep = clips["strike", seed]
        (impact,) = ep.events_of("impact")
        (shatter,) = ep.events_of("shatter")
        assert impact["broke"] and shatter["frame"] == impact["frame"], seed
        _, pieces, shards = glass_series(ep)
        k = shatter["frame"]
        assert np.all(pieces[:k] == 1) and np.all(pieces[k:] > 1), seed
        z = shards[..., 2]  # (T, n)
        assert z[-1].mean() < z[k - 1].mean() - 0.03, ("the shards fall inside the clip", seed)


def test_below_threshold_bounces_back_inside_the_clip(clips):
    for seed in SEEDS:
        ep = clips["below_threshold", seed]
        (impact,) = ep.events_of("impact")
        _, pieces, _ = glass_series(ep)
        assert not impact["broke"] and np.all(pieces == 1) and not ep.events_of("shatter"), seed
        ball = ep.objects_with_role("projectile")[0]["id"]
        y = ep.state(ball, "position")[:, 1]  # towards the pane is +y
        assert y[-1] < y[impact["frame"]] - 0.05, ("the ball rolls back off the pane", seed)

