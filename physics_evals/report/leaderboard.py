"""The leaderboard's tables, built once and rendered to markdown, CSV and HTML alike.

Tables: the summary (one row per model, ranked by overall, 95% CIs), then one per family
(the summary groups over that family's tasks) and one per task (every metric's value with
the CI that results.json carries). The ceiling and the floors are always rows, marked as
such, so every model is read against the bracket; a reference missing from the results
stays as a row that says so.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field

from ..models import CEILING, FLOORS
from .load import GROUPS, RESULTS_DIR, Results, role_of
from .generalisation import split_table
from .stats import check, intervals, summarize

MISSING = "—"


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]]
    note: str = ""


@dataclass
class Leaderboard:
    summary: Table                          # the ranked summary table
    families: list[Table]                   # one per family
    tasks: list[Table]                      # one per task
    ranked: list[str]                       # models, best first (references included)
    points: dict[str, dict[str, float]]     # model -> group -> value (results.json)
    cis: dict[str, dict[str, tuple[float, float]]]  # model -> group -> (lo, hi), bootstrap
    family_points: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # family -> model -> group -> value
    family_cis: dict[str, dict[str, dict[str, tuple[float, float]]]] = field(default_factory=dict)
    ci_note: str = ""                       # how the summary intervals were made
    splits: Table | None = None             # ID / OOD / combinatorial scores and gaps (None: fewer than 2 splits)


def fmt(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    return f"{value:.{digits}f}"


def fmt_ci(value, ci: tuple[float, float] | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if ci is None:
        return fmt(value, digits)
    return f"{fmt(value, digits)} [{fmt(ci[0], digits)}, {fmt(ci[1], digits)}]"


def digits_for(values: list[float]) -> int:
    """Enough decimals that raw metric values (IoUs, pixel errors) are not all printed as 0.0."""
    finite = [abs(v) for v in values if v is not None and not math.isnan(v) and v != 0]
    return 3 if finite and min(finite) < 10 else 1


def rank_models(results: Results) -> list[str]:
    """Best overall first; models without an overall go last; the references are always present."""
    models = set(results.models) | {CEILING} | set(FLOORS)
    def key(m):
        v = results.summary.get(m, {}).get("overall")
        missing = v is None or math.isnan(v)
        return (missing, -(v if not missing else 0.0), m)
    return sorted(models, key=key)


def _label(model: str, results: Results) -> str:
    role = role_of(model)
    if model not in results.models:
        return f"{model} ({role}, not in these results)"
    seeds = len(seeds_of(results, model).get("seeds", []))
    marks = [m for m in (role, f"{seeds} seeds" if seeds > 1 else "") if m]
    return f"{model} ({', '.join(marks)})" if marks else model


def seeds_of(results: Results, model: str) -> dict:
    """The run's `seeds` record of a model sampled with several seeds (run --seeds), else {}."""
    run = results.run_of_model.get(model)
    return (run.data.get("seeds") or {}).get(model, {}) if run is not None else {}


def with_sd(cell: str, sd: float | None) -> str:
    """'62.1 [58.0, 66.2]' -> '62.1 ± 1.3 [58.0, 66.2]': the spread over sampling seeds beside the CI."""
    if sd is None or cell == MISSING:
        return cell
    point, _, rest = cell.partition(" ")
    return f"{point} ± {fmt(sd)}" + (f" {rest}" if rest else "")


