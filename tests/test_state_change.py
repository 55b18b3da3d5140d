"""Physics of the state_change scenarios: bites only remove food, paint only accumulates and stays."""
import numpy as np
import pytest

from scenarios import RenderSpec, generate_episode

SPEC = RenderSpec(height=32, width=32, n_frames=16)


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


@pytest.mark.parametrize("name", ["bite", "brush"])
def test_same_seed_identical_different_seed_differs(name):
    a, b, c = (generate_episode(name, s, SPEC) for s in (5, 5, 6))
    for key in ("rgb", "seg", "depth"):
        assert getattr(a, key).tobytes() == getattr(b, key).tobytes()
    assert a.meta["states"] == b.meta["states"] and a.meta["events"] == b.meta["events"]
    assert a.rgb.tobytes() != c.rgb.tobytes() and a.meta["params"] != c.meta["params"]
