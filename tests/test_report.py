"""The leaderboard: tables that match results.json, CIs by bootstrap, a complete page, bad input refused."""
from __future__ import annotations

import csv
import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _evals_helpers import TOY_METRICS

from physics_evals.report import find_results, stats, write_report
from physics_evals.report.load import load_results
from physics_evals.results import score_samples, task_scores, write_run
from physics_evals.rollouts import rollout_path
from physics_evals.summary import summarize_samples
from scenarios import RenderSpec, generate_episode
from scenarios.episode import HELD_OUT_SEED, episode_id
from toolkit.files import writer_tag
from toolkit.provenance import PROJECT_ROOT, versions

SPEC = RenderSpec(height=32, width=32, n_frames=12)
CONTEXT, HORIZON, N_EP = 4, 8, 4
# Synthetic tasks in two families; the truth is free-fall footage filed under each family.
TASKS = {"gravity-drop": ("gravity", "free_fall"), "occlusion-pass": ("occlusion", "pass_behind")}
QUALITY = {"resimulated": 0.95, "tiny-dit": 0.6, "linear_extrapolation": 0.4, "copy_last_frame": 0.2}


def _rollout(model, truth, rng):
    """(HORIZON, H, W, 3): the kind of frames each model would produce."""
    future = truth[CONTEXT:CONTEXT + HORIZON]
    if model == "resimulated":
        return future
    if model == "copy_last_frame":
        return np.repeat(truth[CONTEXT - 1:CONTEXT], HORIZON, axis=0)
    if model == "linear_extrapolation":
        return np.roll(future, 1, axis=2)
    return np.clip(future.astype(int) + rng.integers(-40, 40, future.shape), 0, 255).astype(np.uint8)


def make_results(root: Path, run_id="run-a", models=tuple(QUALITY), task_version=1, seed=0, created="2025-01-01T00:00:00",
                 with_samples=True) -> Path:
    """A results folder written by the harness's own writer (fixed contract 3), with episodes and rollouts.

    Values are drawn around each model's quality; one sample of tiny-dit fails (it scores 0).
    """
    rng = np.random.default_rng(seed)
    episodes_root, rollouts_root = root / "episodes", root / "rollouts"
    tasks, rows = {}, []
    for task, (family, scenario) in TASKS.items():
        ids = []
        for k in range(N_EP):
            ep = generate_episode("free_fall", HELD_OUT_SEED + k, SPEC)
            eid = episode_id(scenario, HELD_OUT_SEED + k)
            ep.meta = {**ep.meta, "family": family, "scenario": scenario, "episode_id": eid}
            if not (episodes_root / family / scenario / eid / "meta.json").exists():
                ep.save(episodes_root)
            ids.append(eid)
            for model in models:
                path = rollout_path(rollouts_root, model, task, eid)
                path.parent.mkdir(parents=True, exist_ok=True)
                np.savez_compressed(path, rgb=_rollout(model, ep.rgb, rng))
                for metric, m in TOY_METRICS.items():
                    q = float(np.clip(QUALITY[model] + rng.normal(0, 0.08), 0.01, 0.99))
                    value = q if m.higher_is_better else 0.05 * (1 - q) if metric == "piq_mse" else 1 / q - 1
                    row = {"model": model, "task": task, "episode_id": eid, "metric": metric,
                           "value": value, "status": "ok", "error": None}
                    if (model, k, metric) == ("tiny-dit", 1, "motion_iou"):
                        row.update(value=None, status="failed", error="rollout has 7 frames, the task needs 8")
                    rows.append(row)
        tasks[task] = {"family": family, "version": task_version, "n_episodes": N_EP, "context_frames": CONTEXT,
                       "horizon": HORIZON, "scenarios": [scenario], "episode_ids": ids}
    score_samples(rows, TOY_METRICS)
    data = {"schema_version": 1,
            "run": {"run_id": run_id, "created": created, "git_revision": "abc123", "versions": versions(), "seed": seed,
                    "command": "python -m physics_evals run", "rollouts_root": str(rollouts_root),
                    "episodes_root": str(episodes_root)},
            "tasks": tasks,
            "models": {m: {"kind": "checkpoint" if m == "tiny-dit" else "baseline", "source": m} for m in models},
            "scores": task_scores(rows, TOY_METRICS, seed), "summary": summarize_samples(rows, TOY_METRICS),
            "metrics": {k: {"group": m.group, "higher_is_better": m.higher_is_better, "perfect": m.perfect,
                            "scale": m.scale, "aggregation": m.aggregation} for k, m in TOY_METRICS.items()}}
    path = write_run(root / "results" / run_id, data, rows)
    if not with_samples:
        (path.parent / "samples.jsonl").unlink()
    return path