def build(results: Results) -> Leaderboard:
    usable, ci_note = check(results)
    cis = intervals(results) if usable else {}
    ranked = rank_models(results)
    summary_rows, rank = [], 0
    for model in ranked:
        point = results.summary.get(model, {})
        present = model in results.models and point.get("overall") is not None
        rank += present
        kind = results.models.get(model, {}).get("kind", MISSING)
        sd = seeds_of(results, model).get("sd", {})
        summary_rows.append([str(rank) if present else MISSING, _label(model, results), kind] +
                            [with_sd(fmt_ci(point.get(g), cis.get(model, {}).get(g)), sd.get(g)) for g in GROUPS])
    if any(len(seeds_of(results, m).get("seeds", [])) > 1 for m in ranked):
        ci_note += ("; rows marked 'N seeds' pool N generation seeds: the value is their mean, ± the sd over "
                    "seeds, and the interval is over episodes")
    summary = Table("Summary scores (0..100, higher is better; 95% CI)", ["rank", "model", "kind", *GROUPS],
                    summary_rows, ci_note)

    families, family_points, family_cis = [], {}, {}
    for family in results.families():
        tasks = results.tasks_of(family)
        fpoints = summarize(results, tasks) if usable else {}
        fcis = intervals(results, tasks) if usable else {}
        family_points[family], family_cis[family] = fpoints, fcis
        rows = [[_label(m, results)] + [fmt_ci(fpoints.get(m, {}).get(g), fcis.get(m, {}).get(g)) for g in GROUPS]
                for m in ranked]
        note = f"tasks: {', '.join(tasks)}" + ("" if usable else "; family scores need the per-episode samples "
                                               "(see the note under the summary)")
        families.append(Table(f"Family: {family}", ["model", *GROUPS], rows, note))

    by_key = {(s["model"], s["task"], s["metric"]): s for s in results.scores}
    task_tables = []
    for task in sorted(results.tasks):
        metrics = results.metrics_of(task)
        rec = results.tasks[task]
        header = []
        for metric in metrics:
            hib = next((s["higher_is_better"] for s in results.scores if s["metric"] == metric), True)
            header.append(f"{metric} {'↑' if hib else '↓'}")
        rows = []
        for m in ranked:
            row = [_label(m, results)]
            for metric in metrics:
                s = by_key.get((m, task, metric))
                if s is None:
                    row.append(MISSING)
                    continue
                d = digits_for([s["value"], s.get("ci_low"), s.get("ci_high")])
                ci = (s["ci_low"], s["ci_high"]) if s.get("ci_low") is not None and s.get("ci_high") is not None else None
                row.append(fmt_ci(s["value"], ci, d))
            rows.append(row)
        note = (f"family {rec['family']}, version {rec['version']}, {rec.get('n_episodes', '?')} episodes, "
                f"{rec.get('context_frames', '?')} context frames, horizon {rec.get('horizon', '?')}")
        task_tables.append(Table(f"Task: {task}", ["model", *header], rows, note))
    return Leaderboard(summary, families, task_tables, ranked, results.summary, cis,
                       family_points, family_cis, ci_note, splits=split_table(results, ranked, usable))


# ------------------------------------------------------------------------------------
# Rendering
def markdown_table(table: Table) -> str:
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|")
    lines = ["| " + " | ".join(map(cell, table.columns)) + " |",
             "|" + "|".join("---" for _ in table.columns) + "|"]
    lines += ["| " + " | ".join(map(cell, row)) + " |" for row in table.rows]
    return "\n".join(lines)


def provenance_lines(results: Results) -> list[str]:
    """One line per run the report draws on: id, its copy in the report folder, time, revision, seed, command,
    versions."""
    out = []
    for run in results.runs:
        r = run.data["run"]
        versions = ", ".join(f"{k} {v}" for k, v in sorted(r.get("versions", {}).items()))
        out.append(f"run `{run.run_id}` ({RESULTS_DIR}/{run.run_id}/): created {r.get('created', '?')}, git {r.get('git_revision', '?')}, "
                   f"seed {r.get('seed', '?')}, command `{r.get('command', '?')}`; versions: {versions or '?'}")
    return out


def to_markdown(board: Leaderboard, results: Results, figures: dict[str, str] | None = None) -> str:
    parts = ["# Leaderboard", "",
             "Generated by `python -m physics_evals report` from the results files listed under Provenance; "
             "do not edit by hand. Ceiling: `resimulated` (a perturbed second take of the simulation); "
             "floors: `copy_last_frame`, `linear_extrapolation`.", ""]
    for name, path in (figures or {}).items():
        parts += [f"![{name}]({path})", ""]
    for table in [board.summary, *([board.splits] if board.splits else []), *board.families, *board.tasks]:
        level = "##" if table is board.summary or table is board.splits else "###"
        parts += [f"{level} {table.title}", ""]
        if table.note:
            parts += [table.note, ""]
        parts += [markdown_table(table), ""]
    parts += ["## Provenance", ""] + [f"- {line}" for line in provenance_lines(results)] + [""]
    return "\n".join(parts)


def to_csv(board: Leaderboard, results: Results) -> str:
    """One row per model: rank, role, kind, then value, ci_low, ci_high of each summary group."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["rank", "model", "role", "kind", "run_id"] +
               [f"{g}{suffix}" for g in GROUPS for suffix in ("", "_ci_low", "_ci_high")])
    rank = 0
    for model in board.ranked:
        point = board.points.get(model, {})
        present = model in results.models and point.get("overall") is not None
        rank += present
        row = [rank if present else "", model, role_of(model), results.models.get(model, {}).get("kind", ""),
               results.models.get(model, {}).get("run_id", "")]
        for g in GROUPS:
            v = point.get(g)
            lo, hi = board.cis.get(model, {}).get(g, ("", ""))
            row += ["" if v is None else repr(float(v)), lo if lo == "" else repr(lo), hi if hi == "" else repr(hi)]
        w.writerow(row)
    return buf.getvalue()
