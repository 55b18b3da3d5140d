"""The HD suite's look: textures and shadows really show in TinyRenderer images, the physics is the same
as the flat look's, and the colour-keyed tracker finds the objects on lit, textured frames."""
from dataclasses import replace

import numpy as np
import pytest

import scenarios.look as look
from physics_evals.tasks import SUITES, suite_tasks
from physics_evals.tracker import validate
from scenarios import RenderSpec, generate_episode

HD = SUITES["hd"]
SEED = 1_000_123


def _studio(h, w):
    # 8 fps for 1.4 s: the tracker sees every frame alone, so a sparse clip that reaches past the key events
    # (a reappearance, a pane shattering at 0.7-1.0 s) checks as much as the suite's 24 fps at a third of the cost
    return RenderSpec(height=h, width=w, fps=8, n_frames=12, look=HD.look)


@pytest.mark.parametrize("scenario,h,w", [("free_fall", 256, 256), ("pass_behind", 256, 448), ("bite", 256, 256),
                                          ("strike", 256, 448)])
def test_tracker_masks_match_the_true_segmentation_on_hd_frames(scenario, h, w):
    ep = generate_episode(scenario, SEED, _studio(h, w))
    if scenario == "strike":
        assert ep.events_of("shatter"), "the pane must break inside the clip"
    report = validate(ep.rgb, ep.seg, ep.objects)
    assert report, "no trackable object"
    for oid, r in report.items():
        assert r["iou"] >= 0.95, (scenario, oid, r)
        assert r["presence_agreement"] == 1.0, (scenario, oid, r)


def test_floor_and_wall_textures_show_and_stay_unkeyable():
    flat = generate_episode("free_fall", SEED, RenderSpec(height=128, width=128, n_frames=2))
    hd = generate_episode("free_fall", SEED, RenderSpec(height=128, width=128, n_frames=2, look="studio"))
    bg_flat, bg_hd = flat.rgb[0][flat.seg[0] < 0], hd.rgb[0][hd.seg[0] < 0]   # (N, 3) scenery pixels
    # flat shading draws the ground and sky in a handful of shades; textures give hundreds
    assert len(np.unique(bg_flat, axis=0)) < 40
    assert len(np.unique(bg_hd, axis=0)) > 400
    # the wall fills the sky: no pure-white background left
    assert (bg_hd.min(axis=1) >= 250).mean() < 0.01 < (bg_flat.min(axis=1) >= 250).mean()
    # scenery stays unsaturated, so it never keys as an object (tracker threshold 110 of 255)
    spread = bg_hd.max(axis=1).astype(int) - bg_hd.min(axis=1)
    assert (spread / np.maximum(bg_hd.max(axis=1), 1) * 255).max() < 110


def test_shadows_darken_the_floor(monkeypatch):
    spec = RenderSpec(height=128, width=128, n_frames=1, look="studio")
    lit = generate_episode("rest_on_support", SEED, spec)
    monkeypatch.setitem(look.LOOKS, "studio", replace(look.LOOKS["studio"], shadow=False))
    unlit = generate_episode("rest_on_support", SEED, spec)
    darker = unlit.rgb[0].astype(int).sum(-1) - lit.rgb[0].astype(int).sum(-1)  # (H, W)
    scenery = lit.seg[0] < 0
    assert (darker[scenery] > 60).sum() > 50   # a shadow: a patch of floor clearly darker
    assert (darker[~scenery] >= 0).all()       # and shadows only ever darken


def test_the_look_leaves_the_physics_unchanged():
    a = generate_episode("bounce", SEED, RenderSpec(height=32, width=32, n_frames=24))
    b = generate_episode("bounce", SEED, RenderSpec(height=32, width=32, n_frames=24, look="studio"))
    assert a.meta["params"] == b.meta["params"]
    for oid in a.meta["states"]:
        assert a.meta["states"][oid]["position"] == b.meta["states"][oid]["position"]
    assert b.meta["render"]["look"] == "studio"


def test_an_unknown_look_is_one_clear_error():
    with pytest.raises(ValueError, match="look must be one of flat, studio"):
        RenderSpec(look="sunset")


@pytest.mark.parametrize("suite", ["hd", "hd-full"])
def test_hd_suite_sizes_rate_and_horizon(suite):
    tasks = suite_tasks(suite)
    sizes = {(t.height, t.width) for t in tasks.values()}
    assert sizes == {(256, 256), (256, 448)}
    for t in tasks.values():
        assert t.fps == 24 and t.horizon / t.fps >= 2.0 and t.look == "studio"
        assert t.episodes_root("r").name.endswith("-studio")
    assert suite_tasks("hd-full")["gravity-drop-hd"].n_episodes > suite_tasks("hd")["gravity-drop-hd"].n_episodes
    # the 64x64 suites are untouched: their episode folders keep their names
    assert suite_tasks("default")["gravity-drop"].episodes_root("r").name == "64x64-15fps-32f-240hz"
