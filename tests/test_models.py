"""Model adapters: the oracles, the floors, outside rollouts (.npz and .mp4) and the checkpoint slot."""
import subprocess
import sys
import types

import numpy as np
import pytest

from _evals_helpers import tiny_task, write_npz
from physics_evals.models import (CopyLastFrame, GroundTruth, LinearExtrapolation, Resimulated,
                                  UnknownModelError, perturb_params, resolve_models)
from physics_evals.rollouts import RolloutError, write_mp4
from scenarios import generate_episode

TASK = tiny_task()


@pytest.fixture(scope="module")
def episode():
    return generate_episode("free_fall", TASK.seed, TASK.render_spec)


def ctx(ep):
    return ep.rgb[:TASK.context]


def test_ground_truth_returns_the_frames_after_the_context(episode):
    out = GroundTruth().rollout(ctx(episode), episode.caption, TASK, episode)
    assert out.shape == (TASK.horizon, 32, 32, 3) and out.dtype == np.uint8
    assert np.array_equal(out, episode.rgb[TASK.context:])


def test_copy_last_frame_repeats_the_last_context_frame(episode):
    out = CopyLastFrame().rollout(ctx(episode), "", TASK)
    assert out.shape == (TASK.horizon, 32, 32, 3)
    assert all(np.array_equal(f, episode.rgb[TASK.context - 1]) for f in out)


def _square_clip(n, x0=6, v=2, size=32):
    """A red 6x6 square moving v px/frame to the right on grey."""
    frames = np.full((n, size, size, 3), 128, np.uint8)
    for t in range(n):
        frames[t, 12:18, x0 + v * t:x0 + v * t + 6] = (230, 25, 25)
    return frames


def _red_centroid_x(frame):
    ys, xs = np.nonzero((frame[..., 0] > 180) & (frame[..., 1] < 80))
    return xs.mean()


def test_linear_extrapolation_continues_constant_motion():
    clip = _square_clip(8)
    task = tiny_task(context=3, horizon=4)
    out = LinearExtrapolation().rollout(clip[:3], "", task)
    assert out.shape == (4, 32, 32, 3) and out.dtype == np.uint8
    true_x = [_red_centroid_x(f) for f in clip[3:7]]
    pred_x = [_red_centroid_x(f) for f in out]
    still_x = _red_centroid_x(clip[2])
    # the copy floor is off by 2, 4, 6, 8 px; extrapolated flow must be within 1 px of constant motion
    assert np.max(np.abs(np.subtract(pred_x, true_x))) < 1.0, (pred_x, true_x)
    assert np.abs(np.subtract(true_x, still_x)).min() >= 2.0


def test_perturb_params_touches_only_continuous_physical_parameters():
    params = {"height": 1.0, "mass": 2.0, "shape": "cube", "n": 3, "flag": True, "cam_yaw": 5.0, "pos": [0.1, 0.2]}
    out = perturb_params(params, np.random.default_rng(0), 1e-3)
    assert out["shape"] == "cube" and out["n"] == 3 and out["flag"] is True and out["cam_yaw"] == 5.0
    for k in ("height", "mass"):
        assert out[k] != params[k] and abs(out[k] / params[k] - 1) < 1e-2
    assert out["pos"] != params["pos"]
    assert perturb_params(params, np.random.default_rng(0), 0.0) == params


def test_resimulated_is_a_close_second_take(episode):
    exact = Resimulated(seed=0, rel=0.0).rollout(ctx(episode), "", TASK, episode)
    assert np.array_equal(exact, episode.rgb[TASK.context:])  # zero noise reproduces the truth exactly
    take = Resimulated(seed=0).rollout(ctx(episode), "", TASK, episode)
    copy = CopyLastFrame().rollout(ctx(episode), "", TASK)
    truth = episode.rgb[TASK.context:].astype(float)
    assert np.abs(take - truth).mean() < 0.1 * np.abs(copy - truth).mean()
    again = Resimulated(seed=0).rollout(ctx(episode), "", TASK, episode)
    assert np.array_equal(take, again)  # seeded


