"""Split scores and the generalisation gap: what results.json's `splits` section and the report's
generalisation table hold, on hand-made samples whose answer is known."""
import pytest

from physics_evals.metrics.base import Metric
from physics_evals.splits import format_splits, split_of_tasks, split_scores

ERR = Metric("err", "plausibility", higher_is_better=False, perfect=0.0, scale=1.0, fn=lambda c: 0.0)
METRICS = {"err": ERR}
SPLIT = {"drop": "id", "bounce": "id", "drop-ood": "ood", "mix": "comb"}


def rows(errors: dict[tuple[str, str], list[float]]) -> list[dict]:
    """Sample rows from {(model, task): per-episode errors}; the ceiling scores 0 error everywhere."""
    out = []
    for (model, task), values in errors.items():
        for k, v in enumerate(values):
            out.append({"model": model, "task": task, "episode_id": f"{task}-{k}", "metric": "err",
                        "value": v, "status": "ok"})
    return out


def data(ood_error: float) -> list[dict]:
    errors = {}
    for task in SPLIT:
        errors[("resimulated", task)] = [0.0] * 4
        errors[("model", task)] = [ood_error] * 4 if SPLIT[task] != "id" else [0.0, 0.0, 0.0, 0.0]
    return rows(errors)


def test_a_model_that_fails_out_of_distribution_shows_the_gap():
    got = split_scores(data(1.0), METRICS, SPLIT, "resimulated", n_boot=50)
    m = got["model"]
    # error 0 scores 100; error 1 = scale scores 50 (Metric.score); the gap is ID minus the split
    assert m["id"]["overall"] == 100 and m["ood"]["overall"] == 50 and m["comb"]["overall"] == 50
    assert m["gap_ood"]["value"] == 50 and m["gap_comb"]["value"] == 50
    assert m["id"]["n_tasks"] == 2 and m["ood"]["n_tasks"] == 1
    assert got["resimulated"]["gap_ood"]["value"] == 0  # the ceiling generalises perfectly


def test_intervals_bracket_the_points_and_are_seeded():
    noisy = data(1.0)
    for r in noisy:  # the model's OOD errors vary by episode
        if r["model"] == "model" and r["task"] == "drop-ood":
            r["value"] = [0.0, 0.5, 1.0, 3.0][int(r["episode_id"][-1])]
    a = split_scores(noisy, METRICS, SPLIT, "resimulated", n_boot=100, seed=3)
    b = split_scores(noisy, METRICS, SPLIT, "resimulated", n_boot=100, seed=3)
    assert a == b
    gap = a["model"]["gap_ood"]
    assert gap["ci_low"] < gap["value"] < gap["ci_high"]
    assert a["model"]["id"]["ci_low"] == a["model"]["id"]["ci_high"] == 100  # no spread, no interval width


def test_splits_without_tasks_and_gaps_without_both_sides_are_left_out():
    only_id = {"drop": "id", "bounce": "id"}
    got = split_scores([r for r in data(1.0) if r["task"] in only_id], METRICS, only_id, "resimulated", n_boot=10)
    assert set(got["model"]) == {"id"}
    assert split_scores([], METRICS, {}, "resimulated") == {}


def test_task_records_without_a_split_are_in_distribution_and_the_printout_names_each_split():
    assert split_of_tasks({"a": {"family": "gravity"}, "b": {"split": "ood"}}) == {"a": "id", "b": "ood"}
    lines = format_splits(split_scores(data(1.0), METRICS, SPLIT, "resimulated", n_boot=10))
    assert any("gap ID-ood" in line for line in lines) and any(line.startswith("model ") for line in lines)
    assert format_splits({}) == []


def test_the_report_shows_a_generalisation_table_with_the_gap(tmp_path, monkeypatch):
    import json

    from physics_evals.report import generalisation, leaderboard, stats
    from physics_evals.report.leaderboard import build, to_markdown
    # fewer bootstrap draws than a real report: this checks the table, not the intervals' precision
    monkeypatch.setattr(leaderboard, "intervals", lambda r, tasks=None: stats.intervals(r, tasks, n_boot=20))
    monkeypatch.setattr(leaderboard, "split_table", lambda r, ranked, ok: generalisation.split_table(r, ranked, ok, n_boot=20))
    from physics_evals.report.load import load_results
    from test_report import cell_numbers, make_results, md_tables
    path = make_results(tmp_path)
    data = json.loads(path.read_text())
    data["tasks"]["occlusion-pass"]["split"] = "ood"  # the same toy data, one task now out of distribution
    path.write_text(json.dumps(data))
    results = load_results([path])
    text = to_markdown(build(results), results)
    table = md_tables(text)["Generalisation: in-distribution, out-of-distribution, combinatorial"]
    assert {"model", "ID", "OOD", "gap ID−OOD"} == set(table[0])
    row = next(r for r in table if r["model"].startswith("tiny-dit"))
    (idv, lo, hi), (ood, _, _), (gap, glo, ghi) = (cell_numbers(row[c]) for c in ("ID", "OOD", "gap ID−OOD"))
    assert lo <= idv <= hi and glo <= gap <= ghi and gap == pytest.approx(idv - ood, abs=0.11)
