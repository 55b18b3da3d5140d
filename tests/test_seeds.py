"""Multi-seed scores: a checkpoint model sampled once per seed, each cached on its own, with mean ± sd."""
import json
import sys
import types

import numpy as np
import pytest

from _evals_helpers import STUB_METRICS, tiny_task
from physics_evals.bundle import bundle, verify
from physics_evals.evaluate import RunConfig, run
from physics_evals.results import load_results


@pytest.fixture
def sampler(monkeypatch):
    """A stand-in checkpoint whose sample depends on its seed (brightness), counting its calls."""
    calls = []

    class StandIn:
        def rollout(self, context_frames, caption, task, seed=0):
            calls.append(seed)
            last = context_frames[-1:].astype(np.int16) + 12 * seed
            return np.repeat(np.clip(last, 0, 255).astype(np.uint8), task.horizon, axis=0)

    fake = types.ModuleType("simulator.adapter")
    fake.load = lambda path: StandIn()
    monkeypatch.setitem(sys.modules, "simulator.adapter", fake)
    return calls


def test_seeds_sample_cache_and_summarise_separately(tmp_path, sampler):
    (tmp_path / "ckpt").mkdir()
    task = tiny_task()
    cfg = RunConfig(out=tmp_path / "results", rollouts_root=tmp_path / "rollouts", episodes_root=tmp_path / "episodes",
                    models=["copy_last_frame", f"mine=checkpoint:{tmp_path / 'ckpt'}"], workers=1, progress=False,
                    seeds=[0, 1, 2])
    path = run(cfg, tasks=[task], metrics=STUB_METRICS, warn=lambda m: None)
    assert sorted(sampler) == [0, 0, 1, 1, 2, 2]  # 3 seeds x 2 episodes, once each
    ep = task.episode_ids()[0]
    files = [tmp_path / "rollouts" / f"mine@seed{s}" / task.name / f"{ep}.npz" for s in (0, 1, 2)]
    assert all(f.is_file() for f in files) and len({f.read_bytes() for f in files}) == 3
    rows = [json.loads(line) for line in (path.parent / "samples.jsonl").read_text().splitlines()]
    mine = [r for r in rows if r["model"] == "mine"]
    assert sorted({r["sample_seed"] for r in mine}) == [0, 1, 2] and len(mine) == 3 * 2 * 2
    assert all("sample_seed" not in r for r in rows if r["model"] != "mine")  # baselines run once
    res = load_results(path)
    rec = res["seeds"]["mine"]
    assert rec["seeds"] == [0, 1, 2] and res["models"]["mine"]["seeds"] == [0, 1, 2]
    plaus = [rec["per_seed"][s]["plausibility"] for s in ("0", "1", "2")]
    assert plaus[0] > plaus[1] > plaus[2]  # brighter samples are further from the truth
    assert rec["mean"]["plausibility"] == pytest.approx(np.mean(plaus))
    assert rec["sd"]["plausibility"] == pytest.approx(np.std(plaus, ddof=1)) and rec["sd"]["plausibility"] > 0
    # the pooled summary of the contract is the mean over seeds
    assert res["summary"]["mine"]["plausibility"] == pytest.approx(rec["mean"]["plausibility"])

    # a rerun resumes from each seed's cache; the bundle carries every seed's rollouts and verifies
    sampler.clear()
    path2 = run(cfg, tasks=[task], metrics=STUB_METRICS, warn=lambda m: None)
    assert sampler == []
    archive = bundle(path2.parent)
    assert "all match" in verify(archive, tmp_path / "rollouts", tmp_path / "episodes", metrics=STUB_METRICS)


def test_leaderboard_marks_multi_seed_rows(tmp_path, sampler):
    from physics_evals.report.leaderboard import build
    from physics_evals.report.load import load_results as load_report
    (tmp_path / "ckpt").mkdir()
    cfg = RunConfig(out=tmp_path / "results", rollouts_root=tmp_path / "rollouts", episodes_root=tmp_path / "episodes",
                    models=["copy_last_frame", f"mine=checkpoint:{tmp_path / 'ckpt'}"], workers=1, progress=False,
                    seeds=[3, 5])
    path = run(cfg, tasks=[tiny_task()], metrics=STUB_METRICS, warn=lambda m: None)
    board = build(load_report([path]))
    rows = {row[1]: row for row in board.summary.rows}
    label = next(k for k in rows if k.startswith("mine"))
    assert label == "mine (2 seeds)" and " ± " in rows[label][3]  # overall: mean ± sd [CI]
    assert not any(" ± " in cell for k, row in rows.items() if k != label for cell in row)
    assert "2 seeds" not in next(k for k in rows if k.startswith("copy_last_frame"))
    assert "sd over seeds" in board.summary.note