def test_rollouts_folder_reads_npz_and_mp4(tmp_path, episode):
    truth = episode.rgb[TASK.context:]
    write_npz(tmp_path, "npzmodel", TASK.name, episode.episode_id, truth)
    write_mp4(tmp_path / "mp4model" / TASK.name / f"{episode.episode_id}.mp4", truth, TASK.fps)
    models = {m.name: m for m in resolve_models([f"rollouts:{tmp_path}"], {TASK.name})}
    assert set(models) == {"npzmodel", "mp4model"} and all(m.kind == "rollouts" for m in models.values())
    assert np.array_equal(models["npzmodel"].rollout(None, "", TASK, episode), truth)
    decoded = models["mp4model"].rollout(None, "", TASK, episode)
    assert decoded.shape == truth.shape and decoded.dtype == np.uint8
    assert np.abs(decoded.astype(float) - truth).mean() < 12  # mp4 is lossy, but it is the same clip
    # a folder of task folders is one model named after the folder
    (one,) = resolve_models([f"rollouts:{tmp_path / 'npzmodel'}"], {TASK.name})
    assert one.name == "npzmodel"


def test_rollouts_folder_missing_episode_names_the_file(tmp_path, episode):
    (tmp_path / "m" / TASK.name).mkdir(parents=True)
    (model,) = resolve_models([f"rollouts:{tmp_path}"], {TASK.name})
    with pytest.raises(RolloutError, match=f"{episode.episode_id}.*missing rollout"):
        model.rollout(None, "", TASK, episode)


def test_checkpoint_slot_loads_lazily_and_forwards_the_task(tmp_path, monkeypatch, episode):
    calls = []

    class StandIn:
        def rollout(self, context_frames, caption, task):
            calls.append((context_frames.shape, caption, task.horizon, task.fps, task.height, task.width))
            return np.zeros((task.horizon, task.height, task.width, 3), np.uint8)

    fake = types.ModuleType("simulator.adapter")
    fake.load = lambda path: (calls.append(("load", str(path))), StandIn())[1]
    monkeypatch.setitem(sys.modules, "simulator.adapter", fake)
    (tmp_path / "ckpt").mkdir()
    (model,) = resolve_models([f"mine=checkpoint:{tmp_path / 'ckpt'}"])
    assert model.name == "mine" and model.kind == "checkpoint" and not calls  # nothing loaded yet
    out = model.rollout(ctx(episode), episode.caption, TASK, episode)
    assert out.shape == (TASK.horizon, 32, 32, 3)
    assert calls == [("load", str(tmp_path / "ckpt")), ((3, 32, 32, 3), episode.caption, 5, 15, 32, 32)]
    fp = model.fingerprint(TASK)
    (tmp_path / "ckpt" / "weights").write_bytes(b"new")
    assert model.fingerprint(TASK) != fp  # a retrained checkpoint invalidates cached rollouts


def test_new_sampling_code_invalidates_a_checkpoints_cached_rollouts(tmp_path, monkeypatch):
    import shutil

    import physics_evals.models.external as external
    import simulator
    from simulator.fingerprint import SAMPLING_MODULES, sampling_fingerprint
    pkg = tmp_path / "simulator"
    shutil.copytree(simulator.__path__[0], pkg, ignore=shutil.ignore_patterns("reference", "__pycache__"))
    before = sampling_fingerprint(pkg)
    assert before == sampling_fingerprint() and set(SAMPLING_MODULES) <= {p.name for p in pkg.iterdir()}
    (pkg / "train.py").write_text((pkg / "train.py").read_text() + "\n# training only\n")
    assert sampling_fingerprint(pkg) == before  # training code does not touch a rollout
    (pkg / "diffusion.py").write_text((pkg / "diffusion.py").read_text() + "\n# a sampler change\n")
    assert sampling_fingerprint(pkg) != before
    # the adapter keys its cache by it
    (tmp_path / "ckpt").mkdir()
    (model,) = resolve_models([f"checkpoint:{tmp_path / 'ckpt'}"])
    fp = model.fingerprint(TASK)
    monkeypatch.setattr(external, "sampling_fingerprint", lambda: sampling_fingerprint(pkg))
    assert model.fingerprint(TASK) != fp


@pytest.mark.parametrize("spec,message", [
    ("gpt", "unknown model 'gpt'"),
    ("rollouts:/no/such/dir", "no such folder"),
    ("checkpoint:/no/such/ckpt", "no such file or folder"),
])
def test_bad_model_specs_say_what_is_wrong(spec, message):
    with pytest.raises(UnknownModelError, match=message):
        resolve_models([spec])


def test_two_models_with_one_name_are_refused(tmp_path):
    (tmp_path / "ground_truth").mkdir()
    with pytest.raises(UnknownModelError, match="both named 'ground_truth'"):
        resolve_models(["ground_truth", f"ground_truth=checkpoint:{tmp_path / 'ground_truth'}"])


def test_physics_evals_imports_no_torch():
    code = ("import sys, physics_evals.evaluate, physics_evals.run_cli, physics_evals.models, physics_evals.export, "
            "physics_evals.validate, physics_evals.listing, physics_evals.__main__; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
