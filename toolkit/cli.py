"""Command-line plumbing shared by the three entry points: argument types, the one-line usage parser,
and `run_command`, which turns every expected failure into one line on stderr and a non-zero exit."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Callable

DEBUG_ENV = "WSB_DEBUG"  # set it to see the traceback behind a one-line error


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def non_negative_int(text: str) -> int:
    value = int(text) if text.lstrip("-").isdigit() else None
    if value is None or value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


class OneLineParser(argparse.ArgumentParser):
    """Usage mistakes print one line, not the whole usage block."""

    def error(self, message):
        self.exit(2, f"error: {self.prog}: {message} (see --help)\n")


def os_error_line(e: OSError) -> str:
    """'error: <file>: <reason>' (a full disk, an unwritable or missing folder)."""
    if e.filename and e.strerror:
        return f"error: {e.filename}: {e.strerror}"
    return f"error: {e}"


def run_command(fn: Callable[[], int | None], interrupted: str = "interrupted; rerun the same command to resume") -> int:
    """Run one command and return its exit status. Known failures end in one line, never a traceback:
    bad input (ValueError and the project's errors derived from it) exits 2, a file-system error
    (OSError, which names its file) 1, an interrupt 130; output piped into a reader that closed early
    (`| head`) is not an error. Set WSB_DEBUG=1 to see the traceback instead."""
    try:
        return int(fn() or 0)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
    except KeyboardInterrupt:
        print(interrupted, file=sys.stderr)
        return 130
    except (ValueError, OSError) as e:
        if os.environ.get(DEBUG_ENV):
            raise
        if isinstance(e, OSError):
            print(os_error_line(e), file=sys.stderr)
            return 1
        print(f"error: {e}", file=sys.stderr)
        return 2
