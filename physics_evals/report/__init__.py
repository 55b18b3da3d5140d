"""Leaderboards from results files: reports/leaderboard.md, leaderboard.csv, index.html and figures.

    write_report([Path("results/<run_id>/results.json")], Path("reports"))

Everything is rendered in memory and written to a temporary folder first; only when the
whole report exists are its files moved into place, so a failure (bad input, a full disk)
never leaves a half-written report next to an old one.

A report carries the results it was made from: `<out>/results/<run_id>/results.json` and
`samples.jsonl`, cited under Provenance. Committed with it, they rebuild it from the repository
(`python -m physics_evals report` with no RESULTS rebuilds the report folder from its own copies):
leaderboard.md and .csv come out byte for byte; the galleries of index.html also need the episode and
rollout caches, and say where they looked when those are absent.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from toolkit.files import check_writable, left_by_a_killed_writer, writer_tag

from ..results import RESULTS_FILE, SAMPLES_FILE
from .leaderboard import build, to_csv, to_markdown
from .load import RESULTS_DIR, ReportError, find_results, load_results

__all__ = ["ReportError", "find_results", "write_report"]

FIGURES = {"summary": "figures/summary.png", "families": "figures/families.png"}


def render(results_files: list[Path]) -> dict[str, bytes]:
    """Every file of the report, by path relative to the report folder."""
    from . import figures, gallery, html  # matplotlib and PIL only when a report is made

    results = load_results(results_files)
    board = build(results)
    pngs = {"summary": figures.summary_bars(board.ranked, board.points, board.cis)}
    fam = figures.family_breakdown(board.ranked, results.families(), board.family_points, board.family_cis)
    if fam is not None:
        pngs["families"] = fam
    galleries = {m: (gallery.examples(results, m), gallery.worst_failures(results, m)) for m in results.models}
    titles = {"summary": "Summary scores with 95% CIs", "families": "Overall score per family with 95% CIs"}
    files = {FIGURES[k]: v for k, v in pngs.items()}
    files["leaderboard.md"] = to_markdown(board, results, {titles[k]: FIGURES[k] for k in pngs}).encode()
    files["leaderboard.csv"] = to_csv(board, results).encode()
    files["index.html"] = html.page(board, results, {titles[k]: v for k, v in pngs.items()}, galleries).encode()
    files.update(result_copies(results))
    return files


def result_copies(results) -> dict[str, bytes]:
    """Each run's results.json and samples.jsonl, at results/<run_id>/ in the report folder."""
    files = {}
    for run in results.runs:
        rel = f"{RESULTS_DIR}/{run.run_id}"
        if f"{rel}/{RESULTS_FILE}" in files:
            raise ReportError(f"{run.path}: two runs are both named {run.run_id}; report them separately")
        files[f"{rel}/{RESULTS_FILE}"] = run.path.read_bytes()
        samples = run.path.parent / SAMPLES_FILE
        if samples.is_file():
            files[f"{rel}/{SAMPLES_FILE}"] = samples.read_bytes()
    return files


def install(files: dict[str, bytes], out_dir: Path) -> None:
    """Write all files to a temporary folder inside out_dir, then move each into place."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob(".report-*"):  # the temporary folder of a report killed while writing
        try:
            if old.is_dir() and left_by_a_killed_writer(old, "-".join(old.name.split("-")[1:3])):
                shutil.rmtree(old, ignore_errors=True)
        except FileNotFoundError:
            continue
    tmp = Path(tempfile.mkdtemp(dir=out_dir, prefix=f".report-{writer_tag()}-"))
    try:
        for rel, data in files.items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            with open(tmp / rel, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        for rel in files:  # same file system: each rename is atomic and cannot fail half-way
            (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp / rel, out_dir / rel)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    runs = {Path(rel).parts[1] for rel in files if Path(rel).parts[0] == RESULTS_DIR}
    if runs:  # the copies of runs this report no longer draws on go
        for old in (out_dir / RESULTS_DIR).iterdir():
            if old.is_dir() and old.name not in runs:
                shutil.rmtree(old)


def write_report(results_files: list[Path], out_dir: Path) -> Path:
    """Write the leaderboard for these results files into out_dir; returns the index.html path."""
    out_dir = check_writable(out_dir, "report folder")  # before any rendering
    if not results_files:
        raise ReportError("no results found: give results files or run `python -m physics_evals run` first")
    install(render([Path(p) for p in results_files]), out_dir)
    return out_dir / "index.html"
