"""`python -m physics_evals <command>`: one entry point; each command lives in its own module that
exposes `add_arguments(parser)` and `main(args) -> int` and is imported only when it is run."""
from __future__ import annotations

import argparse
import importlib
import shlex
import sys

from toolkit.cli import OneLineParser, run_command

COMMANDS = {  # command -> (module, one-line help)
    "run": ("physics_evals.run_cli", "score models on tasks and write results/<run_id>/"),
    "ls": ("physics_evals.listing", "list tasks, models or metrics"),
    "export": ("physics_evals.export", "write the conditioning pack (context frames, captions) for outside models"),
    "validate": ("physics_evals.validate", "check a rollout folder against the tasks before scoring"),
    "probe": ("physics_evals.probe_cli", "pairwise accuracy of the metrics on violation-of-expectation probes"),
    "report": ("physics_evals.report.cli", "write the leaderboard and figures from results files"),
    "ablate": ("physics_evals.ablate", "ablation tables across runs"),
    "bundle": ("physics_evals.bundle:bundle", "pack a results folder with the sha256 of every rollout into one archive"),
    "verify": ("physics_evals.bundle:verify", "check a bundle's hashes and numbers, and rescore it from its rollouts"),
}
# "module:name" is a module serving several commands through add_<name>_arguments and <name>_main


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    top = argparse.ArgumentParser(prog="python -m physics_evals", description="Does the generated world obey physics?",
                                  formatter_class=argparse.RawDescriptionHelpFormatter,
                                  epilog="commands:\n" + "\n".join(f"  {k:<9} {h}" for k, (_, h) in COMMANDS.items()))
    top.add_argument("command", choices=list(COMMANDS), metavar="command", help="one of: " + ", ".join(COMMANDS))
    top.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    if not argv or argv[0] in ("-h", "--help"):
        top.print_help()
        return 0 if argv else 2
    ns = top.parse_args(argv[:1])
    module_name, help_line = COMMANDS[ns.command]
    module_name, _, entry = module_name.partition(":")
    module = importlib.import_module(module_name)
    add_arguments = getattr(module, f"add_{entry}_arguments" if entry else "add_arguments")
    command_main = getattr(module, f"{entry}_main" if entry else "main")
    parser = OneLineParser(prog=f"python -m physics_evals {ns.command}", description=help_line)
    add_arguments(parser)
    args = parser.parse_args(argv[1:])
    args.command_line = "python -m physics_evals " + shlex.join(argv)  # recorded in results and manifests
    return run_command(lambda: command_main(args), interrupted="interrupted; rerun the same command to resume from the caches")


if __name__ == "__main__":
    sys.exit(main())
