"""Read results files (fixed contract 3) into one checked, merged view for the reports.

A report may draw on several runs. They merge by model: a (model, task) pair that
appears in more than one run is taken from the newest run. Runs that evaluated the same
task at different task versions cannot share a table, so they are refused.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..models import CEILING, FLOORS
from ..options import RESULTS_ROOT as DEFAULT_RESULTS_ROOT
from ..results import RESULTS_FILE, SAMPLES_FILE, SUMMARY_KEYS

GROUPS = SUMMARY_KEYS  # the summary columns of every table, in order
RESULTS_DIR = "results"  # inside a report folder: copies of the runs it was made from (what rebuilds it)


class ReportError(ValueError):
    """Results that cannot be reported; the message names the file and what is wrong."""


@dataclass
class Run:
    """One results.json with its samples.jsonl (if present)."""
    path: Path                                   # the results.json file
    data: dict                                   # its parsed contents
    samples: list[dict] = field(default_factory=list)  # rows of samples.jsonl (status ok or failed)

    @property
    def run_id(self) -> str:
        return str(self.data["run"].get("run_id", self.path.parent.name))

    @property
    def created(self) -> str:
        return str(self.data["run"].get("created", ""))


@dataclass
class Results:
    """Several runs merged: what the leaderboard tables are made of."""
    runs: list[Run]                    # oldest first
    tasks: dict[str, dict]             # task -> its record (family, version, ...)
    models: dict[str, dict]            # model -> {kind, source, run_id}
    scores: list[dict]                 # contract score rows, one per (model, task, metric)
    summary: dict[str, dict]           # model -> {group: value}, as the runs wrote it
    samples: list[dict]                # per-episode rows (model, task, episode_id, metric, value)
    run_of_model: dict[str, Run]       # the run each model's rollouts and summary come from
    metrics: dict[str, dict] = field(default_factory=dict)  # metric -> {group, higher_is_better, ...}
    episode_scores: object = field(default=None, repr=False, compare=False)  # stats.episode_scores' cache

    def families(self) -> list[str]:
        from scenarios.registry import FAMILY_ORDER
        present = {t["family"] for t in self.tasks.values()}
        return [f for f in FAMILY_ORDER if f in present] + sorted(present - set(FAMILY_ORDER))

    def tasks_of(self, family: str) -> list[str]:
        return sorted(t for t, rec in self.tasks.items() if rec["family"] == family)

    def metrics_of(self, task: str) -> list[str]:
        return sorted({s["metric"] for s in self.scores if s["task"] == task})


def load_run(path: str | Path) -> Run:
    """One results.json (or the run folder holding it), checked against the contract by the harness."""
    from physics_evals.results import load_results as read_checked
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_FILE
    data = read_checked(path)  # ResultsError (a ValueError) naming the file on any contract breach
    return Run(path=path, data=data, samples=_read_samples(path.parent / SAMPLES_FILE))


def _read_samples(path: Path) -> list[dict]:
    """Every row of samples.jsonl, failed ones included (they score 0 in the summary)."""
    if not path.is_file():
        return []
    rows = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ReportError(f"{path}: line {i} is not valid JSON ({e})") from None
    return rows


def find_results(paths: list[str | Path] | None = None, root: str | Path = DEFAULT_RESULTS_ROOT,
                 report: str | Path | None = None) -> list[Path]:
    """The results.json files to report on.

    No paths: the runs the `report` folder was made from (its results/ copies: a rebuild), or, when it
    has none, the newest run under `root`. A path may be a results.json, a run folder, or a folder of
    run folders (all of them).
    """
    copies = sorted(Path(report).glob(f"{RESULTS_DIR}/*/{RESULTS_FILE}")) if report is not None else []
    if not paths and copies:
        return copies
    if not paths:
        found = sorted(Path(root).glob(f"*/{RESULTS_FILE}"), key=lambda p: (p.stat().st_mtime, str(p)))
        if not found:
            raise ReportError(f"no results found under {root}/; run `python -m physics_evals run` first")
        return [found[-1]]
    files = []
    for p in map(Path, paths):
        if p.is_file():
            files.append(p)
        elif (p / RESULTS_FILE).is_file():
            files.append(p / RESULTS_FILE)
        elif p.is_dir() and sorted(p.glob(f"*/{RESULTS_FILE}")):
            files.extend(sorted(p.glob(f"*/{RESULTS_FILE}")))
        else:
            raise ReportError(f"{p}: no results found (expected a results.json or a folder holding one)")
    return files


def merge(runs: list[Run]) -> Results:
    """Merge runs; a model's rows come from the newest run that has it."""
    if not runs:
        raise ReportError("no results found")
    runs = sorted(runs, key=lambda r: (r.created, str(r.path)))
    tasks: dict[str, dict] = {}
    task_origin: dict[str, Path] = {}
    for run in runs:
        for name, rec in run.data["tasks"].items():
            if name in tasks and tasks[name]["version"] != rec["version"]:
                raise ReportError(f"task '{name}' is version {tasks[name]['version']} in {task_origin[name]} "
                                  f"but version {rec['version']} in {run.path}; report them separately")
            tasks.setdefault(name, rec)
            task_origin.setdefault(name, run.path)
    run_of_model = {m: run for run in runs for m in run.data["models"]}  # newest wins
    models = {m: dict(run.data["models"][m], run_id=run.run_id) for m, run in run_of_model.items()}
    scores = [s for m, run in run_of_model.items() for s in run.data["scores"] if s["model"] == m]
    samples = [s for m, run in run_of_model.items() for s in run.samples if s["model"] == m]
    summary = {m: run.data["summary"].get(m, {}) for m, run in run_of_model.items()}
    metrics: dict[str, dict] = {}
    for run in runs:
        for s in run.data["scores"]:
            if s.get("group") is not None:
                metrics.setdefault(s["metric"], {"group": s["group"], "higher_is_better": s["higher_is_better"]})
        metrics.update(run.data.get("metrics", {}))
    return Results(runs=runs, tasks=tasks, models=models, scores=scores, summary=summary,
                   samples=samples, run_of_model=run_of_model, metrics=metrics)


def load_results(paths: list[str | Path]) -> Results:
    return merge([load_run(p) for p in paths])


def role_of(model: str) -> str:
    return "ceiling" if model == CEILING else "floor" if model in FLOORS else ""
