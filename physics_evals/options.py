"""The options that several `python -m physics_evals` commands share: declared once, with one type
each, so every command checks them alike (a bad value is one line before any work)."""
from __future__ import annotations

import argparse
from pathlib import Path

from toolkit.cli import positive_int
from toolkit.pool import default_workers

from .tasks import SUITES

EPISODES_ROOT = Path("data/eval_episodes")  # held-out episode cache
ROLLOUTS_ROOT = Path("rollouts")            # rollout cache (fixed contract 2)
RESULTS_ROOT = Path("results")              # results/<run_id>/ (fixed contract 3)


class CommaList(argparse.Action):
    """nargs="+" that also splits each value at commas: `--tasks a b`, `--tasks a,b` and `--tasks a, b`
    are the same list (the lm-evaluation-harness habit); empty pieces are dropped."""

    def __call__(self, parser, namespace, values, option_string=None):
        items = [v.strip() for value in values for v in value.split(",") if v.strip()]
        if not items:
            parser.error(f"{option_string} needs at least one name")
        setattr(namespace, self.dest, items)


def add_task_options(p, tasks_help: str = "task names (default: the whole suite)") -> None:
    """--suite, --tasks, --limit: which tasks, at which sizes, and how many episodes of each."""
    p.add_argument("--suite", default="default", choices=list(SUITES), help="task sizes and episode counts")
    p.add_argument("--tasks", nargs="+", action=CommaList, metavar="TASK",
                   help=tasks_help + "; a family (gravity) or a split (id, ood, comb) names its tasks; "
                                     "space- or comma-separated")
    p.add_argument("--limit", type=positive_int, help="at most N episodes per task")


def add_episodes_root(p) -> None:
    p.add_argument("--episodes-root", type=Path, default=EPISODES_ROOT, help="held-out episode cache")


def add_rollouts_root(p) -> None:
    p.add_argument("--rollouts-root", type=Path, default=ROLLOUTS_ROOT, help="rollout cache")


def add_workers(p, what: str = "processes") -> None:
    p.add_argument("--workers", type=positive_int, default=default_workers(), help=f"{what} (default: all cores)")
