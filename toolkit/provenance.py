"""What every artefact records about how it was made: package versions and the git revision."""
from __future__ import annotations

import functools
import hashlib
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path

_PACKAGES = ("numpy", "scipy", "pybullet", "opencv-python-headless", "torch", "einops",
             "pandas", "matplotlib", "safetensors")
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@functools.lru_cache(maxsize=1)
def git_revision() -> str:
    """The project's git revision, with '+dirty' when the work tree has changes; 'unknown' outside git."""
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_ROOT,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def source_digest(root: Path, paths) -> str:
    """16 hex digits over source files (paths under root): each one's path relative to root and its bytes,
    in the order given. The fingerprint of the code that made an artefact, for caches keyed by it."""
    h = hashlib.sha256()
    for path in paths:
        h.update(str(Path(path).relative_to(root)).encode() + b"\0" + Path(path).read_bytes() + b"\0")
    return h.hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def versions() -> dict[str, str]:
    """Installed versions of the packages that shape an artefact, plus the project's git revision."""
    out = {}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    out["git_revision"] = git_revision()
    return out


def command_line(argv: list[str] | None = None) -> str:
    """The command that made an artefact, as a user would type it: `python -m simulator train ...` for a
    package's __main__.py, `python script.py ...` otherwise."""
    argv = sys.argv if argv is None else argv
    if not argv:
        return ""
    first = Path(argv[0])
    head = ["python", "-m", first.parent.name] if first.name == "__main__.py" else ["python", argv[0]]
    return shlex.join(head + list(argv[1:]))
