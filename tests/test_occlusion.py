"""Object permanence ground truth: every occlusion episode hides and shows its objects inside the
clip, the hidden objects' states go on smoothly, and the masks agree with the visibility flags."""
import numpy as np
import pytest

from scenarios import RenderSpec, generate_episode
from scenarios.engine import STATIC_ROLES
from scenarios.occlusion import PlanError
from scenarios.registry import scenarios_of

DEFAULT = RenderSpec()  # the guarantee is made for the default render
CONTEXT = 8  # frames an eval task gives the model
SEEDS = range(12)
OCCLUSION = scenarios_of("occlusion")


def movers(ep):
    return [o for o in ep.objects if o["role"] not in STATIC_ROLES]


def hidden_frames(ep, oid) -> np.ndarray:
    return np.flatnonzero(~ep.state(oid, "visible").astype(bool))


@pytest.fixture(scope="module")
def episodes():
    return {(name, seed): generate_episode(name, seed, DEFAULT) for name in OCCLUSION for seed in SEEDS}


@pytest.mark.parametrize("name", OCCLUSION)
def test_every_object_is_seen_hidden_and_seen_again_inside_the_clip(episodes, name):
    for seed in SEEDS:
        ep = episodes[name, seed]
        for o in movers(ep):
            vis = ep.state(o["id"], "visible").astype(bool)
            assert vis[0] and vis[-1], (seed, o["name"])
            occluded = [e["frame"] for e in ep.events_of("occluded") if o["id"] in e["objects"]]
            back = [e["frame"] for e in ep.events_of("reappeared") if o["id"] in e["objects"]]
            assert occluded and back, (seed, o["name"], ep.events)
            assert not ep.events_of("left_view") and not ep.events_of("entered_view")
            for f in occluded:
                assert vis[f - 1] and not vis[f]
            for f in back:          # visible again in the very frame the event names
                assert vis[f] and not vis[f - 1]
            assert (back[-1] - occluded[0]) >= 3, "hidden for several frames"


@pytest.mark.parametrize("name", OCCLUSION)
def test_objects_are_seen_at_the_start_and_reappear_after_the_context(episodes, name):
    """The context shows every object and its motion; every reappearance is left to be predicted."""
    assert DEFAULT == RenderSpec(64, 64, 15, 32)
    for seed in SEEDS:
        ep = episodes[name, seed]
        for o in movers(ep):
            vis = ep.state(o["id"], "visible").astype(bool)
            assert vis[:3].all(), (seed, o["name"])
            back = [e["frame"] for e in ep.events_of("reappeared") if o["id"] in e["objects"]]
            assert min(back) >= CONTEXT + 1 and max(back) <= DEFAULT.n_frames - 3, (seed, o["name"], back)


@pytest.mark.parametrize("name", OCCLUSION)
def test_segmentation_agrees_with_visibility(episodes, name):
    for seed in SEEDS[:4]:
        ep = episodes[name, seed]
        for o in ep.objects:
            in_seg = (ep.seg == o["id"]).any(axis=(1, 2))
            np.testing.assert_array_equal(in_seg, ep.state(o["id"], "visible").astype(bool))


@pytest.mark.parametrize("name", ["pass_behind", "multi_object"])
def test_hidden_objects_move_on_along_the_same_line(episodes, name):
    t = np.arange(DEFAULT.n_frames) / DEFAULT.fps
    for seed in SEEDS:
        ep = episodes[name, seed]
        for o in movers(ep):
            pos, vel = ep.state(o["id"], "position"), ep.state(o["id"], "linear_velocity")
            hid = hidden_frames(ep, o["id"])
            seen = np.setdiff1d(np.arange(1, len(t)), hid)  # frame 0 is before the first step settles contact
            fit = np.polyfit(t[seen], pos[seen, 0], 1)  # uniform motion fitted to the visible frames only
            assert np.abs(np.polyval(fit, t[hid]) - pos[hid, 0]).max() < 2e-3, (seed, o["name"])
            assert np.abs(vel[hid, 0] - fit[0]).max() < 2e-2
            assert np.ptp(pos[1:, 1]) < 1e-3 and np.ptp(pos[1:, 2]) < 1e-3  # stays in its lane, on the ground


@pytest.mark.parametrize("name", ["pass_behind", "multi_object"])
def test_objects_come_out_on_the_far_side(episodes, name):
    """Where the object reappears is where its motion carries it: past the occluder's middle in the image."""
    for seed in SEEDS:
        ep = episodes[name, seed]
        wall = ep.objects_with_role("occluder")[0]["id"]
        for o in movers(ep):
            pos = ep.state(o["id"], "position")
            step = np.sign(ep.to_pixels(pos[-1])[0] - ep.to_pixels(pos[1])[0])  # image direction of motion
            occluded = min(e["frame"] for e in ep.events_of("occluded") if o["id"] in e["objects"])
            back = max(e["frame"] for e in ep.events_of("reappeared") if o["id"] in e["objects"])
            centre = lambda f, i: np.argwhere(ep.seg[f] == i)[:, 1].mean()  # mask centroid column
            assert step * (centre(occluded - 1, o["id"]) - centre(occluded - 1, wall)) < 0, seed
            assert step * (centre(back, o["id"]) - centre(back, wall)) > 0, seed


def test_a_passing_occluder_leaves_the_object_where_it_was(episodes):
    for seed in SEEDS:
        ep = episodes["occluder_passes", seed]
        obj, wall = ep.objects_with_role("object")[0]["id"], ep.objects_with_role("occluder")[0]["id"]
        pos = ep.state(obj, "position")
        assert np.abs(pos - pos[0]).max() < 2e-3
        wx = ep.state(wall, "position")[:, 0]
        assert np.ptp(np.diff(wx)) < 1e-5 and abs(np.diff(wx).mean()) > 0.01  # scripted at a constant speed


def test_the_count_of_objects_in_view_drops_and_recovers(episodes):
    for seed in SEEDS:
        ep = episodes["multi_object", seed]
        ids = {o["id"] for o in movers(ep)}
        count = np.array([len(ids & set(np.unique(s).tolist())) for s in ep.seg])
        assert count[0] == len(ids) and count[-1] == len(ids) and count.min() < len(ids), (seed, count)



def test_impossible_parameters_fail_with_one_clear_error():
    with pytest.raises(PlanError, match="no speed"):
        generate_episode("pass_behind", 0, RenderSpec(height=16, width=16, n_frames=4), params={"hidden_span": 40.0})
    assert issubclass(PlanError, ValueError)
