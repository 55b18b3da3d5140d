"""toolkit/: the shared command-line wrapper, atomic writes and the physics fingerprint."""
import errno
import os
import shutil
from pathlib import Path

import pytest

import scenarios
from scenarios.episode import physics_fingerprint
from toolkit import files
from toolkit.cli import run_command


def test_fingerprint_covers_the_physics_only(tmp_path):
    pkg = tmp_path / "scenarios"
    shutil.copytree(Path(scenarios.__file__).parent, pkg, ignore=shutil.ignore_patterns("__pycache__"))
    before = physics_fingerprint(pkg)
    for plumbing in ("__main__.py", "generate.py", "registry.py"):
        (pkg / plumbing).write_text((pkg / plumbing).read_text() + "\n# a change that is not physics\n")
    assert physics_fingerprint(pkg) == before
    for physics in ("engine.py", "gravity/free_fall.py"):
        (pkg / physics).write_text((pkg / physics).read_text() + "\nX = 1\n")
        assert physics_fingerprint(pkg) != before
        before = physics_fingerprint(pkg)
