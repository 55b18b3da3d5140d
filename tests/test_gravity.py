"""Physics of the gravity family, checked against the laws it must obey (tiny renders)."""
import math

import numpy as np
import pytest

from scenarios import RenderSpec, generate_episode
from scenarios.engine import GRAVITY
from scenarios.registry import scenarios_of

SMALL = RenderSpec(height=32, width=32, n_frames=16)
DT = 1.0 / SMALL.sim_hz                 # physics step (s)
FRAME = 1.0 / SMALL.fps                 # time between frames (s)


def first_contact(ep, oid=0) -> int:
    return min(e["frame"] for e in ep.events_of("contact") if oid in e["objects"])


def release_of(ep, oid=0) -> tuple[int, float]:
    """(frame, time in s) of the object's release: the first frame that shows it moving."""
    (e,) = [e for e in ep.events_of("release") if oid in e["objects"]]
    return e["frame"], e["time"]


def test_free_fall_follows_half_g_t_squared_until_contact():
    ep = generate_episode("free_fall", 0, SMALL, params={"shape": "sphere", "size": 0.1, "height": 1.0})
    z = ep.state(0, "position")[:, 2]
    c = first_contact(ep)
    r, t_release = release_of(ep)
    assert np.all(z[:r] == 1.0), "held exactly still until the release"
    assert c - r >= 5, "the fall should last several frames"
    t = np.maximum(np.arange(c) * FRAME - t_release, 0.0)  # time since the release (s)
    n = np.round(t / DT)  # physics steps taken since the release
    # Bullet integrates semi-implicitly: z_n = h0 - g dt^2 n(n+1)/2 exactly ...
    assert np.abs(z[:c] - (1.0 - GRAVITY * DT ** 2 * n * (n + 1) / 2)).max() < 1e-5
    # ... which lies below the analytic law by 1/2 g t dt, and by no more
    lag = (1.0 - 0.5 * GRAVITY * t ** 2) - z[:c]
    assert np.all(lag >= -1e-5) and np.all(lag <= 0.5 * GRAVITY * t * DT + 1e-5)
    # contact comes in the frame after the analytic time of touching the ground
    t_touch = t_release + math.sqrt(2 * (1.0 - 0.1) / GRAVITY)
    assert abs(c - t_touch / FRAME) <= 1.0


