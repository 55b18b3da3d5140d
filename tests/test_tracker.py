"""The colour tracker against the true segmentation, and against physics."""
import numpy as np
import pytest

import scenarios
from physics_evals import tracker
import stub_scenes as fixtures
from physics_evals.metrics.motion import fitted_acceleration, free_flight_window
from physics_evals.metrics.base import Clip

SPEC = scenarios.RenderSpec(height=64, width=64, fps=15, n_frames=16)
DROP = {"height": 1.5, "restitution": 0.6, "release": 0.0}  # falling from frame 0, then a bounce


@pytest.fixture(scope="module")
def episodes():
    eps = [scenarios.generate_episode("free_fall", s, SPEC, params=DROP) for s in range(3)]
    return eps + [fixtures.episode(n, 0, SPEC) for n in fixtures.STUBS]


def test_tracker_matches_true_masks(episodes):
    checked = 0
    for ep in episodes:
        for oid, v in tracker.validate(ep.rgb, ep.seg, ep.objects).items():
            assert v["iou"] > 0.9, (ep.episode_id, oid, v)
            assert v["centroid_error_px"] < 0.5 and v["max_centroid_error_px"] < 1.0, (ep.episode_id, oid, v)
            assert v["presence_agreement"] >= 0.9, (ep.episode_id, oid, v)
            checked += v["n_visible_frames"] > 0
    assert checked >= 8  # objects of every family were actually seen


def test_shading_changes_nothing(episodes):
    ep = episodes[0]
    darker = (ep.rgb.astype(np.float32) * 0.7).astype(np.uint8)  # brightness, not hue
    a, b = tracker.track(ep.rgb, ep.objects), tracker.track(darker, ep.objects)
    obj = b.mask[:, 0]
    assert (a.mask[:, 0] == obj).mean() > 0.999 and obj.any()


def test_unsaturated_objects_are_not_keyed_and_ground_is_not_an_object(episodes):
    brush = next(ep for ep in episodes if ep.scenario == "stub_brush")
    tr = tracker.track(brush.rgb, brush.objects)
    canvas = brush.objects_with_role("canvas")[0]["id"]
    assert not tr.trackable[tr.index(canvas)] and not tr.present[:, tr.index(canvas)].any()
    assert (tr.n_unknown == 0).all()  # sky, ground and canvas never key as anything


def test_pieces_specks_and_unknown_colours():
    objects = [{"id": 0, "rgb": [230, 26, 26], "role": "glass"}]  # a role that may be in pieces
    rgb = np.full((3, 32, 32, 3), 200, np.uint8)
    rgb[:, 2:6, 2:6] = (230, 26, 26)        # a piece
    rgb[:, 20:24, 20:26] = (150, 17, 17)     # another piece of the same colour, in shadow
    rgb[:, 12, 12] = (230, 26, 26)           # a one-pixel speck: not an object
    rgb[:, 28:31, 2:5] = (26, 64, 242)       # a solid blue blob over three frames: no object has that colour
    rgb[1, 8, 20:30] = (26, 64, 242)         # a one-pixel line of it: an edge fringe, not an object
    tr = tracker.track(rgb, objects)
    assert tr.n_components[0, 0] == 2 and tr.mask[0, 0].sum() == 16 + 24 and (tr.n_unknown == 1).all()
    # soft area counts coverage relative to the object's mean chroma over its pixels (no 5x5 interior
    # here): the pieces' weights average 1 and keep the ratio of their chroma (shadow 133 vs lit 204)
    lit, shadow = tr.weight[0, 0, 3, 3], tr.weight[0, 0, 21, 21]
    assert (16 * lit + 24 * shadow) / 40 == pytest.approx(1.0, abs=0.01)
    assert shadow / lit == pytest.approx(133 / 204, abs=0.01) and lit < tracker.TrackerConfig().max_coverage
    assert tr.area[0, 0] == pytest.approx(16 * lit + 24 * shadow, abs=0.5)
    once = rgb.copy()
    once[1:, 28:31, 2:5] = 200               # the blob for one frame only: codec flicker, not an object
    assert (tracker.track(once, objects).n_unknown == 0).all()
    xs = np.r_[np.tile(np.arange(2, 6), 4), np.tile(np.arange(20, 26), 4)]
    w = np.r_[np.full(16, lit), np.full(24, shadow)]   # each piece weighs its coverage
    assert tr.centroid[0, 0, 0] == pytest.approx(np.average(xs, weights=w))


