"""Checkpoints, the harness adapter, configs and the tokenizer; every bad input gives one clear error."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from simulator import checkpoint as ckpt
from simulator.adapter import ContextError, Task, load
from simulator.config import ConfigError, get_config
from scenarios.episode import HELD_OUT_SEED
from simulator.data import data_plan, scenario_names
from simulator.model import DiT
from simulator.sample import WorldModel
from simulator.tokenizer import encode, encode_batch
from test_simulator_model import randomised, small_cfg

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def saved(tmp_path):
    """A randomised DiT saved as a run checkpoint; returns (folder, model, config)."""
    cfg = small_cfg()
    model = randomised(DiT(cfg.model))
    ckpt.save(tmp_path / "run", 7, cfg, {"model": model.state_dict()}, {"kind": "dit"})
    return tmp_path / "run", model, cfg


def test_checkpoint_round_trip_gives_identical_outputs(saved, tmp_path):
    folder, model, _ = saved
    x, t = torch.randn(1, 8, 16, 16, 3), torch.rand(1, 8)
    loaded = WorldModel.load(folder / ckpt.MANIFEST).model  # a file inside the folder names it too
    text = model.encode_text(torch.tensor([[1, 5, 9]]))
    assert torch.equal(loaded(x, t, loaded.encode_text(torch.tensor([[1, 5, 9]]))), model(x, t, text))
    small = ckpt.export(folder, tmp_path / "ref")  # the fp16 release copy: close, not equal
    manifest = json.loads(small.read_text())
    assert manifest["step"] == 7 and manifest["dtype"] == "float16" and "train" not in manifest["files"]
    ref = WorldModel.load(tmp_path / "ref").model
    assert torch.allclose(ref(x, t, ref.encode_text(torch.tensor([[1, 5, 9]]))), model(x, t, text), atol=5e-2)


@pytest.mark.parametrize("head", ["model.pixel_head=4", "model.seam_refiner=4"])
def test_output_head_checkpoint_round_trip(tmp_path, head):
    cfg = small_cfg(head)
    model = randomised(DiT(cfg.model))
    ckpt.save(tmp_path / "run", 3, cfg, {"model": model.state_dict()}, {"kind": "dit"})
    loaded = WorldModel.load(tmp_path / "run").model
    x, t, base = torch.randn(1, 8, 16, 16, 3), torch.rand(1, 8), torch.randn(1, 1, 16, 16, 3)
    text = torch.tensor([[1, 5, 9]])
    assert (loaded.cfg.pixel_head, loaded.cfg.seam_refiner) == ((4, 0) if "pixel" in head else (0, 4))
    assert torch.equal(loaded(x, t, loaded.encode_text(text), base), model(x, t, model.encode_text(text), base))


def test_adapter_rollout_is_deterministic_at_the_task_size(saved):
    folder, _, _ = saved
    sim = load(folder)
    ctx = np.random.default_rng(0).integers(0, 255, (3, 24, 40, 3), dtype=np.uint8)  # another size and aspect
    task = Task(horizon=13, fps=15, height=24, width=40)  # longer than one window: autoregressive extension
    a = sim.rollout(ctx, "a red ball falls", task, steps=2)
    assert a.shape == (13, 24, 40, 3) and a.dtype == np.uint8
    assert np.array_equal(a, sim.rollout(ctx, "a red ball falls", task, steps=2))
    assert not np.array_equal(a, sim.rollout(ctx, "a red ball falls", task, steps=2, seed=1))


def test_adapter_at_the_models_size_does_not_resize(saved, monkeypatch):
    """The model runs at 16x16 here: a 16x16 task goes in and comes out untouched (no resize on either side),
    at the task's resolution and length; a failing resize proves none is called."""
    import simulator.sample as sample_mod

    def no_resize(*a, **k):
        raise AssertionError("resize_video called at the model's own size")
    monkeypatch.setattr(sample_mod, "resize_video", no_resize)
    sim = load(saved[0])
    ctx = np.random.default_rng(0).integers(0, 255, (5, 16, 16, 3), dtype=np.uint8)
    out = sim.rollout(ctx, "a red ball falls", Task(horizon=6, height=16, width=16), steps=2)
    assert out.shape == (6, 16, 16, 3) and out.dtype == np.uint8


