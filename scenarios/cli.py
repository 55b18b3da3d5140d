"""Argument types and the parser shared by the project's command lines: bad input is one line."""
from __future__ import annotations

import argparse


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
