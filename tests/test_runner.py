"""The run loop: episodes -> rollouts -> metrics -> results.json, on tiny tasks."""
import json
from pathlib import Path
import sys
import types

import numpy as np
import pytest

from _evals_helpers import STUB_METRICS, tiny_task, write_npz
from physics_evals import models as models_pkg
from physics_evals.results import ResultsError, bootstrap_ci, load_results, validate_results
from physics_evals.rollouts import read_info, rollout_path, write_rollout
from physics_evals.evaluate import RunConfig, run
from physics_evals.summary import summarize_samples
from physics_evals.models.base import UnscorableModelError
from physics_evals.tasks import get_tasks
from scenarios import load_episode

BASELINES = ["ground_truth", "resimulated", "copy_last_frame", "linear_extrapolation"]


def config(root, models, workers=1):
    return RunConfig(out=root / "results", rollouts_root=root / "rollouts", episodes_root=root / "episodes",
                     models=models, workers=workers, progress=False, seed=0)


def samples(path):
    return [json.loads(line) for line in (path.parent / "samples.jsonl").read_text().splitlines()]


def quiet(msg):
    pass


# ------------------------------------------------------------------------------------ real metrics
@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    """The default suite's tasks, with the real metrics: the ID tasks on 2 episodes each, the OOD and
    combinatorial ones (the same metrics on other values and scenes) on 1, to keep the suite fast."""
    from physics_evals.metrics import METRICS as metrics
    tasks = [t.limited(2 if t.split == "id" else 1) for t in get_tasks(None, "default")]
    root = tmp_path_factory.mktemp("real")
    path = run(config(root, BASELINES, workers=2), tasks=tasks, warn=quiet)
    return path, load_results(path), metrics


def test_results_follow_the_contract(real_run):
    path, res, _ = real_run
    validate_results(json.loads(path.read_text()))
    assert set(res["models"]) == set(BASELINES) and res["models"]["ground_truth"]["kind"] == "baseline"
    assert res["run"]["rollouts_root"].endswith("rollouts") and res["run"]["episodes_root"].endswith("episodes")
    drop = get_tasks(["gravity-drop"])[0]
    t = res["tasks"]["gravity-drop"]
    assert t["scenarios"] == ["free_fall"] and t["episode_ids"] == drop.episode_ids()[:2]
    assert (t["family"], t["context_frames"], t["horizon"], t["n_episodes"]) == ("gravity", 8, 24, 2)
    rows = samples(path)
    n = sum(len(rec["metrics"]) * rec["n_episodes"] for rec in res["tasks"].values())
    assert len(rows) == len(BASELINES) * n  # one line per model, task, episode, metric
    assert all(r["status"] == "ok" for r in rows)


def test_results_carry_id_ood_and_combinatorial_scores_and_the_gap(real_run):
    path, res, metrics = real_run
    for model in ("ground_truth", "copy_last_frame"):
        got = res["splits"][model]
        assert {"id", "ood", "comb", "gap_ood", "gap_comb"} <= set(got)
        for split in ("id", "ood", "comb"):  # each split's score is the summary over that split's tasks
            tasks = [t for t, rec in res["tasks"].items() if rec["split"] == split]
            want = summarize_samples(samples(path), metrics, tasks=tasks)[model]["overall"]
            assert got[split]["overall"] == pytest.approx(want) and got[split]["n_tasks"] == len(tasks)
            assert got[split]["ci_low"] - 1e-9 <= want <= got[split]["ci_high"] + 1e-9
        assert got["gap_ood"]["value"] == pytest.approx(got["id"]["overall"] - got["ood"]["overall"])


def test_ground_truth_scores_100_on_every_metric(real_run):
    _, res, _ = real_run
    gt = [s for s in res["scores"] if s["model"] == "ground_truth" and s["group"] != "pixels"]
    scored = [s for s in gt if s["score"] is not None]
    assert len(scored) >= 0.8 * len(gt)  # most metrics apply to these clips
    for s in scored:
        assert s["score_ci_low"] == pytest.approx(100.0) and s["score"] == pytest.approx(100.0), s
    assert all(v == pytest.approx(100.0) for v in res["summary"]["ground_truth"].values() if v is not None)


def test_resimulated_is_near_perfect_and_copy_last_frame_is_clearly_lower_on_motion(real_run):
    _, res, metrics = real_run

    def vs_perfect(model, task):  # scores against the truth alone, without the ceiling
        out = [metrics[s["metric"]].score(s["value"]) for s in res["scores"] if s["model"] == model
               and s["task"] == task and s["value"] is not None and s["group"] in ("permanence", "plausibility")]
        return float(np.mean(out))

    # things move after the context in these clips (not in gravity-drop: the drop lands inside the
    # 8-frame context, see test_gravity.py::test_the_first_landing_comes_after_the_context)
    for task in ("occlusion-pass-behind", "brush"):
        assert vs_perfect("resimulated", task) > 80, task
        assert vs_perfect("copy_last_frame", task) < vs_perfect("resimulated", task) - 20, task
    summary = res["summary"]
    assert summary["copy_last_frame"]["plausibility"] < 80 and summary["copy_last_frame"]["overall"] < 90
    assert summary["linear_extrapolation"]["overall"] < 90