def md_tables(text: str) -> dict[str, list[dict]]:
    """Markdown tables by the heading above them, as lists of {column: cell}."""
    tables, heading, lines = {}, None, text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("#"):
            heading = lines[i].lstrip("# ").strip()
        if lines[i].startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            cols = [c.strip() for c in lines[i].strip("|").split("|")]
            rows, i = [], i + 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(dict(zip(cols, [c.strip() for c in lines[i].strip("|").split("|")])))
                i += 1
            tables[heading] = rows
            continue
        i += 1
    return tables


def cell_numbers(cell: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+\.\d+", cell)]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    results = make_results(root)
    index = write_report([results], root / "reports")
    return root, results, index


def test_summary_table_matches_results_and_is_ranked(report):
    root, results_path, _ = report
    data = json.loads(results_path.read_text())
    tables = md_tables((root / "reports" / "leaderboard.md").read_text())
    summary = next(rows for title, rows in tables.items() if title.startswith("Summary"))
    models = [r["model"].split(" (")[0] for r in summary]
    assert set(models) == set(QUALITY)
    overall = [data["summary"][m]["overall"] for m in models]
    assert overall == sorted(overall, reverse=True)
    for row, model in zip(summary, models):
        for group in ("overall", "permanence", "plausibility", "physics_iq"):
            value, lo, hi = cell_numbers(row[group])
            assert value == pytest.approx(data["summary"][model][group], abs=0.051)
            assert lo <= value <= hi
            assert hi - lo > 0 or model == "resimulated"  # the ceiling scores 100 against itself on every draw
    assert "(ceiling)" in summary[0]["model"] and "(floor)" in summary[-1]["model"]


def test_task_tables_match_scores(report):
    root, results_path, _ = report
    data = json.loads(results_path.read_text())
    tables = md_tables((root / "reports" / "leaderboard.md").read_text())
    checked = 0
    for s in data["scores"]:
        rows = tables[f"Task: {s['task']}"]
        row = next(r for r in rows if r["model"].split(" (")[0] == s["model"])
        arrow = "↑" if s["higher_is_better"] else "↓"
        value, lo, hi = cell_numbers(row[f"{s['metric']} {arrow}"])
        assert (value, lo, hi) == pytest.approx((s["value"], s["ci_low"], s["ci_high"]), abs=5e-4)
        checked += 1
    assert checked == len(data["scores"]) > 0


def test_family_tables_and_csv(report):
    root, results_path, _ = report
    data = json.loads(results_path.read_text())
    tables = md_tables((root / "reports" / "leaderboard.md").read_text())
    assert {"Family: gravity", "Family: occlusion"} <= set(tables)
    # each family table is the harness's summary recomputed over that family's task only
    rows = [json.loads(line) for line in (results_path.parent / "samples.jsonl").read_text().splitlines()]
    for family, task in (("gravity", "gravity-drop"), ("occlusion", "occlusion-pass")):
        want = summarize_samples(rows, TOY_METRICS, tasks=[task])
        for row in tables[f"Family: {family}"]:
            model = row["model"].split(" (")[0]
            for group in ("overall", "permanence", "plausibility", "physics_iq"):
                value, lo, hi = cell_numbers(row[group])
                assert value == pytest.approx(want[model][group], abs=0.051) and lo <= value <= hi
    rows = list(csv.DictReader((root / "reports" / "leaderboard.csv").open()))
    assert [r["model"] for r in rows] == sorted(QUALITY, key=lambda m: -data["summary"][m]["overall"])
    for r in rows:
        assert float(r["overall"]) == pytest.approx(data["summary"][r["model"]]["overall"])
        assert float(r["overall_ci_low"]) <= float(r["overall"]) <= float(r["overall_ci_high"])


def test_bootstrap_interval_has_the_width_statistics_predict(tmp_path):
    """Many episodes of known spread: the summary's 95% interval is about +-1.96 sd/sqrt(n) of the scores."""
    n, rng = 200, np.random.default_rng(1)
    reappears = TOY_METRICS["reappears"]
    rows = [{"model": m, "task": "t", "episode_id": f"e{i}", "metric": "reappears", "status": "ok", "error": None,
             "value": float(v)} for m, values in (("resimulated", np.ones(n)), ("m", rng.uniform(0.2, 0.9, n)))
            for i, v in enumerate(values)]
    data = {"schema_version": 1, "run": {"run_id": "r", "created": "", "git_revision": "", "versions": {}, "seed": 0,
                                        "command": ""},
            "tasks": {"t": {"family": "gravity", "version": 1, "n_episodes": n, "context_frames": 4, "horizon": 8}},
            "models": {m: {"kind": "baseline", "source": m} for m in ("resimulated", "m")},
            "scores": task_scores([dict(r) for r in rows], TOY_METRICS, 0),
            "summary": summarize_samples(rows, TOY_METRICS),
            "metrics": {"reappears": {"group": "permanence", "higher_is_better": True, "perfect": 1.0, "scale": 0.3}}}
    path = write_run(tmp_path / "r", data, rows)
    results = load_results([path])
    lo, hi = stats.intervals(results)["m"]["permanence"]
    episode_scores = np.array([reappears.score(r["value"], 1.0) for r in rows if r["model"] == "m"])
    assert lo < episode_scores.mean() < hi
    assert (hi - lo) / 2 == pytest.approx(1.96 * episode_scores.std() / math.sqrt(n), rel=0.2)


def test_html_is_self_contained_with_galleries(report):
    _, _, index = report
    page = index.read_text()
    srcs = re.findall(r'src="([^"]+)"', page)
    assert srcs and all(s.startswith("data:image/") for s in srcs)
    assert not re.search(r"https?://", page) and "<script" not in page
    assert page.count("data:image/gif") == len(QUALITY) * len(TASKS)      # one animation per model per family
    assert "Worst failure per metric" in page and "reappears =" in page
    assert "abc123" in page and "Provenance" in page


def test_no_ci_when_samples_do_not_reproduce_the_summary(tmp_path):
    results = make_results(tmp_path)
    data = json.loads(results.read_text())
    data["summary"]["tiny-dit"]["overall"] += 1.0  # a summary the samples cannot give
    results.write_text(json.dumps(data))
    write_report([results], tmp_path / "reports")
    text = (tmp_path / "reports" / "leaderboard.md").read_text()
    assert "summary intervals: not shown (the samples in samples.jsonl do not reproduce" in text
    summary = next(rows for title, rows in md_tables(text).items() if title.startswith("Summary"))
    assert all(len(cell_numbers(r["overall"])) == 1 for r in summary)


def test_missing_reference_is_still_a_row(tmp_path):
    results = make_results(tmp_path, models=("tiny-dit", "copy_last_frame", "linear_extrapolation"))
    write_report([results], tmp_path / "reports")
    text = (tmp_path / "reports" / "leaderboard.md").read_text()
    assert "resimulated (ceiling, not in these results)" in text


def test_merging_runs_and_latest_default(tmp_path):
    a = make_results(tmp_path / "a", run_id="a", models=("copy_last_frame",), created="2025-01-01")
    b = make_results(tmp_path / "b", run_id="b", models=("tiny-dit",), created="2025-01-02")
    merged = load_results([a, b])
    assert set(merged.models) == {"copy_last_frame", "tiny-dit"}
    assert merged.run_of_model["tiny-dit"].run_id == "b"
    assert find_results(None, tmp_path / "b" / "results") == [b]


@pytest.mark.parametrize("case, message", [
    ("empty", "no results found under"),
    ("schema", "schema_version 2, expected 1"),
    ("versions", "report them separately"),
    ("corrupt", "not valid JSON"),
])
def test_bad_input_one_line_and_no_half_report(tmp_path, case, message):
    out = tmp_path / "reports"
    out.mkdir()
    (out / "leaderboard.md").write_text("old report\n")
    args = []
    if case == "schema":
        p = make_results(tmp_path, with_samples=False)
        p.write_text(json.dumps({**json.loads(p.read_text()), "schema_version": 2}))
        args = [str(p)]
    elif case == "versions":
        args = [str(make_results(tmp_path / "a", run_id="a", with_samples=False, models=("copy_last_frame",))),
                str(make_results(tmp_path / "b", run_id="b", with_samples=False, task_version=2))]
    elif case == "corrupt":
        p = make_results(tmp_path, with_samples=False)
        p.write_text(p.read_text()[:100])
        args = [str(p)]
    proc = subprocess.run([sys.executable, "-m", "physics_evals", "report", *args, "--out", str(out),
                           "--results-root", str(tmp_path / "nothing-here")],
                          capture_output=True, text=True, cwd=PROJECT_ROOT)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], proc.stderr
    assert (out / "leaderboard.md").read_text() == "old report\n"
    assert sorted(p.name for p in out.iterdir()) == ["leaderboard.md"]  # no temp folders left behind


