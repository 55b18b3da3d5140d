"""The Episode contract: writer/loader round trip, determinism, and the documented errors."""
import json
import os

import numpy as np
import pytest

from scenarios import (SCENARIOS, Episode, EpisodeError, RenderSpec, UnknownScenarioError, find_episodes, generate_episode,
                       get_scenario, load_episode, scenarios_of)
from scenarios.episode import FRAMES_FILE, META_FILE, REQUIRED_META

SPEC = RenderSpec(height=32, width=32, fps=15, n_frames=8)


@pytest.fixture(scope="module")
def episode() -> Episode:
    return generate_episode("free_fall", 0, SPEC)


def test_round_trip(episode, tmp_path):
    folder = episode.save(tmp_path)
    assert folder == tmp_path / "gravity" / "free_fall" / "free_fall-0000000"
    back = load_episode(folder)
    for key in ("rgb", "seg", "depth"):
        a, b = getattr(episode, key), getattr(back, key)
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert back.meta == json.loads(json.dumps(episode.meta))
    assert list(find_episodes(tmp_path)) == [folder]
    assert list(find_episodes(tmp_path, family="occlusion")) == []


def test_contract_fields(episode):
    m = episode.meta
    assert all(k in m for k in REQUIRED_META)
    assert episode.rgb.shape == (8, 32, 32, 3) and episode.rgb.dtype == np.uint8
    assert episode.seg.dtype == np.int32 and episode.depth.dtype == np.float16
    assert m["seed"] == 0 and m["versions"]["git_revision"]
    assert len(m["camera"]["view"]) == 16 and len(m["camera"]["projection"]) == 16
    for o in episode.objects:
        st = m["states"][str(o["id"])]
        assert len(st["position"]) == len(st["visible"]) == 8
    # the ground and the sky are background; the object's pixels carry its id
    assert set(np.unique(episode.seg)) <= {-1} | {o["id"] for o in episode.objects}


def test_same_seed_is_byte_identical_and_seed_zero_is_honoured():
    a, b = generate_episode("free_fall", 0, SPEC), generate_episode("free_fall", 0, SPEC)
    c = generate_episode("free_fall", 1, SPEC)
    for key in ("rgb", "seg", "depth"):
        assert getattr(a, key).tobytes() == getattr(b, key).tobytes()
    assert a.meta["params"] == b.meta["params"] and a.meta["seed"] == 0
    assert a.meta["params"] != c.meta["params"] and not np.array_equal(a.rgb, c.rgb)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_is_deterministic_and_seeds_differ(name):
    spec = RenderSpec(height=16, width=16, fps=15, n_frames=12)
    a, b, c = (generate_episode(name, s, spec) for s in (5, 5, 6))
    for key in ("rgb", "seg", "depth"):
        assert getattr(a, key).tobytes() == getattr(b, key).tobytes()
    assert a.meta["states"] == b.meta["states"] and a.meta["events"] == b.meta["events"] and a.caption == b.caption
    assert a.meta["params"] != c.meta["params"] and a.rgb.tobytes() != c.rgb.tobytes()


def test_overrides_keep_the_other_parameters(episode):
    heavy = generate_episode("free_fall", 0, SPEC, {"mass": 9.0})
    changed = {k for k in episode.meta["params"] if episode.meta["params"][k] != heavy.meta["params"][k]}
    assert changed == {"mass"}


def test_projection_matches_segmentation(episode):
    """The recorded camera projects the object's centre onto its pixels."""
    oid = episode.objects[0]["id"]
    xy = episode.to_pixels(episode.state(oid, "position"))
    for t in range(episode.n_frames):
        ys, xs = np.nonzero(episode.seg[t] == oid)
        if len(xs) > 3:
            assert abs(xs.mean() - xy[t, 0]) < 1.5 and abs(ys.mean() - xy[t, 1]) < 1.5


@pytest.mark.parametrize("field, value, message", [
    ("height", 0, "height must be a positive integer, got 0"), ("width", -4, "width must be a positive integer"),
    ("fps", 0, "fps must be a positive integer"), ("n_frames", -1, "n_frames must be a positive integer"),
    ("fps", 7, r"sim_hz \(240\) must be a multiple of fps \(7\)"), ("height", 2.5, "height must be a positive integer")])
def test_impossible_render_spec(field, value, message):
    with pytest.raises(ValueError, match=message):
        RenderSpec(**{field: value})


