"""Physics of the state_change scenarios: bites only remove food, paint only accumulates and stays."""
import numpy as np
import pytest

from scenarios import RenderSpec, generate_episode

SPEC = RenderSpec(height=32, width=32, n_frames=32)  # bites and strokes are timed in seconds for 32 frames at 15 fps
CLIP = RenderSpec(height=64, width=64, fps=15, n_frames=32)  # an eval task's clip: 8 context frames, 24 to predict
CONTEXT = 8
SEEDS = range(12)


def drop_frames(series) -> set[int]:
    """Frames at which a per-frame series goes down."""
    return set((np.flatnonzero(np.diff(np.asarray(series, float)) < 0) + 1).tolist())


def heals(area: np.ndarray, bite_frames: list[int]) -> bool:
    """True when the food's seg area after a bite grows back to at least its largest area before it.

    Taking the largest area over each stretch between bites discounts the biter's passing occlusion."""
    cuts = [0, *sorted(bite_frames), len(area)]
    best = [area[a:b].max() for a, b in zip(cuts[:-1], cuts[1:]) if b > a]
    return any(later >= earlier for earlier, later in zip(best[:-1], best[1:])) or area[-1] >= area[0]


@pytest.fixture(scope="module")
def bite():
    return generate_episode("bite", 3, SPEC, params={"n_bites": 3})


def test_bite_volume_drops_at_each_bite_and_only_then(bite):
    food = bite.objects_with_role("food")[0]["id"]
    volume = bite.state(food, "remaining_volume")
    events = bite.events_of("bite")
    assert len(events) == 3
    assert np.all(np.diff(volume) <= 0), "remaining volume must never increase"
    assert drop_frames(volume) == {e["frame"] for e in events}
    for e in events:  # each drop is exactly the bite's removed volume
        assert volume[e["frame"] - 1] - volume[e["frame"]] == pytest.approx(e["removed_volume"], abs=1e-9)
    assert volume[0] == pytest.approx(bite.objects[food]["n_voxels"] * bite.objects[food]["voxel"] ** 3)
    bites = bite.state(food, "bites")
    assert bites[0] == 0 and bites[-1] == 3 and drop_frames(-bites) == {e["frame"] for e in events}


def test_bite_marks_stay_in_the_masks(bite):
    food = bite.objects_with_role("food")[0]["id"]
    area = (bite.seg == food).sum(axis=(1, 2))
    frames = [e["frame"] for e in bite.events_of("bite")]
    assert not heals(area, frames)
    healed = area.copy()
    healed[frames[-1]:] = area[0]  # the violation: the last bite grows back
    assert heals(healed, frames)


@pytest.fixture(scope="module")
def brush():
    return generate_episode("brush", 1, SPEC, params={"n_strokes": 2, "stroke_shape": "curved"})


def test_painted_area_only_grows_during_strokes_and_persists(brush):
    canvas = brush.objects_with_role("canvas")[0]["id"]
    area = brush.state(canvas, "painted_area")
    assert np.all(np.diff(area) >= 0), "painted area must never decrease"
    assert area[0] == 0 and area[-1] > 0
    strokes = brush.events_of("stroke")
    assert [e["phase"] for e in strokes] == ["start", "end", "start", "end"]
    grows = set((np.flatnonzero(np.diff(area) > 0) + 1).tolist())
    windows = set().union(*(range(s["frame"], e["frame"] + 1) for s, e in zip(strokes[::2], strokes[1::2])))
    assert grows and grows <= windows, "paint appears only while a stroke is being made"


def test_paint_stays_after_the_brush_is_gone(brush):
    ids = {o["role"]: o["id"] for o in brush.objects}
    last_end = brush.events_of("stroke")[-1]["frame"]
    assert not (brush.seg[-1] == ids["brush"]).any(), "the brush leaves at the end"
    paint = (brush.seg == ids["paint"]).sum(axis=(1, 2))
    assert paint[-1] > 0 and paint[-1] >= paint[last_end]


def test_straight_stroke_area_is_a_capsule():
    # One straight stroke of length L and width w covers about a capsule, L w + pi w^2 / 4.
    ep = generate_episode("brush", 0, SPEC, params={"n_strokes": 1, "stroke_shape": "straight"})
    paint = ep.objects_with_role("paint")[0]
    (stroke,) = paint["strokes"]
    length = np.linalg.norm(np.subtract(stroke["end"], stroke["start"]))
    w = paint["width"]
    area = ep.state(ep.objects_with_role("canvas")[0]["id"], "painted_area")[-1]
    assert area == pytest.approx(length * w + np.pi * w * w / 4, rel=0.08)


@pytest.fixture(scope="module")
def clips():
    return {(name, s): generate_episode(name, s, CLIP) for name in ("bite", "brush") for s in SEEDS}


def test_the_biter_approaches_in_the_context_and_bites_after_it(clips):
    for seed in SEEDS:
        ep = clips["bite", seed]
        food, biter = ep.objects_with_role("food")[0]["id"], ep.objects_with_role("biter")[0]["id"]
        frames = [e["frame"] for e in ep.events_of("bite")]
        assert len(frames) == ep.meta["params"]["n_bites"], seed
        assert frames[0] >= CONTEXT + 1 and frames[-1] <= 26, (seed, frames)
        volume = ep.state(food, "remaining_volume")
        assert volume[CONTEXT - 1] == volume[0] > volume[-1], seed  # nothing eaten in the context, some by the end
        # the biter is in view and comes closer to the food during the context
        assert (ep.seg[:CONTEXT] == biter).any(axis=(1, 2)).all(), seed
        gap = np.linalg.norm(ep.state(biter, "position")[:CONTEXT, :2] - ep.state(food, "position")[0, :2], axis=1)
        assert np.all(np.diff(gap) < 0) and gap[0] - gap[-1] > 0.05, (seed, gap)
        xy = ep.to_pixels(ep.state(biter, "position")[[0, CONTEXT - 1]])
        assert np.linalg.norm(xy[1] - xy[0]) > 5, seed  # pixels


def test_painting_goes_on_after_the_context_and_the_brush_leaves(clips):
    for seed in SEEDS:
        ep = clips["brush", seed]
        ids = {o["role"]: o["id"] for o in ep.objects}
        area = ep.state(ids["canvas"], "painted_area")
        assert area[-1] > 1.5 * area[CONTEXT - 1], (seed, "most of the paint is laid after the context")
        ends = [e["frame"] for e in ep.events_of("stroke") if e["phase"] == "end"]
        assert ends[-1] >= CONTEXT + 6, seed
        seen = (ep.seg == ids["brush"]).any(axis=(1, 2))
        assert seen[:CONTEXT].all() and not seen[-4:].any(), (seed, seen)