def test_summary_is_recomputable_from_the_samples(real_run):
    path, res, metrics = real_run
    again = summarize_samples(samples(path), metrics)
    for model, row in res["summary"].items():
        for g, v in row.items():
            assert (v is None and again[model][g] is None) or again[model][g] == pytest.approx(v)


# ------------------------------------------------------------------------------------ bad input
def test_each_bad_rollout_fails_its_own_samples_not_the_run(tmp_path):
    task = tiny_task()
    episodes = tmp_path / "episodes"
    run(config(tmp_path, ["ground_truth"]), tasks=[task], metrics=STUB_METRICS, warn=quiet)  # makes episodes
    ids = task.episode_ids()
    truth = {i: load_episode(f).rgb[task.context:] for i, f in zip(ids, task.episode_folders(episodes))}
    outside = tmp_path / "outside"
    bad = {
        "good": lambda f: f,
        "short": lambda f: f[:-1],
        "bigres": lambda f: np.zeros((task.horizon, 40, 40, 3), np.uint8),  # resampled onto the grid: fine
        "floaty": lambda f: f.astype(np.float32),
        "nans": lambda f: np.full(f.shape, np.nan, np.float32),
    }
    for name, make in bad.items():
        for i in ids:
            write_npz(outside, name, task.name, i, make(truth[i]))
    for i in ids:
        (outside / "corrupt" / task.name).mkdir(parents=True, exist_ok=True)
        (outside / "corrupt" / task.name / f"{i}.npz").write_bytes(b"not a zip file")
        (outside / "emptymp4" / task.name).mkdir(parents=True, exist_ok=True)
        (outside / "emptymp4" / task.name / f"{i}.mp4").write_bytes(b"")
    write_npz(outside, "missing", task.name, ids[0], truth[ids[0]])  # the second episode is missing
    with pytest.raises(UnscorableModelError) as failure:  # models with no clip scored fail the run ...
        run(config(tmp_path, [f"rollouts:{outside}"]), tasks=[task], metrics=STUB_METRICS, warn=quiet)
    expect = {"short": "4 frames, task tiny-drop needs 5", "floaty": "dtype float32",
              "nans": "contains NaN", "corrupt": "not an npz archive", "emptymp4": "empty video"}
    assert str(failure.value).startswith(f"model {', '.join(sorted(expect))}: no rollout could be scored")
    assert expect["corrupt"] in str(failure.value)  # the first error says why
    path = Path(str(failure.value).rsplit("results are in ", 1)[1])  # ... and the others' results stand
    rows = samples(path)
    assert not {r["model"] for r in rows} & set(expect)  # never published as 0
    failed = [r for r in rows if r["status"] == "failed"]  # a bad clip fails its own samples and counts 0
    assert len(failed) == len(STUB_METRICS) and {r["model"] for r in failed} == {"missing"}
    assert all("missing rollout" in r["error"] and f"/missing/{task.name}/" in r["error"] for r in failed)
    assert all(r["status"] == "ok" for r in rows if r["model"] in ("good", "bigres", "ground_truth", "resimulated"))
    res = load_results(path)
    assert res["models"]["good"]["kind"] == "rollouts"
    assert res["summary"]["good"]["overall"] == pytest.approx(100.0)
    assert res["summary"]["missing"]["overall"] < res["summary"]["good"]["overall"]


def test_a_crashing_model_output_is_recorded_as_failed(tmp_path, monkeypatch):
    monkeypatch.setattr(models_pkg.CopyLastFrame, "rollout", lambda self, c, cap, task, ep=None: c[:1])
    with pytest.raises(UnscorableModelError, match="model copy_last_frame: .*1 frames, task tiny-drop needs 5"):
        run(config(tmp_path, ["copy_last_frame"]), tasks=[tiny_task()], metrics=STUB_METRICS, warn=quiet)
    path = next((tmp_path / "results").rglob("results.json"))  # the only run here
    assert "copy_last_frame" not in load_results(path)["summary"]  # the ceiling's results stand, the crash is not a 0


