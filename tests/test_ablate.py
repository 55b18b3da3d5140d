"""Ablations: the request is checked up front, finished runs are reused, a killed run resumes,
and the report's intervals say "no clear effect" exactly when a setting has none."""
from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import t as student_t

from physics_evals import ablate
from physics_evals.report.ablation import Variant, findings, interval, markdown, overlaps, summarise
from physics_evals.report.load import GROUPS
from physics_evals.results import write_run
from simulator.config import ConfigError, resolve_key, split_values
from toolkit.provenance import PROJECT_ROOT


def test_values_split_at_top_level_commas_only():
    assert split_values("full,factorised") == ["full", "factorised"]
    assert split_values("[2],[4, 6]") == ["[2]", "[4, 6]"]
    assert split_values("[[16,32,32]],[[8,32,32]]") == ["[[16,32,32]]", "[[8,32,32]]"]


def test_short_keys_resolve_and_unknown_or_ambiguous_keys_are_named():
    assert resolve_key("attention") == "model.attention"
    assert resolve_key("context") == "data.context"
    with pytest.raises(ConfigError, match="unknown config key 'wingspan'"):
        resolve_key("wingspan")
    with pytest.raises(ConfigError, match="ambiguous: say train.lr or vae.lr"):
        resolve_key("lr")


@pytest.mark.parametrize("vary, message", [
    ("wingspan=1,2", "unknown config key 'wingspan'"),
    ("model.wingspan=1,2", "unknown config key 'model.wingspan'"),
    ("model.attention=full,sparse", "model.attention must be 'full' or 'factorised', got 'sparse'"),
    ("model.dim=96,abc", "cannot read 'abc' as int"),
    ("model.attention", "expected key=v1,v2"),
])
def test_bad_requests_fail_in_one_line_before_any_work(tmp_path, vary, message):
    proc = subprocess.run([sys.executable, "-m", "physics_evals", "ablate", "--vary", vary,
                           "--runs-root", str(tmp_path / "runs"), "--results-root", str(tmp_path / "results"),
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, cwd=PROJECT_ROOT)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], proc.stderr
    assert not any(tmp_path.iterdir())  # nothing started, nothing written


# ------------------------------------------------------------------------------------ the statistics
def _variants(effect: float, seeds: int = 5, noise: float = 3.0, seed: int = 0) -> list[Variant]:
    """Two variants whose per-seed summary scores differ by `effect` on average (0: no effect)."""
    rng = np.random.default_rng(seed)
    out = []
    for i, value in enumerate(("full", "factorised")):
        per_seed = {s: {g: 50.0 + i * effect + float(rng.normal(0, noise)) for g in GROUPS} for s in range(seeds)}
        out.append(Variant(f"model.attention={value}", {"model.attention": value}, per_seed))
    return out


def test_a_setting_without_effect_reports_overlapping_intervals():
    for seed in range(5):  # several synthetic studies, each must come out as "no clear effect"
        variants = _variants(effect=0.0, seed=seed)
        for g in GROUPS:
            assert overlaps(summarise(variants[0], g), summarise(variants[1], g))
        lines = findings(variants)
        assert len(lines) == len(GROUPS) and all("no clear effect; all 95% intervals overlap" in l for l in lines)


def test_a_setting_with_a_large_effect_reports_separate_intervals():
    variants = _variants(effect=20.0)
    lines = findings(variants)
    assert all("intervals separate for model.attention=full vs model.attention=factorised" in l for l in lines)
    assert all("highest mean: model.attention=factorised" in l for l in lines)


def test_interval_is_the_t_interval_over_seeds_and_one_seed_uses_the_run_interval():
    values = [40.0, 44.0, 47.0]
    mean, lo, hi = interval(values)
    half = student_t.ppf(0.975, 2) * np.std(values, ddof=1) / math.sqrt(3)
    assert (mean, lo, hi) == pytest.approx((np.mean(values), np.mean(values) - half, np.mean(values) + half))
    assert interval([42.0], (39.0, 45.0)) == (42.0, 39.0, 45.0)
    one = [Variant("a", {"k": "a"}, {0: {g: 40.0 for g in GROUPS}}),
           Variant("b", {"k": "b"}, {0: {g: 41.0 for g in GROUPS}})]
    assert all(l.split(":")[1].strip().startswith("cannot tell") for l in findings(one))


def test_markdown_table_carries_the_interval_numbers():
    variants = _variants(effect=0.0)
    text = markdown("attention", variants, {"copy_last_frame": {g: 20.0 for g in GROUPS}},
                    {"keys": ["model.attention"], "base": "tiny", "steps": 10, "seeds": [0, 1]}, "attention.png")
    rows = [l for l in text.splitlines() if l.startswith("| model.attention=")]
    assert len(rows) == 2
    for row, v in zip(rows, variants):
        cells = [c.strip() for c in row.strip("|").split("|")]
        for g, cell in zip(GROUPS, cells[2:]):
            want = summarise(v, g)
            assert [float(x) for x in re.findall(r"-?\d+\.\d+", cell)] == pytest.approx(want, abs=0.051)
    assert "| copy_last_frame (baseline) |" in text


