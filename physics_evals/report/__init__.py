"""Leaderboards from results files: reports/leaderboard.md, leaderboard.csv, index.html and figures.

    write_report([Path("results/<run_id>/results.json")], Path("reports"))

Everything is rendered in memory and written to a temporary folder first; only when the
whole report exists are its files moved into place, so a failure (bad input, a full disk)
never leaves a half-written report next to an old one.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from toolkit.files import check_writable

from .leaderboard import build, to_csv, to_markdown
from .load import ReportError, find_results, load_results

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
    return files


def install(files: dict[str, bytes], out_dir: Path) -> None:
    """Write all files to a temporary folder inside out_dir, then move each into place."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir, prefix=".report-"))
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


def write_report(results_files: list[Path], out_dir: Path) -> Path:
    """Write the leaderboard for these results files into out_dir; returns the index.html path."""
    out_dir = check_writable(out_dir, "report folder")  # before any rendering
    if not results_files:
        raise ReportError("no results found: give results files or run `python -m physics_evals run` first")
    install(render([Path(p) for p in results_files]), out_dir)
    return out_dir / "index.html"
