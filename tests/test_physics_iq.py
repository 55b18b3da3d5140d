"""Physics-IQ metrics against values computed by hand from the published algorithm."""
import cv2
import numpy as np
import pytest

import scenarios
from physics_evals.metrics import Clip, METRICS, physics_iq_score
from physics_evals.metrics import physics_iq as piq
import stub_scenes as fixtures


def _video(frames):
    g = np.asarray(frames, np.uint8)  # (T, H, W) grey
    return np.repeat(g[..., None], 3, axis=-1)


def test_running_average_threshold_and_empty_first_mask():
    """A 12x12 square of grey 200 appears on black and stays. Inside it (away from the blur) the
    background after k frames is round(200 (1 - 0.7^k)) (alpha 0.3, updated before comparing), so
    the difference is 140, 98, 69, 48, 34, 24, 16, 12, then 8 <= 10: in motion for 8 frames."""
    frames = np.zeros((11, 32, 32), np.uint8)
    frames[1:, 10:22, 10:22] = 200
    m = piq.motion_masks(_video(frames))
    assert not m[0].any()
    inside = m[:, 13:19, 13:19].all(axis=(1, 2))
    assert inside.tolist() == [False] + [True] * 8 + [False] * 2
    assert not m[1, :5].any() and not m[1, :, 27:].any()  # far from the square nothing moves


def test_opening_removes_specks_at_scale_one_and_upscaling_keeps_them():
    frames = np.zeros((3, 32, 32), np.uint8)
    frames[1:, 15:17, 15:17] = 255  # a 2x2 object: after the blur, still narrower than the 5x5 opening
    assert not piq.motion_masks(_video(frames)).any()
    assert piq.motion_masks(_video(frames), scale=4)[1, 15:17, 15:17].all()
    assert piq.mask_scale(64, 64) == 4 and piq.mask_scale(512, 1024) == 1


def test_ious_and_mse_by_hand():
    m1 = np.array([[[1, 0], [0, 0]], [[1, 1], [0, 0]]], bool)
    m2 = np.array([[[0, 0], [0, 0]], [[1, 0], [0, 1]]], bool)
    assert piq.spatial_iou(m1, m2) == pytest.approx(1 / 3)          # {a, b} vs {a, d}
    assert piq.spatiotemporal_iou(m1, m2) == pytest.approx((0 + 1 / 3) / 2)
    assert piq.weighted_spatial_iou(m1, m2) == pytest.approx(0.5 / 2.0)  # min: a .5; max: a 1, b .5, d .5
    empty = np.zeros_like(m1)
    assert piq.spatial_iou(empty, empty) == piq.spatiotemporal_iou(empty, empty) == piq.weighted_spatial_iou(empty, empty) == 1.0
    f1 = np.zeros((2, 2, 2, 3), np.uint8)
    f2 = f1.copy()
    f2[0] = 255
    assert piq.mse(f1, f2) == pytest.approx(0.5)  # frame MSEs 1 and 0


def test_physics_iq_score_by_hand():
    var = {"piq_spatiotemporal_iou": 1.0, "piq_spatial_iou": 0.8, "piq_weighted_spatial_iou": 0.8, "piq_mse": 0.01}
    model = {"piq_spatiotemporal_iou": [0.4, 0.6], "piq_spatial_iou": 0.6, "piq_weighted_spatial_iou": 0.4, "piq_mse": 0.02}
    assert physics_iq_score(model, var) == pytest.approx(((0.5 / 1.0 + 0.6 / 0.8 + 0.4 / 0.8) / 3 - 0.01) * 100)
    assert physics_iq_score(var, var) == pytest.approx(100.0)
    assert physics_iq_score({**model, "piq_mse": 5.0}, var) == 0.0
    with pytest.raises(ValueError, match="piq_mse"):
        physics_iq_score({k: v for k, v in model.items() if k != "piq_mse"}, var)