def test_failure_while_rendering_leaves_old_report(tmp_path, monkeypatch):
    results = make_results(tmp_path)
    out = tmp_path / "reports"
    write_report([results], out)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    from physics_evals.report import html
    monkeypatch.setattr(html, "page", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    data = json.loads(results.read_text())
    data["summary"]["tiny-dit"]["overall"] = 1.0
    results.write_text(json.dumps(data))
    with pytest.raises(OSError):
        write_report([results], out)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert not [p for p in out.iterdir() if p.name.startswith(".report-")]


def test_a_report_carries_its_results_and_rebuilds_from_them_alone(report, tmp_path):
    from physics_evals.__main__ import main
    root, results, _ = report
    made = root / "reports"
    copy = made / "results" / "run-a" / "results.json"
    assert copy.read_bytes() == results.read_bytes()
    assert (copy.parent / "samples.jsonl").read_bytes() == (results.parent / "samples.jsonl").read_bytes()
    assert "run `run-a` (results/run-a/)" in (made / "leaderboard.md").read_text()
    out = tmp_path / "clone"  # what a fresh clone has: the report folder and nothing else
    shutil.copytree(made / "results", out / "results")
    (out / "results" / "older-run").mkdir()  # the copy of a run this report no longer draws on
    gone = subprocess.Popen(["true"])
    gone.wait()
    host = writer_tag().split("-")[0]
    (out / f".report-{host}-{gone.pid}-abc").mkdir()  # left by a report killed while writing
    (out / f".report-{writer_tag()}-def").mkdir()     # a report being written right now
    assert main(["report", "--out", str(out), "--results-root", str(tmp_path / "nowhere")]) == 0
    for name in ("leaderboard.md", "leaderboard.csv"):
        assert (out / name).read_bytes() == (made / name).read_bytes(), name
    assert sorted(p.name for p in (out / "results").iterdir()) == ["run-a"]
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [f".report-{writer_tag()}-def"]

COMMITTED = PROJECT_ROOT / "reports"


def _cited_runs() -> list[str]:
    text = (COMMITTED / "leaderboard.md").read_text()
    return re.findall(r"^- run `([^`]+)`", text.split("## Provenance", 1)[-1], flags=re.M)


def test_the_committed_leaderboard_carries_the_runs_it_cites():
    runs = _cited_runs()
    assert runs, "reports/leaderboard.md lists no run under Provenance"
    missing = [r for r in runs if not (COMMITTED / "results" / r / "results.json").is_file()
               or not (COMMITTED / "results" / r / "samples.jsonl").is_file()]
    assert not missing, (f"reports/leaderboard.md cites runs that are not committed under reports/results/: {missing}; "
                         "regenerate it with `python -m physics_evals run` (its report copies the run there)")


@pytest.mark.slow
def test_the_committed_leaderboard_rebuilds_byte_for_byte(tmp_path):
    from physics_evals.__main__ import main
    out = tmp_path / "reports"
    shutil.copytree(COMMITTED / "results", out / "results")
    assert main(["report", "--out", str(out), "--results-root", str(tmp_path / "nowhere")]) == 0
    for name in ("leaderboard.md", "leaderboard.csv"):
        assert (out / name).read_bytes() == (COMMITTED / name).read_bytes(), name