def test_a_body_follows_its_blob_not_specks_of_its_colour():
    ball = {"id": 0, "rgb": [230, 26, 26], "role": "projectile"}
    rgb = np.full((3, 32, 32, 3), 200, np.uint8)
    rgb[:, 4:10, 4:10] = ball["rgb"]                      # the ball: 36 px
    rgb[0, 25:27, 25:27] = ball["rgb"]                    # a 4 px blob of its colour far away: not the ball
    rgb[1, 4:10, 6] = (200, 200, 200)                     # a thin thing in front cuts the ball in two
    rgb[2, 25:27, 25:27] = ball["rgb"]                    # ... and as a shard role, both would count
    tr = tracker.track(rgb, [ball])
    assert tr.centroid[0, 0] == pytest.approx([6.5, 6.5]) and tr.n_components[0, 0] == 1
    assert tr.n_components[1, 0] == 2 and tr.area[1, 0] == 30  # both halves are the ball
    assert tracker.track(rgb, [{**ball, "role": "glass"}]).n_components[2, 0] == 2


def test_colour_scattered_over_many_small_pieces_is_no_object():
    """Noise has every colour everywhere in comparable little clusters: no blob among them is the object.
    Its centroid would be the image centre; the tracker reports it absent instead."""
    ep = scenarios.generate_episode("free_fall", 0, SPEC)
    noise = np.random.default_rng(0).integers(0, 256, (8, 64, 64, 3), dtype=np.uint8)
    assert not tracker.track(noise, ep.objects).present.any()
    speckle = ep.rgb.copy()
    hit = np.random.default_rng(1).random(speckle.shape[:3]) < 0.05
    speckle[hit] = ep.objects[0]["rgb"]                   # 5% of the pixels in the ball's colour
    a, b = tracker.track(ep.rgb, ep.objects), tracker.track(speckle, ep.objects)
    assert b.present.all() and np.abs(a.centroid - b.centroid).max() < 0.5  # px: the blob stands out


def test_speck_size_scales_with_the_image():
    cfg = tracker.TrackerConfig()
    assert cfg.min_area(64, 64) == 2 and cfg.min_area(256, 256) == 32 and cfg.min_area(16, 16) == 2


def test_absent_objects_have_nan_centroids():
    tr = tracker.track(np.full((2, 8, 8, 3), 255, np.uint8), [{"id": 3, "rgb": [26, 64, 242]}])
    assert not tr.present.any() and np.isnan(tr.centroid).all() and tr.ids == [3]


def test_bad_frames_raise_one_clear_error():
    with pytest.raises(ValueError, match="uint8"):
        tracker.track(np.zeros((2, 8, 8, 3), np.float32), [])


def test_tracked_fall_follows_gravity(episodes):
    """Physics, not the tracker's own output: the world height follows h0 - g t^2 / 2, and the
    acceleration fitted to tracked centroids is the projected one of the simulated positions."""
    for ep in episodes[:3]:
        window = list(free_flight_window(Clip(ep, 2, ep.rgb[2:]), 0))
        assert len(window) >= 7
        t = np.arange(ep.n_frames) / ep.fps
        z = ep.state(0, "position")[:, 2]
        assert np.abs(z[window] - (z[0] - 0.5 * 9.81 * t[window] ** 2)).max() < 0.02  # m (Euler stepping)
        tracked = tracker.track(ep.rgb, ep.objects).centroid[window, 0]
        projected = ep.to_pixels(ep.state(0, "position"))[window]
        a_tracked, a_true = fitted_acceleration(tracked), fitted_acceleration(projected)
        assert a_true[1] > 0.5  # px/frame^2, downwards in the image
        assert np.linalg.norm(a_tracked - a_true) / np.linalg.norm(a_true) < 0.1


def test_tracker_matches_true_masks_on_every_registered_scenario():
    for ep in fixtures.registered(SPEC, seeds=(0,)):
        for oid, v in tracker.validate(ep.rgb, ep.seg, ep.objects).items():
            assert v["iou"] > 0.9 and v["max_centroid_error_px"] < 1.0, (ep.episode_id, oid, v)
            assert v["presence_agreement"] >= 0.9, (ep.episode_id, oid, v)