def test_clip_metrics_see_motion_at_64px():
    """Truth scores perfect; a frozen copy of the last context frame misses the motion."""
    ep = fixtures.episode("stub_pass_behind", 0, scenarios.RenderSpec(height=64, width=64, fps=15, n_frames=16))
    truth, frozen = Clip(ep, 4, ep.rgb[4:]), Clip(ep, 4, np.repeat(ep.rgb[3:4], 12, axis=0))
    for name in ("piq_spatial_iou", "piq_spatiotemporal_iou", "piq_weighted_spatial_iou", "piq_mse"):
        m = METRICS[name]
        assert m(truth) == m.perfect
        assert m.distance(m(frozen)) > 0.05 if name != "piq_mse" else m(frozen) > 1e-4


@pytest.fixture(scope="module")
def real_clips():
    """(episode, horizon frames) of real scenes of three families, with static scenery edges (floor, occluder)."""
    spec = scenarios.RenderSpec(height=64, width=64, fps=15, n_frames=24)
    cases = [("free_fall", 1), ("pass_behind", 0), ("projectile", 0), ("ramp_roll", 0), ("bite", 2), ("brush", 0)]
    eps = [scenarios.generate_episode(name, seed, spec) for name, seed in cases]
    return [(ep, ep.rgb[8:]) for ep in eps]


def test_delivery_blur_measures_softness_and_nothing_else(real_clips):
    """A Gaussian blur of the truth measures as that blur; the truth itself, noise, brightness and colour
    drift measure 0, and codecs and JPEG (which drop fine detail) at most half a pixel."""
    from physics_evals.nuisance import NUISANCES
    for ep, truth in real_clips:
        assert piq.delivery_blur(truth, truth) == 0.0
        for n in ("noise", "brighter", "darker", "colour_drift"):
            assert piq.delivery_blur(truth, NUISANCES[n].apply(truth, 15)) == 0.0, (ep.episode_id, n)
        for n in ("h264_mid", "mp4v", "jpeg75"):
            assert piq.delivery_blur(truth, NUISANCES[n].apply(truth, 15)) <= 0.5, (ep.episode_id, n)
        for sigma in (0.5, 1.0, 1.5):
            got = piq.delivery_blur(truth, np.stack([cv2.GaussianBlur(f, (0, 0), sigma) for f in truth]))
            assert got == pytest.approx(sigma, abs=0.15), (ep.episode_id, sigma)


def test_blurred_truth_keeps_its_motion_masks_and_blurred_errors_stay_errors(real_clips, monkeypatch):
    """Through a 1 px blur the truth's Physics-IQ IoUs stay near perfect on every clip, at most half as far
    from it as when the truth is compared sharp (delivery_blur off). Half size enlarged is not a Gaussian:
    matched by its nearest one, it is closer than sharp over the clips (on one, pass_behind, farther). A
    frozen video delivered either way still misses the motion, about as much as it does sharp."""
    from physics_evals.nuisance import NUISANCES
    ious = ("piq_spatial_iou", "piq_spatiotemporal_iou", "piq_weighted_spatial_iou")

    def distance(ep, frames, matched=True):
        with monkeypatch.context() as m:
            if not matched:
                m.setattr(piq, "MIN_GAIN", np.inf)
            return np.array([1 - METRICS[name](Clip(ep, 8, frames)) for name in ious])
    pooled = {"blur1": [0.0, 0.0], "half_res": [0.0, 0.0]}
    for ep, truth in real_clips:
        frozen = np.repeat(ep.rgb[7:8], len(truth), axis=0)
        for n in pooled:
            soft = NUISANCES[n].apply(truth, 15)
            matched, sharp = distance(ep, soft), distance(ep, soft, matched=False)
            pooled[n][0] += matched.sum()
            pooled[n][1] += sharp.sum()
            if n == "blur1":
                assert (matched < 0.1).all() and matched.sum() <= 0.5 * sharp.sum(), (ep.episode_id, matched, sharp)
            missed = distance(ep, NUISANCES[n].apply(frozen, 15))
            assert missed.mean() > distance(ep, frozen).mean() - 0.1 and missed.mean() > matched.mean() + 0.3, (ep.episode_id, n, missed)
    assert pooled["blur1"][0] <= 0.3 * pooled["blur1"][1] and pooled["half_res"][0] < pooled["half_res"][1], pooled
