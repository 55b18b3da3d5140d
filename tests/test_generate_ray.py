"""`generate --backend ray`: the same episodes, byte for byte, as local generation, and the same resuming.

Starts a local Ray cluster of 2 CPUs (about 10 s). Skipped where Ray is not installed
(`pip install -e ".[cluster]"`); CI installs it.
"""
from pathlib import Path

import pytest

from scenarios.__main__ import main
from scenarios.episode import META_FILE

ray = pytest.importorskip("ray", reason='Ray is not installed: pip install -e ".[cluster]" to test --backend ray')

SMALL = ["--height", "32", "--width", "32", "--frames", "6"]
BATCH = ["generate", "--scenario", "free_fall", "bite", "strike", "--n", "3", "--seed", "3", *SMALL]


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def cluster():
    for attempt in (1, 2):  # Ray gives its local node 30 s to start; an overloaded machine can miss that once
        try:
            ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
            break
        except Exception as e:
            ray.shutdown()
            if attempt == 2 or "timed out during startup" not in str(e):
                raise
    yield
    ray.shutdown()


def test_ray_backend_writes_what_local_writes_and_resumes(cluster, tmp_path):
    local, remote = tmp_path / "local", tmp_path / "ray"
    assert main([*BATCH, "--out", str(local), "--workers", "1"]) == 0
    assert main([*BATCH, "--out", str(remote), "--backend", "ray"]) == 0
    made = files(local)
    assert len(made) == 6 and files(remote) == made  # frames.npz and meta.json, byte for byte

    folders = sorted(p.parent for p in remote.rglob(META_FILE))
    kept = (folders[0] / META_FILE).stat().st_mtime_ns
    (folders[1] / META_FILE).unlink()  # as if the task was killed before its meta.json
    (folders[2] / "frames.npz").write_bytes(b"cut short")  # as if a frames.npz was lost to a power cut
    assert main([*BATCH, "--out", str(remote), "--backend", "ray"]) == 0
    assert (folders[0] / META_FILE).stat().st_mtime_ns == kept  # complete episodes are not remade
    assert files(remote) == made


def test_urls_are_refused_in_one_line(capsys):
    assert main([*BATCH, "--out", "s3://bucket/episodes", "--backend", "ray"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "s3://bucket/episodes" in err and "shared filesystem" in err
