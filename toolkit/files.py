"""Safe file I/O shared by every artefact the project writes.

Writes are atomic: the data goes to a hidden temporary name in the same folder
(`.<name>.<host>-<pid>.<random>.tmp`) and is renamed over the target, so a killed run never leaves a file
that looks complete. The writer's tag (a hash of the host name and the pid) lets a later write of the same
file remove what a killed writer left behind; on a shared file system another machine's temporary files
are judged by age alone, as their pids mean nothing here.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once: os.umask can only be read by setting it
STALE_TMP_S = 24 * 3600  # a temporary file of unknown writer this old is left over from a killed write
_HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]  # pids compare only on one machine


class FolderError(OSError):
    """A folder the command must write to cannot be used; the message names it and says why."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def writer_tag() -> str:
    """`<host>-<pid>`: put into temporary names so that a later writer can tell whether this one is gone."""
    return f"{_HOST}-{os.getpid()}"


def left_by_a_killed_writer(tmp: Path, tag: str) -> bool:
    """Whether a temporary file or folder belongs to a writer that is gone: its tag names this machine and a
    pid that is not running, or (another machine's, or no tag) it is older than STALE_TMP_S.
    FileNotFoundError if it went meanwhile."""
    host, _, pid = tag.partition("-")
    if host == _HOST and pid.isdigit():
        return not _alive(int(pid))
    return time.time() - tmp.stat().st_mtime > STALE_TMP_S


def remove_stale_tmp(path: str | os.PathLike) -> int:
    """Remove the temporary files of `path` left by killed atomic writes (their writer is gone);
    return how many. Live writers' files are left alone."""
    path = Path(path)
    removed = 0
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        tag = tmp.name[len(path.name) + 2:].split(".", 1)[0]
        try:
            if left_by_a_killed_writer(tmp, tag):
                tmp.unlink()
                removed += 1
        except (FileNotFoundError, ValueError):  # removed meanwhile by its writer
            continue
    return removed


def atomic_write_bytes(path: str | os.PathLike, data: bytes, durable: bool = True) -> None:
    """Write `data` to `path` so that readers see either the old file or the whole new one.
    An OSError (full disk, unwritable folder) always names the file.

    `durable=False` skips the fsync (about a millisecond a file): the rename alone keeps the write atomic
    for readers and against a killed process, not against a power cut. Use it only where a reader can
    tell a file lost that way (episodes: `is_current` checks frames.npz ends with its zip directory)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_tmp(path)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{writer_tag()}.", suffix=".tmp")
    except OSError as e:
        raise _named(e, e.filename or path.parent) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes files private; artefacts get the usual permissions
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError) and not e.filename:  # a write on a full disk names no file: name it
            raise _named(e, path) from None
        raise


def read_json(path: str | os.PathLike, error: type[Exception] = ValueError) -> Any:
    """A JSON file's contents; `error` (a one-line message naming the file) when it is not valid JSON."""
    try:
        return json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise error(f"{path}: not valid JSON ({e})") from None


def atomic_write_json(path: str | os.PathLike, obj: Any, indent: int | None = 1, durable: bool = True) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=indent) + "\n").encode(), durable)


def _named(e: OSError, filename) -> OSError:
    return type(e)(e.errno, e.strerror or str(e), str(filename)) if e.errno else OSError(f"{filename}: {e}")


def check_writable(folder: str | os.PathLike, what: str = "folder") -> Path:
    """Create `folder` if needed and prove a file can be written there, before any work that would
    end in writing to it; raises FolderError naming the folder and the reason."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".write-check.{os.getpid()}.", suffix=".tmp")
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        raise FolderError(f"{what} {folder} cannot be written: {e.strerror or e}") from None
    return folder
