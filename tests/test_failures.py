"""Every failure loud, clear and early, as a user sees it: a non-zero exit, one line naming what is wrong,
no traceback, nothing published as a 0 score, and an unusable folder caught before any work."""
import errno
import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from _evals_helpers import tiny_task
from physics_evals import evaluate
from physics_evals.__main__ import main
from physics_evals.episodes import ensure_episodes
from physics_evals.tasks import suite_tasks
from scenarios import load_episode
from scenarios.__main__ import main as scenarios_main
from scenarios.episode import FRAMES_FILE
from toolkit.provenance import PROJECT_ROOT

REFERENCE = PROJECT_ROOT / "simulator" / "reference"


def one_error_line(capsys) -> str:
    err = [line for line in capsys.readouterr().err.splitlines()  # notes and progress bars aside
           if line.strip() and not line.startswith("note: ") and "%|" not in line]
    assert len(err) == 1 and err[0].startswith("error: ") and "Traceback" not in err[0], err
    return err[0]


@pytest.fixture
def roots(tmp_path):
    return {"--out": tmp_path / "results", "--rollouts-root": tmp_path / "rollouts",
            "--episodes-root": tmp_path / "episodes"}


def run_argv(roots, models=("ground_truth",), **replace):
    argv = ["run", "--tasks", "gravity-drop", "--limit", "1", "--models", *models, "--workers", "1",
            "--no-progress", "--no-report"]
    for key, path in {**roots, **replace}.items():
        argv += [key, str(path)]
    return argv


# ------------------------------------------------------------------------------------ folders, before any work
@pytest.mark.parametrize("option, what", [("--rollouts-root", "rollout cache"), ("--out", "results folder"),
                                          ("--episodes-root", "episode cache")])
def test_an_unusable_folder_stops_the_run_before_any_work(tmp_path, roots, capsys, option, what):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main(run_argv(roots, **{option: blocker / "sub"})) != 0
    line = one_error_line(capsys)
    assert what in line and str(blocker / "sub") in line
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").iterdir())
    assert not (tmp_path / "episodes").exists() or not any((tmp_path / "episodes").rglob("meta.json"))


def test_export_and_report_check_their_out_folder(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["export", "--tasks", "gravity-drop", "--limit", "1", "--out", str(blocker),
                 "--episodes-root", str(tmp_path / "episodes"), "--workers", "1"]) != 0
    assert str(blocker) in one_error_line(capsys)
    assert not (tmp_path / "episodes").exists()  # caught before any episode was made
    assert main(["report", str(PROJECT_ROOT / "reports" / "results"), "--out", str(blocker)]) != 0
    assert str(blocker) in one_error_line(capsys)


def test_simulator_train_checks_its_run_folder_first(tmp_path, capsys):
    from simulator.__main__ import main as simulator_main
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert simulator_main(["train", "--out", str(blocker / "run"), "--steps", "1", "--data", str(tmp_path / "data"),
                           "--quiet"]) == 1
    assert str(blocker / "run") in one_error_line(capsys)
    assert not (tmp_path / "data").exists()  # no episode was made

def test_a_full_disk_names_the_file_generate_was_writing(tmp_path, capsys, monkeypatch):
    import io

    import toolkit.files

    class FullDisk(io.FileIO):  # the file opens, its bytes do not fit
        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(toolkit.files.os, "fdopen", lambda fd, mode: FullDisk(fd, "wb"))
    code = scenarios_main(["generate", "--scenario", "free_fall", "--n", "1", "--out", str(tmp_path),
                           "--height", "32", "--width", "32", "--frames", "6", "--workers", "1"])
    line = one_error_line(capsys)
    assert code == 1 and line.endswith(f"{FRAMES_FILE}: No space left on device")
    assert str(tmp_path / "gravity" / "free_fall") in line
    assert not list(tmp_path.rglob("*.tmp"))  # the atomic write cleaned up after itself