def test_an_episode_its_scenario_refuses_is_left_out_and_recorded(tmp_path, monkeypatch):
    import scenarios
    task = tiny_task(n_episodes=3)
    original = scenarios.generate_episode

    def refuses_one(name, seed, *a, **k):
        if seed == task.seed + 1:
            raise ValueError("no plan fits this seed")
        return original(name, seed, *a, **k)

    monkeypatch.setattr(scenarios, "generate_episode", refuses_one)
    notes = []
    path = run(config(tmp_path, ["ground_truth"]), tasks=[task], metrics=STUB_METRICS, warn=notes.append)
    rec = load_results(path)["tasks"][task.name]
    bad = task.episode_ids()[1]
    assert rec["n_episodes"] == 2 and bad not in rec["episode_ids"]
    assert "no plan fits this seed" in rec["skipped_episodes"][bad]
    assert any(bad in n and "no plan fits this seed" in n for n in notes)
    assert {r["episode_id"] for r in samples(path)} == set(rec["episode_ids"])


# ------------------------------------------------------------------------------------ caches
def test_a_killed_run_resumes_from_its_caches(tmp_path, monkeypatch):
    task = tiny_task(n_episodes=3)
    calls = []
    original = models_pkg.CopyLastFrame.rollout

    def dies_on_third(self, *a, **k):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # the run is killed here
        return original(self, *a, **k)

    monkeypatch.setattr(models_pkg.CopyLastFrame, "rollout", dies_on_third)
    cfg = config(tmp_path, ["copy_last_frame"])
    with pytest.raises(KeyboardInterrupt):
        run(cfg, tasks=[task], metrics=STUB_METRICS, warn=quiet)
    assert not list((tmp_path / "results").glob("*/results.json"))  # nothing that looks complete
    metas = {f: (f / "meta.json").stat().st_mtime_ns for f in task.episode_folders(cfg.episodes_root)}
    calls.clear()
    path = run(cfg, tasks=[task], metrics=STUB_METRICS, warn=quiet)
    assert len(calls) == 1  # two rollouts came from the cache, one was made
    assert {f: (f / "meta.json").stat().st_mtime_ns for f in metas} == metas  # episodes reused, not remade
    assert all(r["status"] == "ok" for r in samples(path))
    calls.clear()
    run(cfg, tasks=[task], metrics=STUB_METRICS, warn=quiet)
    assert calls == []


def test_a_stale_cached_rollout_is_made_again(tmp_path):
    task = tiny_task(n_episodes=1)
    cfg = config(tmp_path, ["ground_truth"])
    path = rollout_path(cfg.rollouts_root, "ground_truth", task.name, task.episode_ids()[0])
    write_rollout(path, np.zeros((task.horizon, 32, 32, 3), np.uint8), {"fingerprint": "an older version"})
    res = run(cfg, tasks=[task], metrics=STUB_METRICS, warn=quiet)
    assert read_info(path)["fingerprint"] != "an older version"
    assert all(r["value"] == 0.0 for r in samples(res) if r["metric"] == "stub_mse" and r["model"] == "ground_truth")


def test_checkpoint_rollouts_are_made_in_the_main_process_and_scored_in_workers(tmp_path, monkeypatch):
    class StandIn:
        def rollout(self, context_frames, caption, task):
            return np.repeat(context_frames[-1:], task.horizon, axis=0)

    fake = types.ModuleType("simulator.adapter")
    fake.load = lambda path: StandIn()
    monkeypatch.setitem(sys.modules, "simulator.adapter", fake)
    (tmp_path / "ckpt").mkdir()
    task = tiny_task()
    path = run(config(tmp_path, [f"mine=checkpoint:{tmp_path / 'ckpt'}"], workers=2), tasks=[task],
               metrics=STUB_METRICS, warn=quiet)
    res = load_results(path)
    assert res["models"]["mine"] == {"kind": "checkpoint", "source": str(tmp_path / "ckpt")}
    rows = [r for r in samples(path) if r["model"] == "mine"]
    assert rows and all(r["status"] == "ok" for r in rows)
    assert (tmp_path / "rollouts" / "mine" / task.name / f"{task.episode_ids()[0]}.npz").is_file()


# ------------------------------------------------------------------------------------ statistics
def test_bootstrap_ci_is_seeded_and_brackets_the_mean():
    v = np.random.default_rng(1).normal(5, 1, 30)
    lo, hi = bootstrap_ci(v, seed=0, key="a")
    assert lo < v.mean() < hi and hi - lo < 1.5
    assert bootstrap_ci(v, seed=0, key="a") == (lo, hi)
    assert bootstrap_ci(v, seed=1, key="a") != (lo, hi)
    assert bootstrap_ci([3.0], 0, "a") == (3.0, 3.0)


def test_a_results_file_missing_a_field_is_named(tmp_path):
    with pytest.raises(ResultsError, match="lacks summary"):
        validate_results({"schema_version": 1, "run": {}, "tasks": {}, "models": {}, "scores": []})
    bad = tmp_path / "results.json"
    bad.write_text("{")
    with pytest.raises(ResultsError, match="results.json: not valid JSON"):
        load_results(bad)
