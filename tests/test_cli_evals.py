"""`python -m physics_evals`: run, ls, export -> validate round trip, and one-line errors."""
import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from _evals_helpers import write_npz
from physics_evals.__main__ import main
from physics_evals.tasks import TASK_DEFS, suite_tasks

DROP = suite_tasks("default")["gravity-drop"]


@pytest.fixture
def roots(tmp_path):
    """--out/--rollouts-root/--episodes-root arguments inside tmp_path."""
    return ["--out", str(tmp_path / "results"), "--rollouts-root", str(tmp_path / "rollouts"),
            "--episodes-root", str(tmp_path / "episodes")]


def test_ls_lists_tasks_models_and_metrics(capsys):
    assert main(["ls", "tasks"]) == 0
    out = capsys.readouterr().out
    assert all(d.name in out for d in TASK_DEFS)
    assert main(["ls", "models"]) == 0
    out = capsys.readouterr().out
    assert all(m in out for m in ("ground_truth", "resimulated", "copy_last_frame", "linear_extrapolation",
                                  "rollouts:DIR", "checkpoint:PATH"))
    assert main(["ls", "metrics"]) == 0
    assert "presence_accuracy" in capsys.readouterr().out


def test_run_prints_a_table_writes_results_and_hands_them_to_the_report(tmp_path, roots, capsys, monkeypatch):
    import physics_evals.report as report
    calls = []
    monkeypatch.setattr(report, "write_report", lambda paths, out: calls.append((paths, out)))
    code = main(["run", "--tasks", "gravity-drop", "--limit", "1", "--models", "ground_truth", "copy_last_frame",
                 "--workers", "1", "--no-progress", *roots])
    assert code == 0
    out = capsys.readouterr().out
    assert "overall" in out and "gravity-drop" in out and "copy_last_frame" in out
    (path,) = (tmp_path / "results").glob("*/results.json")
    res = json.loads(path.read_text())
    assert res["run"]["command"].startswith("python -m physics_evals")
    assert set(res["models"]) == {"ground_truth", "copy_last_frame", "resimulated"}  # the ceiling is always run
    assert calls == [([path], __import__("pathlib").Path("reports"))]


@pytest.mark.parametrize("argv,message", [
    (["run", "--tasks", "nope"], "error: unknown task 'nope'; choose from gravity-drop"),
    (["run", "--tasks", "gravity-drop", "--models", "gpt"], "error: unknown model 'gpt'"),
    (["run", "--tasks", "gravity-drop", "--models", "rollouts:/no/such"], "error: rollouts:/no/such: no such folder"),
    (["validate", "/no/such/dir"], "error: rollouts:/no/such/dir: no such folder"),
    (["validate", ".", "--manifest", "/no/manifest.json"], "error: /no/manifest.json: no such manifest"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, roots, capsys):
    assert main(argv + (roots if argv[0] == "run" else [])) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(message) and len(err) == 1


def test_the_real_command_prints_no_traceback(tmp_path):
    r = subprocess.run([sys.executable, "-m", "physics_evals", "run", "--tasks", "nope", "--out", str(tmp_path)],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith("error: unknown task 'nope'") and "Traceback" not in r.stderr


def test_export_then_validate_round_trips(tmp_path, roots, capsys):
    pack, outside = tmp_path / "pack", tmp_path / "outside"
    assert main(["export", "--tasks", "gravity-drop", "--limit", "2", "--out", str(pack), "--workers", "1",
                 "--episodes-root", str(tmp_path / "episodes")]) == 0
    manifest = json.loads((pack / "manifest.json").read_text())
    t = manifest["tasks"]["gravity-drop"]
    assert (t["fps"], t["height"], t["width"], t["context_frames"], t["horizon"]) == (15, 64, 64, DROP.context, DROP.horizon)
    assert t["episode_ids"] == DROP.episode_ids()[:2]
    # an outside user: continue each context by repeating its last PNG; one as .npz, one as .mp4
    for k, e in enumerate(t["episodes"]):
        assert len(e["context_pngs"]) == DROP.context and (pack / e["caption_file"]).read_text().strip() == e["caption"]
        cap = cv2.VideoCapture(str(pack / e["context_video"]))
        assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == DROP.context
        cap.release()
        last = cv2.cvtColor(cv2.imread(str(pack / e["context_pngs"][-1])), cv2.COLOR_BGR2RGB)
        frames = np.repeat(last[None], t["horizon"], axis=0)
        if k == 0:
            write_npz(outside, "mine", "gravity-drop", e["episode_id"], frames)
        else:
            from physics_evals.rollouts import write_mp4
            write_mp4(outside / "mine" / "gravity-drop" / f"{e['episode_id']}.mp4", frames, t["fps"])
    capsys.readouterr()
    assert main(["validate", str(outside), "--manifest", str(pack / "manifest.json")]) == 0
    assert "2 rollouts ok, 0 problems" in capsys.readouterr().out
    # the same check from the suite's own tasks
    assert main(["validate", str(outside), "--tasks", "gravity-drop", "--limit", "2"]) == 0
    assert "1 rollouts store colour at lower resolution (yuv420p)" in capsys.readouterr().err
    # a model at half the task's frame rate passes, with a note that its frames will be held
    path = write_npz(tmp_path / "half", "mine", "gravity-drop", t["episode_ids"][0], frames[::2])
    np.savez(path, rgb=frames[::2], fps=t["fps"] / 2)
    assert main(["validate", str(tmp_path / "half"), "--tasks", "gravity-drop", "--limit", "1"]) == 0
    assert "1 rollouts at 7.5 fps, below the task's 15: each frame is held" in capsys.readouterr().err
    # and the outside model scores through run
    assert main(["run", "--tasks", "gravity-drop", "--limit", "2", "--models", f"rollouts:{outside}",
                 "--workers", "1", "--no-progress", "--no-report", *roots]) == 0
    (path,) = (tmp_path / "results").glob("*/results.json")
    assert json.loads(path.read_text())["models"]["mine"]["kind"] == "rollouts"


def test_validate_names_every_bad_file(tmp_path, capsys):
    ids = DROP.episode_ids()
    good = np.zeros((DROP.horizon, 64, 64, 3), np.uint8)
    write_npz(tmp_path, "m", "gravity-drop", ids[0], good[:5])
    write_npz(tmp_path, "m", "gravity-drop", ids[1], good.astype(np.float64))
    (tmp_path / "m" / "gravity-drop" / f"{ids[2]}.mp4").write_bytes(b"\x00" * 100)
    assert main(["validate", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    err = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert len(err) == 3
    assert f"{ids[0]}.npz: 5 frames, task gravity-drop needs {DROP.horizon}" in err[0]
    assert f"{ids[1]}.npz: dtype float64, expected uint8" in err[1]
    assert f"{ids[2]}.mp4: corrupt or empty video" in err[2]
    assert "0 rollouts ok, 3 problems" in captured.out