# ------------------------------------------------------------------------------------ orchestration
def _fake_results(out: Path, models: list[str], score: float) -> None:
    """What `physics_evals run` leaves behind: results/<run_id>/results.json (contract 3)."""
    data = {"schema_version": 1, "run": {"run_id": "r", "created": "", "git_revision": "x", "versions": {}, "seed": 0,
                                        "command": "fake"},
            "tasks": {}, "models": {m: {"kind": "baseline", "source": m} for m in models}, "scores": [],
            "summary": {m: {"permanence": score, "plausibility": score, "physics_iq": score, "overall": score}
                        for m in models}}
    write_run(out / "run", data, [])


class FakeRunner(ablate.Runner):
    """Stands in for the child commands: writes what they would write, and records what ran."""
    calls: list[str] = []
    kill_after: int | None = None  # raise KeyboardInterrupt on this call, as a kill would

    def call(self, cmd, log_name):
        if FakeRunner.kill_after is not None and len(FakeRunner.calls) == FakeRunner.kill_after:
            raise KeyboardInterrupt
        FakeRunner.calls.append(log_name)
        out = Path(cmd[cmd.index("--out") + 1])
        if cmd[2] == "simulator":
            steps = int(cmd[cmd.index("--steps") + 1])
            out.mkdir(parents=True, exist_ok=True)
            (out / "manifest.json").write_text(json.dumps({"step": steps, "log": [{"wall_s": 0.5 * steps, "val_loss": 1.0}]}))
        else:
            models = [m.split("=")[0] for m in cmd[cmd.index("--models") + 1:cmd.index("--out")]]
            _fake_results(out, models, 30.0 + len(FakeRunner.calls) % 3)
        return 0.01


def _args(tmp_path, **kw):
    p = argparse.ArgumentParser()
    ablate.add_arguments(p)
    argv = ["--vary", "model.attention=full,factorised", "--steps", "4", "--seeds", "2",
            "--runs-root", str(tmp_path / "runs"), "--results-root", str(tmp_path / "results"),
            "--out", str(tmp_path / "reports")]
    return p.parse_args(argv + [x for k, v in kw.items() for x in (f"--{k}", str(v))])


def test_runs_every_variant_reuses_finished_work_and_resumes_after_a_kill(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(ablate, "Runner", FakeRunner)
    FakeRunner.calls, FakeRunner.kill_after = [], 3   # killed after baselines, probe train and probe eval
    assert ablate.main(_args(tmp_path)) == 130
    assert FakeRunner.calls == ["baselines-eval", "probe-train", "probe-eval"]
    assert "estimated time" in capsys.readouterr().out

    FakeRunner.calls, FakeRunner.kill_after = [], None
    assert ablate.main(_args(tmp_path)) == 0
    # the baselines and the timing probe were kept; each of 2 variants x 2 seeds trained and evaluated once
    assert sorted(FakeRunner.calls) == sorted(f"attention-{v}-s{s}-{step}" for v in ("full", "factorised")
                                              for s in (0, 1) for step in ("train", "eval"))
    report = (tmp_path / "reports" / "attention.md").read_text()
    assert "| model.attention=full | 2 |" in report and "| model.attention=factorised | 2 |" in report
    assert (tmp_path / "reports" / "attention.png").stat().st_size > 1000

    # a training killed half-way (its checkpoint has fewer steps) is resumed; finished ones are not touched
    manifest = tmp_path / "runs" / "attention" / "attention-full-s1" / "manifest.json"
    manifest.write_text(json.dumps({"step": 2, "log": [{"wall_s": 1.0}]}))
    for eval_run in (tmp_path / "results" / "attention" / "attention-full-s1").glob("*/results.json"):
        eval_run.unlink()
    FakeRunner.calls = []
    assert ablate.main(_args(tmp_path)) == 0
    assert FakeRunner.calls == ["attention-full-s1-train", "attention-full-s1-eval"]

    FakeRunner.calls = []
    assert ablate.main(_args(tmp_path)) == 0
    assert FakeRunner.calls == []  # everything reused, not even a probe
    raw = json.loads((tmp_path / "reports" / "attention.json").read_text())
    assert [v["name"] for v in raw["variants"]] == ["model.attention=full", "model.attention=factorised"]


def test_a_longer_run_in_the_folder_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(ablate, "Runner", FakeRunner)
    FakeRunner.calls, FakeRunner.kill_after = [], None
    run = tmp_path / "runs" / "attention" / "attention-full-s0"
    run.mkdir(parents=True)
    (run / "manifest.json").write_text(json.dumps({"step": 99, "log": []}))
    with pytest.raises(ablate.AblationError, match="holds a run of 99 steps but this ablation asks for 4"):
        ablate.main(_args(tmp_path))


def test_a_compute_study_varies_train_steps_per_run(tmp_path):
    from physics_evals.ablate.plan import plan
    from physics_evals.ablate.runs import Runner
    from simulator.config import parse_vary
    varies = parse_vary(["train.steps=50,200"], "tiny", [])
    jobs = plan(varies, 2, tmp_path / "runs", tmp_path / "results", steps=100)
    assert sorted({j.steps for j in jobs}) == [50, 200]   # the varied budget wins over the shared --steps
    args = argparse.Namespace(set=[], threads=1, base="tiny")
    cmd = Runner(args, tmp_path).train_cmd(jobs[0].setting, jobs[0].seed, jobs[0].steps, jobs[0].run_dir)
    assert cmd[cmd.index("--steps") + 1] == "50"
    assert plan(parse_vary(["model.depth=2,4"], "tiny", []), 1, tmp_path, tmp_path, steps=100)[0].steps == 100
