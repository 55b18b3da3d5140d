"""`python -m scenarios`: generate (resumable), ls, preview, and one-line errors."""
import json
import subprocess
import sys

import pytest
from PIL import Image

from scenarios import FAMILIES, SCENARIOS, load_episode
from scenarios.__main__ import main
from scenarios.episode import META_FILE, scenarios_fingerprint

SMALL = ["--height", "32", "--width", "32", "--frames", "6", "--workers", "1"]


def test_generate_is_resumable(tmp_path, capsys):
    out = tmp_path / "eps"
    assert main(["generate", "--scenario", "free_fall", "--n", "3", "--seed", "0", "--out", str(out), *SMALL]) == 0
    folders = sorted((out / "gravity" / "free_fall").iterdir())
    assert [f.name for f in folders] == ["free_fall-0000000", "free_fall-0000001", "free_fall-0000002"]
    kept = (folders[0] / META_FILE).stat().st_mtime_ns
    (folders[1] / META_FILE).unlink()  # as if killed while writing episode 1
    stale = json.loads((folders[2] / META_FILE).read_text())
    stale["versions"]["scenarios_source"] = "older-code"  # as if made before the scenario code changed
    (folders[2] / META_FILE).write_text(json.dumps(stale))
    assert main(["generate", "--scenario", "free_fall", "--n", "3", "--seed", "0", "--out", str(out), *SMALL]) == 0
    assert (folders[0] / META_FILE).stat().st_mtime_ns == kept  # complete, current episodes are skipped
    redone = load_episode(folders[1])
    assert redone.meta["seed"] == 1 and redone.n_frames == 6
    assert load_episode(folders[2]).meta["versions"]["scenarios_source"] == scenarios_fingerprint()


def test_generate_in_parallel_matches_serial(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    main(["generate", "--scenario", "free_fall", "--n", "2", "--out", str(a), *SMALL])
    main(["generate", "--scenario", "free_fall", "--n", "2", "--out", str(b), *SMALL[:-1], "2"])
    for name in ("free_fall-0000000", "free_fall-0000001"):
        ea, eb = load_episode(a / "gravity/free_fall" / name), load_episode(b / "gravity/free_fall" / name)
        assert ea.rgb.tobytes() == eb.rgb.tobytes() and ea.seg.tobytes() == eb.seg.tobytes()


@pytest.mark.parametrize("argv, message", [
    (["generate", "--family", "gravty"], "unknown family 'gravty'; choose from gravity, occlusion"),
    (["generate", "--scenario", "nope"], "unknown scenario 'nope'; choose from"),
    (["generate", "--height", "0"], "--height: must be a positive integer, got 0"),
    (["generate", "--fps", "-15"], "--fps: must be a positive integer"),
    (["generate", "--frames", "0"], "--frames: must be a positive integer"),
    (["generate", "--scenario", "free_fall", "--set", "height=-2"], "free_fall.height = -2 is impossible"),
    (["generate", "--scenario", "free_fall", "--set", "colour"], "--set expects key=value"),
    (["preview", "/no/such/episode"], "/no/such/episode: no such episode folder"),
])
def test_bad_input_is_one_clear_line(argv, message, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "scenarios", *argv, "--out",
                           str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], proc.stderr
    assert not list(tmp_path.rglob(META_FILE))


def test_ls_lists_every_scenario_with_its_ranges(capsys):
    assert main(["ls"]) == 0
    out = capsys.readouterr().out
    for family, names in FAMILIES.items():
        assert family in out
        for name in names:
            assert f"  {name}: " in out
            assert all(key in out for key in SCENARIOS[name].ranges)


def test_preview_writes_contact_sheet_and_animation(tmp_path):
    main(["generate", "--scenario", "free_fall", "--n", "1", "--out", str(tmp_path / "eps"), *SMALL])
    folder = tmp_path / "eps/gravity/free_fall/free_fall-0000000"
    assert main(["preview", str(folder), "--out", str(tmp_path / "pv")]) == 0
    sheet = Image.open(tmp_path / "pv/free_fall-0000000.png")
    gif = Image.open(tmp_path / "pv/free_fall-0000000.gif")
    assert sheet.width > 2 * 32 and gif.n_frames == 6
