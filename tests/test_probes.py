"""Violation-of-expectation probes: each applies where its violation can happen, tampers only what it
says, and is ranked below the truth by every metric that must catch it."""
import numpy as np
import pytest

import scenarios
from physics_evals import probes, tracker
from physics_evals.metrics import METRICS
import stub_scenes as fixtures

SPEC = scenarios.RenderSpec(height=64, width=64, fps=15, n_frames=16)
CONTEXT = 4


@pytest.fixture(scope="module")
def episodes():
    drops = [scenarios.generate_episode("free_fall", s, SPEC, params={"height": 1.5}) for s in range(2)]
    return drops + [fixtures.episode(n, s, SPEC) for n in fixtures.STUBS for s in range(2)]


def test_every_probe_is_ranked_below_the_truth(episodes):
    report = probes.probe_report(episodes, CONTEXT)
    assert set(report) == set(probes.PROBES)  # every kind applied somewhere
    for kind, r in report.items():
        assert r["n_pairs"] >= 2, kind
        assert r["accuracy"] == 1.0, (kind, r)
    assert probes.probe_accuracy(episodes[:1], CONTEXT) == {"float": 1.0, "spawn": 1.0}


def test_every_probe_is_ranked_below_the_truth_on_registered_scenarios():
    spec = scenarios.RenderSpec(height=64, width=64, fps=15, n_frames=32)
    report = probes.probe_report(fixtures.registered(spec, seeds=(0, 1)), context=8)
    assert {"spawn", "float"} <= set(report)
    for kind, r in report.items():
        assert r["accuracy"] == 1.0, (kind, r)


def test_probes_name_real_metrics_and_apply_only_where_they_can(episodes):
    for p in probes.PROBES.values():
        assert p.catches and all(m in METRICS for m in p.catches), p.kind
    drop = episodes[0]
    for kind in ("vanish", "late", "elsewhere", "heal", "fade", "never_break", "unbreak"):
        assert probes.PROBES[kind].make(drop, CONTEXT) is None, kind
    below = next(ep for ep in episodes if ep.scenario == "stub_below_threshold")
    assert probes.never_break(below, CONTEXT) is None and probes.unbreak(below, CONTEXT) is None


def test_twins_are_horizon_frames_and_differ_only_after_the_violation(episodes):
    ep = next(ep for ep in episodes if ep.scenario == "stub_pass_behind")
    r = next(e["frame"] for e in ep.events_of("reappeared"))
    for kind in ("vanish", "late", "elsewhere"):
        twin = probes.PROBES[kind].make(ep, CONTEXT)
        assert twin.shape == (ep.n_frames - CONTEXT,) + ep.rgb.shape[1:] and twin.dtype == np.uint8
        assert (twin[: r - CONTEXT] == ep.rgb[CONTEXT:r]).all(), kind
        assert (twin[r - CONTEXT:] != ep.rgb[r:]).any(), kind


def test_background_removes_an_object_and_keeps_the_rest(episodes):
    ep = next(ep for ep in episodes if ep.scenario == "stub_pass_behind")
    ball, wall = ep.objects_with_role("projectile")[0]["id"], ep.objects_with_role("occluder")[0]["id"]
    tr = tracker.track(probes.background(ep, ball), ep.objects)
    assert not tr.present[:, tr.index(ball)].any()
    # the tracker's area sums soft pixel weights, whose last bits follow the CPU's code paths
    # (694.00000923 for 694 pixels on an AVX2-only EPYC)
    np.testing.assert_allclose(tr.area[:, tr.index(wall)], (ep.seg == wall).sum(axis=(1, 2)), rtol=0, atol=1e-3)
