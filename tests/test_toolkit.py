"""toolkit/: the shared command-line wrapper, atomic writes and the physics fingerprint."""
import errno
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


def test_a_killed_writers_temporary_files_are_removed_by_the_next_write(tmp_path):
    target = tmp_path / "frames.npz"
    dead = subprocess_pid_that_exited()
    host = files.writer_tag().split("-")[0]
    left = tmp_path / f".frames.npz.{host}-{dead}.abc123.tmp"     # a writer killed mid-write
    live = tmp_path / f".frames.npz.{files.writer_tag()}.def456.tmp"  # a writer still at work
    other = tmp_path / f".meta.json.{host}-{dead}.ghi789.tmp"     # another file's: not this write's business
    remote = tmp_path / f".frames.npz.0000beef-{dead}.jkl012.tmp"  # another machine's, on a shared disk: too new
    for p in (left, live, other, remote):
        p.write_bytes(b"partial")
    files.atomic_write_bytes(target, b"whole")
    assert target.read_bytes() == b"whole"
    assert not left.exists() and live.exists() and other.exists() and remote.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, live.name, other.name, remote.name])


def subprocess_pid_that_exited() -> int:
    import subprocess
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_an_unwritable_folder_is_named_before_any_work(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(files.FolderError, match=f"results folder {blocker / 'out'} cannot be written"):
        files.check_writable(blocker / "out", "results folder")
    assert files.check_writable(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert list((tmp_path / "a" / "b").iterdir()) == []  # the probe leaves nothing behind


@pytest.mark.parametrize("error, code, line", [
    (ValueError("bad input"), 2, "error: bad input"),
    (OSError(errno.ENOSPC, "No space left on device", "/data/x.npz"), 1, "error: /data/x.npz: No space left on device"),
    (KeyboardInterrupt(), 130, "interrupted; rerun the same command to resume"),
])
def test_every_expected_failure_is_one_line_and_an_exit_status(capsys, error, code, line):
    def command():
        raise error
    assert run_command(command) == code
    captured = capsys.readouterr()
    assert captured.err == line + "\n" and captured.out == ""



def test_toolkit_imports_none_of_the_packages_and_no_torch():
    import subprocess
    import sys
    code = ("import sys, toolkit.cli, toolkit.files, toolkit.pool, toolkit.provenance; "
            "bad = {'torch', 'scenarios', 'simulator', 'physics_evals'} & set(sys.modules); assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def _twice(x):
    return [x, x]


@pytest.mark.parametrize("workers", [1, 2])
def test_map_concat_keeps_job_order_in_process_and_in_a_pool(workers):
    from toolkit.pool import map_concat
    assert map_concat(_twice, [3, 1, 2], workers) == [3, 3, 1, 1, 2, 2]


def test_command_line_is_what_a_user_types():
    from toolkit.provenance import command_line
    assert command_line(["/x/simulator/__main__.py", "train", "--set", "model.dim=64"]) == \
        "python -m simulator train --set model.dim=64"
    assert command_line(["benchmarks/bench_scoring.py", "--seeds", "2"]) == "python benchmarks/bench_scoring.py --seeds 2"