# ------------------------------------------------------------------------------------ models that cannot load
def _corrupt(folder: Path, how: str) -> None:
    weights = next(folder.glob("*.safetensors"))
    if how == "wrong sha256":
        manifest = json.loads((folder / "manifest.json").read_text())
        next(iter(manifest["files"].values()))["sha256"] = "0" * 64
        (folder / "manifest.json").write_text(json.dumps(manifest))
    elif how == "truncated":
        weights.write_bytes(weights.read_bytes()[:1000])
    elif how == "pickle":
        import hashlib
        import pickle
        data = pickle.dumps({"weights": [1.0, 2.0]})
        weights.write_bytes(data)  # the manifest's sha256 matches: only the format gives it away
        manifest = json.loads((folder / "manifest.json").read_text())
        next(iter(manifest["files"].values()))["sha256"] = hashlib.sha256(data).hexdigest()
        (folder / "manifest.json").write_text(json.dumps(manifest))
    elif how == "no manifest":
        (folder / "manifest.json").unlink()


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="needs the committed reference checkpoint")
@pytest.mark.parametrize("how", ["wrong sha256", "truncated", "pickle", "no manifest"])
def test_a_checkpoint_that_cannot_load_ends_the_run_named_and_unscored(tmp_path, roots, capsys, monkeypatch, how):
    bad = tmp_path / "bad-checkpoint"
    shutil.copytree(REFERENCE, bad)
    _corrupt(bad, how)
    import simulator.adapter
    loads = []
    real_load = simulator.adapter.load
    monkeypatch.setattr(simulator.adapter, "load", lambda *a, **k: loads.append(a) or real_load(*a, **k))
    assert main(run_argv(roots, models=("ground_truth", f"broken=checkpoint:{bad}"))) == 2
    line = one_error_line(capsys)
    assert line.startswith(f"error: model broken: checkpoint {bad} cannot be loaded")
    assert len(loads) == 1  # loaded once, not once per clip
    assert not list((tmp_path / "results").rglob("results.json"))  # never published, not even as 0
    assert not list((tmp_path / "episodes").rglob("meta.json"))  # and found before any episode was made


def test_a_model_none_of_whose_rollouts_can_be_scored_ends_the_run_unpublished(tmp_path, roots, capsys):
    empty = tmp_path / "no-rollouts"  # an outside model's folder holding no file for the task
    (empty / "gravity-drop").mkdir(parents=True)
    assert main(run_argv(roots, models=("ground_truth", f"outside=rollouts:{empty}"))) != 0
    line = one_error_line(capsys)
    assert line.startswith("error: model outside: no rollout could be scored (first error: ") and "missing" in line
    published = list((tmp_path / "results").rglob("results.json"))
    assert len(published) == 1 and str(published[0]) in line  # the other models' results stand
    assert "outside" not in json.loads(published[0].read_text())["summary"]  # never published as 0