def test_impossible_and_unknown_parameters():
    s = get_scenario("free_fall")
    with pytest.raises(ValueError, match="height = -1 is impossible"):
        s.check_overrides({"height": -1})
    with pytest.raises(ValueError, match="no parameter 'hieght'; choose from"):
        s.check_overrides({"hieght": 1})
    with pytest.raises(ValueError, match="must be one of"):
        s.check_overrides({"shape": "pyramid"})
    assert s.check_overrides({"height": "1.5", "shape": "cube"}) == {"height": 1.5, "shape": "cube"}


def test_unknown_names_list_the_choices():
    with pytest.raises(UnknownScenarioError, match="unknown scenario 'fre_fall'; choose from .*free_fall"):
        get_scenario("fre_fall")
    with pytest.raises(UnknownScenarioError, match="unknown family 'gravty'; choose from gravity"):
        scenarios_of("gravty")


def test_loader_errors_name_the_file(episode, tmp_path):
    with pytest.raises(EpisodeError, match="no such episode folder"):
        load_episode(tmp_path / "nope")
    folder = episode.save(tmp_path)
    (folder / META_FILE).unlink()
    with pytest.raises(EpisodeError, match="incomplete episode"):
        load_episode(folder)

    folder = episode.save(tmp_path)
    (folder / FRAMES_FILE).write_bytes(b"not a zip file")
    with pytest.raises(EpisodeError, match=f"{FRAMES_FILE}: not an npz archive"):  # never "pickled data"
        load_episode(folder)

    folder = episode.save(tmp_path)
    meta = json.loads((folder / META_FILE).read_text())
    meta["n_frames"] = 9
    (folder / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(EpisodeError, match=r"'rgb' is uint8\[8, 32, 32, 3\], meta.json says uint8\[9, 32, 32, 3\]"):
        load_episode(folder)

    meta["schema_version"] = 99
    (folder / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(EpisodeError, match="schema_version 99"):
        load_episode(folder)

    (folder / META_FILE).write_text("{ truncated")
    with pytest.raises(EpisodeError, match="not valid JSON"):
        load_episode(folder)


def test_overwrite_is_incomplete_until_done(episode, tmp_path, monkeypatch):
    """A write killed half-way leaves a folder without meta.json, which readers treat as incomplete."""
    folder = episode.save(tmp_path)
    import scenarios.episode as ep_mod

    def killed(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(ep_mod, "atomic_write_bytes", killed)
    with pytest.raises(OSError):
        episode.save(tmp_path)
    assert not (folder / META_FILE).exists()
    assert list(find_episodes(tmp_path)) == []
    assert not [f for f in os.listdir(folder) if f.endswith(".tmp")]


def test_cached_episodes_load_and_score_without_pybullet(episode, tmp_path):
    """A machine without pybullet (a GPU node) loads cached episodes and imports the trainer and the harness;
    only making a new episode needs the engine, and then the error says what is missing."""
    import subprocess
    import sys
    folder = episode.save(tmp_path / "episodes")
    (tmp_path / "stub").mkdir()
    (tmp_path / "stub" / "pybullet.py").write_text("raise ImportError('pybullet is not installed')\n")
    code = f"""
import numpy as np, simulator.train, physics_evals.evaluate
from scenarios import RenderSpec, generate_episode, load_episode
ep = load_episode({str(folder)!r})
assert ep.rgb.shape == (8, 32, 32, 3) and int(np.asarray(ep.rgb).sum()) == {int(episode.rgb.sum())}
try:
    generate_episode("free_fall", 1, RenderSpec(height=32, width=32, n_frames=8))
except ImportError as e:
    print("no engine:", e)
"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "stub"), os.getcwd()])}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ("no engine: pybullet is not installed: making new episodes needs pybullet "
                                   "(cached ones do not)")
    # and a harness run with no episode cached says so in one line, with nothing published
    proc = subprocess.run([sys.executable, "-m", "physics_evals", "run", "--models", "copy_last_frame", "--tasks",
                           "gravity-drop", "--limit", "1", "--episodes-root", str(tmp_path / "none"), "--out",
                           str(tmp_path / "results"), "--no-report", "--no-progress"],
                          capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(f"error: {tmp_path / 'none'}: no held-out episode could be made")
    assert not list((tmp_path / "results").rglob("results.json"))