def test_free_fall_does_not_depend_on_mass():
    light = generate_episode("free_fall", 1, SMALL, params={"mass": 0.1, "height": 1.0})
    heavy = generate_episode("free_fall", 1, SMALL, params={"mass": 10.0, "height": 1.0})
    c = first_contact(light)
    assert first_contact(heavy) == c
    np.testing.assert_allclose(light.state(0, "position")[:c], heavy.state(0, "position")[:c], atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_projectile_flies_a_parabola(seed):
    ep = generate_episode("projectile", seed, SMALL)
    c, (r, _) = first_contact(ep), release_of(ep)
    assert c - r >= 4, "the flight should last several frames"
    pos, vel = ep.state(0, "position")[r:c], ep.state(0, "linear_velocity")[r:c]  # in flight
    vx = np.diff(pos[:, 0]) / FRAME
    assert np.ptp(vx) < 1e-3 and abs(vx.mean() - vel[0, 0]) < 1e-3       # horizontal velocity constant
    az = np.diff(pos[:, 2], 2) / FRAME ** 2
    np.testing.assert_allclose(az, -GRAVITY, atol=0.01)                  # vertical acceleration -g
    assert abs(vel[0, 0]) > 0.5                                          # it was thrown, not dropped


def test_projectile_flight_does_not_depend_on_mass():
    a = generate_episode("projectile", 4, SMALL, params={"mass": 0.1})
    b = generate_episode("projectile", 4, SMALL, params={"mass": 5.0})
    c = first_contact(a)
    np.testing.assert_allclose(a.state(0, "position")[:c], b.state(0, "position")[:c], atol=1e-6)


@pytest.mark.parametrize("angle", [12.0, 25.0])
def test_ramp_ball_rolls_at_five_sevenths_g_sin_theta(angle):
    ep = generate_episode("ramp_roll", 0, SMALL, params={"angle": angle, "length": 0.9, "direction": "right"})
    ball = ep.objects_with_role("projectile")[0]["id"]
    pos = ep.state(ball, "position")
    th = math.radians(angle)
    on_ramp = pos[:, 0] < -0.15  # the surface ends at x = 0; leave the ball's last stretch out
    on_ramp[:release_of(ep, ball)[0]] = False  # rolling: from the release on
    assert on_ramp.sum() >= 6
    s = pos[on_ramp, 0] / math.cos(th)  # distance along the slope
    t = np.flatnonzero(on_ramp) * FRAME
    accel = 2 * np.polyfit(t, s, 2)[0]
    rolling, sliding = 5 / 7 * GRAVITY * math.sin(th), GRAVITY * math.sin(th)
    assert abs(accel - rolling) < 0.04 * rolling, (accel, rolling)
    assert abs(accel - sliding) > 0.2 * sliding  # tells rolling from sliding


def ballistic_apexes(ep, oid=0) -> list[float]:
    """The apex height of the centre after each bounce, from position and upward velocity in flight."""
    z, vz = ep.state(oid, "position")[:, 2], ep.state(oid, "linear_velocity")[:, 2]
    contacts = sorted(e["frame"] for e in ep.events_of("contact") if oid in e["objects"])
    apexes = []
    for a, b in zip(contacts, contacts[1:] + [len(z)]):
        rising = [t for t in range(a, b) if vz[t] > 0.05]
        if rising:
            apexes.append(max(z[t] + vz[t] ** 2 / (2 * GRAVITY) for t in rising))
    return apexes


@pytest.mark.parametrize("seed", range(6))
def test_bounces_never_grow(seed):
    ep = generate_episode("bounce", seed, RenderSpec(height=32, width=32, n_frames=32))
    apexes = ballistic_apexes(ep)
    assert len(apexes) >= 1
    assert apexes[0] < ep.meta["params"]["height"]
    assert all(b <= a + 1e-3 for a, b in zip(apexes, apexes[1:])), apexes


def test_a_lively_ball_bounces_several_times():
    ep = generate_episode("bounce", 0, RenderSpec(height=32, width=32, n_frames=32),
                          params={"restitution": 0.85, "height": 0.8})
    assert len(ballistic_apexes(ep)) >= 3


@pytest.mark.parametrize("seed", range(8))
def test_rest_on_support_ends_at_rest_on_top(seed):
    ep = generate_episode("rest_on_support", seed, RenderSpec(height=32, width=32, n_frames=32))
    support, obj = ep.objects_with_role("support")[0], ep.objects_with_role("projectile")[0]
    pos, vel = ep.state(obj["id"], "position"), ep.state(obj["id"], "linear_velocity")
    assert abs(pos[-1, 2] - (support["top"] + obj["half_height"])) < 5e-3       # on the top, not in it
    assert np.abs(pos[-1, :2]).max() < support["half_width"]                     # inside its footprint
    assert np.linalg.norm(vel[-3:], axis=1).max() < 0.02                         # at rest
    assert any(e["frame"] > 0 for e in ep.events_of("contact") if obj["id"] in e["objects"])



@pytest.mark.parametrize("name", scenarios_of("gravity"))
def test_moving_object_stays_in_view(name):
    ep = generate_episode(name, 3, RenderSpec(height=32, width=32, n_frames=32))
    for o in ep.objects_with_role("projectile"):
        assert ep.state(o["id"], "visible").all()


# -- timing against an eval task's clip: 8 context frames, then 24 to predict ---------------------
CLIP = RenderSpec(height=64, width=64, fps=15, n_frames=32)
CONTEXT = 8
SEEDS = range(12)


@pytest.fixture(scope="module")
def clips():
    return {(name, s): generate_episode(name, s, CLIP) for name in scenarios_of("gravity") for s in SEEDS}


def moving_id(ep) -> int:
    return ep.objects_with_role("projectile")[0]["id"]


@pytest.mark.parametrize("name", scenarios_of("gravity"))
def test_held_exactly_still_then_moving_from_the_release_frame(clips, name):
    for seed in SEEDS:
        ep = clips[name, seed]
        obj = moving_id(ep)
        r, t_release = release_of(ep, obj)
        step = round(t_release * CLIP.sim_hz)  # the physics step that releases it
        assert r == step // CLIP.steps_per_frame + 1, seed  # the first frame rendered after that step
        pos, vel = ep.state(obj, "position"), ep.state(obj, "linear_velocity")
        assert (pos[:r] == pos[0]).all() and (vel[:r] == 0).all(), seed        # held: exactly still
        assert np.linalg.norm(pos[r] - pos[0]) > 0 and np.linalg.norm(vel[r]) > 0.01, seed
        assert (ep.rgb[:r] == ep.rgb[0]).all(), seed                             # the picture too


@pytest.mark.parametrize("name", scenarios_of("gravity"))
def test_the_context_shows_rest_then_the_start_of_the_motion(clips, name):
    """Like a Physics-IQ switch frame: at rest for at least 5 frames, then 1-3 frames of motion."""
    for seed in SEEDS:
        ep = clips[name, seed]
        obj = moving_id(ep)
        r, _ = release_of(ep, obj)
        assert 5 <= r <= CONTEXT - 1, (seed, r)
        assert (ep.seg[:CONTEXT] == obj).any(axis=(1, 2)).all(), seed
        if name in ("free_fall", "projectile", "bounce"):  # falls and throws move visibly; a ramp starts slowly
            xy = ep.to_pixels(ep.state(obj, "position")[[0, CONTEXT - 1]])
            assert np.linalg.norm(xy[1] - xy[0]) > 1.5, seed  # pixels (the least over 60 seeds: 1.9 for a drop)


@pytest.mark.parametrize("name", scenarios_of("gravity"))
def test_the_moving_object_stays_in_view_in_every_clip(clips, name):
    for seed in SEEDS:
        ep = clips[name, seed]
        assert ep.state(moving_id(ep), "visible").all(), seed


@pytest.mark.parametrize("name", ["free_fall", "projectile", "bounce", "rest_on_support"])
def test_the_first_landing_comes_after_the_context(clips, name):
    for seed in SEEDS:
        ep = clips[name, seed]
        assert first_contact(ep, moving_id(ep)) >= CONTEXT + 1, seed


def test_the_ramp_ball_reaches_the_ground_after_the_context(clips):
    for seed in SEEDS:
        ep = clips["ramp_roll", seed]
        d = 1 if ep.meta["params"]["direction"] == "right" else -1
        x = d * ep.state(moving_id(ep), "position")[:, 0]  # downhill; the ramp's surface ends at 0
        assert x[CONTEXT] < 0 < x[-1], seed