# ------------------------------------------------------------------------------------ caches and names
def test_a_truncated_cached_episode_is_made_again(tmp_path):
    task = tiny_task(n_episodes=1)
    assert ensure_episodes([task], tmp_path, workers=1, progress=False) == {}
    (folder,) = task.episode_folders(tmp_path)
    frames = folder / FRAMES_FILE
    whole = frames.read_bytes()
    frames.write_bytes(whole[:len(whole) // 2])  # a disk that filled up, a copy that was cut short
    assert ensure_episodes([task], tmp_path, workers=1, progress=False) == {}
    assert frames.read_bytes() == whole  # the same seed makes the same bytes
    load_episode(folder)


def test_two_runs_finishing_in_the_same_second_take_two_folders(tmp_path, monkeypatch):
    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2026, 1, 2, 3, 4, 5)
    monkeypatch.setattr(evaluate, "datetime", Frozen)
    stem = "20260102-030405-default-seed0"
    real_exists = Path.exists

    def racing_exists(self, *a, **k):  # another run creates the folder right after this one looked
        seen = real_exists(self, *a, **k)
        if self.name == stem and not seen:
            self.mkdir(parents=True)
        return seen
    monkeypatch.setattr(Path, "exists", racing_exists)
    first = evaluate._run_id(tmp_path, "default", 0)
    second = evaluate._run_id(tmp_path, "default", 0)
    assert {first, second} <= {stem, f"{stem}-2", f"{stem}-3"} and first != second
    assert (tmp_path / first).is_dir() and (tmp_path / second).is_dir()


# ------------------------------------------------------------------------------------ bad input, one line
@pytest.mark.parametrize("limit", ["0", "-1"])
def test_validate_refuses_a_limit_below_one(tmp_path, capsys, limit):
    with pytest.raises(SystemExit) as exit_:
        main(["validate", str(tmp_path), "--tasks", "gravity-drop", "--limit", limit])
    assert exit_.value.code == 2
    assert "--limit" in one_error_line(capsys)


@pytest.mark.parametrize("tasks, message", [
    (["gravity-drop"], "'tasks' must be a non-empty object"),
    ({"gravity-drop": {"horizon": 24, "height": 64, "width": 64, "fps": 15, "episode_ids": []}},
     "task gravity-drop: 'episode_ids' must be a non-empty list"),
])
def test_validate_refuses_a_manifest_of_the_wrong_shape(tmp_path, capsys, tasks, message):
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"schema_version": 1, "tasks": tasks}))
    (tmp_path / "rollouts" / "m" / "gravity-drop").mkdir(parents=True)
    assert main(["validate", str(tmp_path / "rollouts"), "--manifest", str(manifest)]) == 2
    line = one_error_line(capsys)
    assert str(manifest) in line and message in line


@pytest.mark.parametrize("key", ["summary", "tasks", "models"])
def test_report_refuses_results_whose_sections_are_not_objects(tmp_path, capsys, key):
    data = {"schema_version": 1, "run": {"run_id": "r", "created": "", "git_revision": "x", "versions": {}, "seed": 0,
                                         "command": ""},
            "tasks": {}, "models": {}, "scores": [], "summary": {}}
    data[key] = ["not", "an", "object"]
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "results.json").write_text(json.dumps(data))
    assert main(["report", str(tmp_path / "run"), "--out", str(tmp_path / "report")]) == 2
    line = one_error_line(capsys)
    assert f"{key} is not an object" in line and "results.json" in line


def test_garbage_files_are_named_for_what_they_are_and_decoders_stay_quiet(tmp_path, capfd):
    folder = tmp_path / "m" / "gravity-drop"
    folder.mkdir(parents=True)
    ids = suite_tasks("default")["gravity-drop"].episode_ids()
    (folder / f"{ids[0]}.npz").write_bytes(b"this is not an npz archive at all" * 10)
    (folder / f"{ids[1]}.mp4").write_bytes(bytes(range(256)) * 12)
    assert main(["validate", str(tmp_path), "--tasks", "gravity-drop", "--limit", "2"]) == 2
    out, err = capfd.readouterr()  # file-descriptor level: what OpenCV or FFmpeg would print shows here
    lines = err.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("error: ") for line in lines), err
    assert f"{ids[0]}.npz: not an npz archive" in lines[0] and "pickled" not in err
    assert f"{ids[1]}.mp4: corrupt or empty video" in lines[1]


@pytest.mark.parametrize("argv", [["train", "--steps", "abc"], ["train", "--steps", "-1"], ["train", "--workers", "-3"],
                                  ["sample", "--checkpoint", "x", "--episode", "y", "--horizon", "0"]])
def test_simulator_usage_mistakes_are_one_line(capsys, argv):
    from simulator.__main__ import main as simulator_main
    with pytest.raises(SystemExit) as exit_:
        simulator_main(argv)
    assert exit_.value.code == 2
    assert argv[-2] in one_error_line(capsys)