def test_truth_round_trip_through_the_adapter_path_is_exact(saved):
    """With the model at the task's size the adapter's pixel path (uint8 -> model range -> uint8) is lossless:
    truth sent through it is the truth, so it would score 100 (the old 32x32 round trip scored 77)."""
    from simulator.data import to_model_range, to_uint8
    truth = np.random.default_rng(1).integers(0, 256, (24, 16, 16, 3), dtype=np.uint8)
    assert np.array_equal(to_uint8(to_model_range(truth)), truth)
    assert load(saved[0]).world.height == 16


@pytest.mark.parametrize("frames", [np.zeros((4, 16, 16), np.uint8), np.zeros((0, 16, 16, 3), np.uint8),
                                    np.zeros((4, 16, 16, 3), np.float32), np.zeros((4, 16, 16, 4), np.uint8)])
def test_adapter_rejects_context_of_the_wrong_shape(saved, frames):
    with pytest.raises(ContextError, match="context_frames must be uint8"):
        load(saved[0]).rollout(frames, "x", Task(horizon=2))


def test_bad_checkpoints_give_one_clear_error(saved, tmp_path):
    folder, _, cfg = saved
    with pytest.raises(ckpt.CheckpointError, match="no such checkpoint"):
        load(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ckpt.CheckpointError, match="no manifest.json"):
        load(tmp_path / "empty")
    weights = next(folder.glob("model-*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ckpt.CheckpointError, match="corrupt .sha256"):
        load(folder)
    manifest = json.loads((folder / ckpt.MANIFEST).read_text())
    manifest["files"]["model"]["sha256"] = ckpt.sha256(bytes(data))  # a corrupt file with a matching manifest
    (folder / ckpt.MANIFEST).write_text(json.dumps(manifest))
    weights.write_bytes(b"\x00" * 4 + bytes(data[4:]))
    manifest["files"]["model"]["sha256"] = ckpt.sha256(weights.read_bytes())
    (folder / ckpt.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ckpt.CheckpointError, match="unreadable safetensors"):
        load(folder)
    (folder / ckpt.MANIFEST).write_text("{not json")
    with pytest.raises(ckpt.CheckpointError, match="manifest.json: not valid JSON"):
        load(folder)


def test_checkpoint_that_does_not_match_its_config(saved):
    folder, _, _ = saved
    manifest = json.loads((folder / ckpt.MANIFEST).read_text())
    manifest["config"]["model"]["dim"] = 64
    (folder / ckpt.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ckpt.CheckpointError, match="do not match the config .'[a-z_.0-9]+' is"):
        load(folder)
    manifest["config"]["model"]["dim"], manifest["config"]["model"]["depth"] = 32, 3
    (folder / ckpt.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ckpt.CheckpointError, match="missing .'blocks.2"):
        load(folder)
    manifest["config"]["model"]["colour"] = 1
    (folder / ckpt.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ckpt.CheckpointError, match="unknown config key 'model.colour'"):
        load(folder)


@pytest.mark.parametrize("item, message", [
    ("model.dimm=3", "unknown config key 'model.dimm': model has patch, target, dim"),
    ("modell.dim=3", "unknown config key 'modell.dim': config has name, model"),
    ("model.dim=abc", "cannot read 'abc' as int"),
    ("model.patch=[1,2]", "expected 3 values"),
    ("model.attention=sparse", "must be 'full' or 'factorised'"),
    ("train.compile=maybe", "cannot read 'maybe' as bool"),
    ("data.seed=999999", "reach|must stay below"),
    ("model.dim", "expected key=value"),
    ("model=3", "is a section"),
    ("model.dim=0", "model.dim must be > 0, got 0"),
    ("train.eval_every=0", "train.eval_every must be > 0"),
    ("train.lr=nan", "train.lr must be a finite number"),
    ("train.steps=-1", "train.steps must be > 0"),
    ("train.ema=1", "train.ema must be below 1"),
    ("train.caption_dropout=1.5", r"train.caption_dropout must be in \[0, 1\]"),
    ("model.target=eps", "model.target must be one of velocity, x, delta"),
    ("train.score_every=75", "multiple of train.eval_every"),
])
def test_bad_config_values_give_one_clear_error(item, message):
    with pytest.raises(ConfigError, match=message):
        get_config("tiny", [item])


def test_config_overrides_and_registry():
    cfg = get_config("tiny", ["model.dim=96", "train.lr=1e-3", "data.sizes=[[8,16,16],[16,32,48]]", "data.context=[2,4]",
                                "train.compile=true"])
    assert cfg.model.dim == 96 and cfg.data.sizes == ((8, 16, 16), (16, 32, 48)) and cfg.train.compile is True
    assert get_config("S").model.dim > get_config("tiny").model.dim
    with pytest.raises(ConfigError, match="unknown config 'huge'; choose from tiny, S, B"):
        get_config("huge")


def test_training_data_stays_below_the_held_out_seeds():
    names = scenario_names(("gravity",))
    assert "free_fall" in names
    cfg = get_config("tiny", ["data.families=[\"gravity\"]", "data.episodes_per_scenario=5"])
    cfg.data.seed = HELD_OUT_SEED - 10  # len(names) * 5 seeds from here reach the held-out ones
    with pytest.raises(ConfigError, match="held-out"):
        data_plan(cfg.data)
    with pytest.raises(ConfigError, match=r"data.seed: training seeds 999990\.\.\d+ reach the held-out"):
        get_config("tiny", ["data.families=[\"gravity\"]", "data.episodes_per_scenario=5", f"data.seed={cfg.data.seed}"])
    cfg.data.seed = 0
    assert data_plan(cfg.data)["seeds"][1] < HELD_OUT_SEED


def test_tokenizer_is_stable_and_pads():
    a = encode("A red ball, dropped from 1.2 m", 2048, 16)
    assert a == encode("a red ball dropped from 1.2 m", 2048, 16) and a[0] == 1 and len(a) == 8
    assert encode("a blue ball", 2048, 16) != encode("a red ball", 2048, 16)
    ids = encode_batch(["a b", ""], 2048, 5)
    assert ids.shape == (2, 5) and ids[1].tolist() == [1, 0, 0, 0, 0]


def test_cli_prints_one_error_line_and_exits_2(tmp_path):
    r = subprocess.run([sys.executable, "-m", "simulator", "sample", "--checkpoint", str(tmp_path / "none"),
                        "--episode", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and r.stderr.startswith("error: ")


@pytest.mark.parametrize("args, message", [
    (["train", "--steps", "-1"], "--steps: must be a positive integer"),
    (["train", "--workers", "-3"], "--workers: must be a positive integer"),
    (["train", "--steps", "abc"], "--steps: expected a positive integer"),
    (["train", "--set", "model.dim=0"], "model.dim must be > 0"),
    (["train", "--set", "train.eval_every=0"], "train.eval_every must be > 0"),
    (["train", "--set", "train.lr=nan"], "train.lr must be a finite number"),
    (["train", "--set", "model.dim=abc"], "cannot read 'abc' as int"),
])
def test_every_bad_setting_is_one_line_before_any_work(args, message, capsys, tmp_path):
    from simulator.__main__ import main
    try:  # in-process: a usage error exits from the parser, a bad value returns from run_command
        code = main([*args, "--out", str(tmp_path / "run")])
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "run").exists()  # nothing was started


def test_adapter_and_sample_import_without_a_cycle():
    r = subprocess.run([sys.executable, "-c", "import simulator.sample, sys; assert 'simulator.adapter' not in sys.modules"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


@pytest.mark.skipif(not (ROOT / "simulator/reference" / ckpt.MANIFEST).is_file(), reason="no reference checkpoint")
def test_reference_checkpoint_is_small_fp16_and_loads():
    manifest = ckpt.read_manifest(ROOT / "simulator/reference")
    assert manifest["dtype"] == "float16" and manifest["data"]["seeds"][1] < HELD_OUT_SEED
    assert sum(f["bytes"] for f in manifest["files"].values()) < 20e6
    frames = load(ROOT / "simulator/reference").rollout(np.zeros((4, 64, 64, 3), np.uint8), "a ball", Task(2), steps=1)
    assert frames.shape == (2, 64, 64, 3)
