"""Training: resume equals an uninterrupted run, DDP (two gloo processes) equals one process, the VAE path."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file
from torch.nn.parallel import DistributedDataParallel as DDP

from simulator import checkpoint as ckpt
from simulator.config import Config
from simulator.model import DiT
from simulator.sample import WorldModel
from simulator.train import FlowObjective, _slice, draw_step, train, train_vae
from test_simulator_model import falling_square_clips, randomised, small_cfg

ROOT = Path(__file__).resolve().parent.parent


def _tensors(folder: Path, group: str) -> dict:
    return ckpt.load_group(folder, group)


def test_resume_after_a_kill_continues_the_same_run(tmp_path):
    data = falling_square_clips(), falling_square_clips(seed=1)
    cfg = small_cfg("train.steps=6")
    train(cfg, tmp_path / "whole", data=data, progress=False)
    # killed after step 3, between checkpoints (the last one is step 2), then rerun twice over
    train(small_cfg("train.steps=6"), tmp_path / "cut", data=data, progress=False, stop_after=3)
    assert ckpt.read_manifest(tmp_path / "cut")["step"] == 2
    train(small_cfg("train.steps=6"), tmp_path / "cut", data=data, progress=False, stop_after=2)
    train(small_cfg("train.steps=6"), tmp_path / "cut", data=data, progress=False)
    for group in ("model", "train"):
        a, b = _tensors(tmp_path / "whole", group), _tensors(tmp_path / "cut", group)
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a), group
    first = _tensors(tmp_path / "whole", "model")  # and training did change the weights
    assert not torch.equal(first["final.weight"], torch.zeros_like(first["final.weight"]))
    log = ckpt.read_manifest(tmp_path / "cut")["log"]
    assert [e["step"] for e in log] == [2, 4, 6] and all(np.isfinite(e["val_loss"]) for e in log)


def test_noise_drawn_by_its_own_generator_resumes_with_it_and_nowhere_else(tmp_path, monkeypatch):
    """On a GPU the noise comes from a generator on the device (noise_generator); a second CPU generator
    stands in for it here. Its state is checkpointed, so a killed run resumes bit-identically, and a run
    drawn one way refuses to resume the other way rather than silently switching noise streams."""
    import simulator.train as tr
    data = falling_square_clips(), falling_square_clips(seed=1)
    monkeypatch.setattr(tr, "noise_generator", lambda gen, device, seed: torch.Generator().manual_seed(seed))
    train(small_cfg("train.steps=4"), tmp_path / "whole", data=data, progress=False)
    train(small_cfg("train.steps=4"), tmp_path / "cut", data=data, progress=False, stop_after=2)
    train(small_cfg("train.steps=4"), tmp_path / "cut", data=data, progress=False)
    a, b = _tensors(tmp_path / "whole", "train"), _tensors(tmp_path / "cut", "train")
    assert "rng.noise" in a and a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    train(small_cfg("train.steps=4"), tmp_path / "gpu", data=data, progress=False, stop_after=2)
    monkeypatch.undo()  # a CPU from here on: the noise is drawn by the data generator
    train(small_cfg("train.steps=4"), tmp_path / "cpu", data=data, progress=False)
    assert "rng.noise" not in _tensors(tmp_path / "cpu", "train")
    assert not torch.equal(a["raw.final.weight"], _tensors(tmp_path / "cpu", "train")["raw.final.weight"])
    with pytest.raises(ckpt.CheckpointError, match="a GPU run cannot resume on a CPU"):
        train(small_cfg("train.steps=4"), tmp_path / "gpu", data=data, progress=False)


@pytest.mark.parametrize("own_noise_generator", [False, True])
def test_reading_the_next_batch_ahead_changes_no_number(tmp_path, monkeypatch, own_noise_generator):
    """train.prefetch draws the next step and reads its frames on a thread while this step computes: the
    weights, the optimiser and the generators' states come out as drawing each step in turn gives them,
    with context noise and a level per frame (more draws per step) and with the noise on its own generator
    (as on a GPU), and a run killed and resumed with it ends where the uninterrupted run without it ends."""
    import simulator.train as tr
    if own_noise_generator:
        monkeypatch.setattr(tr, "noise_generator", lambda gen, device, seed: torch.Generator().manual_seed(seed + 1))
    data = falling_square_clips(), falling_square_clips(seed=1)
    sets = ("train.steps=6", "train.context_noise=0.3", "train.frame_noise=true")
    train(small_cfg(*sets, "train.prefetch=false"), tmp_path / "each", data=data, progress=False)
    train(small_cfg(*sets), tmp_path / "ahead", data=data, progress=False)
    train(small_cfg(*sets), tmp_path / "cut", data=data, progress=False, stop_after=3)
    train(small_cfg(*sets), tmp_path / "cut", data=data, progress=False)
    a = _tensors(tmp_path / "each", "train")
    assert ("rng.noise" in a) == own_noise_generator
    for run in ("ahead", "cut"):
        b = _tensors(tmp_path / run, "train")
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), run


def test_draws_read_each_clip_where_the_plan_puts_it():
    """The batch's frames are the planned episodes' frames from the planned start, as bytes; batch() is
    the same clips in model range."""
    clips = falling_square_clips()
    plan = clips.plan(torch.Generator().manual_seed(3), 5)
    frames = clips.frames(plan)
    assert frames.dtype == torch.uint8 and frames.shape == (5, *plan.size, 3)
    for clip, (i, start) in zip(frames, plan.clips):
        assert torch.equal(clip, clips.videos[plan.size[1:]][i][start:start + plan.size[0]])
    batch = clips.batch(torch.Generator().manual_seed(3), 5)
    assert torch.equal(batch.video, frames.float() / 127.5 - 1) and batch.captions == clips.captions_of(plan)


def _ddp_worker(rank: int, world: int, init_file: str, cfg_dict: dict, out: str):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    torch.set_num_threads(1)
    cfg = Config.from_dict(cfg_dict)
    model = randomised(DiT(cfg.model))
    items = draw_step(falling_square_clips(), torch.Generator().manual_seed(0), cfg, None, torch.device("cpu"))
    ddp = DDP(FlowObjective(model))  # keep a reference: the reducer must outlive backward()
    ddp(*_slice(items, rank, world)).backward()
    if rank == 0:
        save_file({n: p.grad.contiguous() for n, p in model.named_parameters()}, out)
    # both ranks leave together: a rank that tears gloo down while the other still holds the group
    # was aborted ("terminate called without an active exception") under load
    dist.barrier()
    dist.destroy_process_group()


def test_ddp_two_gloo_processes_match_one_process_gradients(tmp_path):
    cfg = small_cfg("train.caption_dropout=0.5")
    out = str(tmp_path / "grads.safetensors")
    mp.spawn(_ddp_worker, args=(2, str(tmp_path / "init"), cfg.to_dict(), out), nprocs=2, join=True)
    model = randomised(DiT(cfg.model))
    items = draw_step(falling_square_clips(), torch.Generator().manual_seed(0), cfg, None, torch.device("cpu"))
    FlowObjective(model)(*items).backward()
    ddp = load_file(out)
    for n, p in model.named_parameters():
        assert torch.allclose(ddp[n], p.grad, rtol=1e-4, atol=1e-6), n
    assert any(p.grad.abs().sum() > 0 for p in model.parameters())


def test_vae_trains_and_carries_a_latent_dit(tmp_path):
    data = falling_square_clips(), falling_square_clips(seed=1)
    vcfg = small_cfg("vae.base=8", "vae.steps=3", "vae.batch_size=2", "vae.spatial=2", "vae.temporal=2")
    entry = train_vae(vcfg, tmp_path / "vae", data=data, progress=False)
    assert np.isfinite(entry["val_rec"])
    cfg = small_cfg(f"model.vae={tmp_path / 'vae'}", "train.steps=2", "model.patch=[1,2,2]")
    train(cfg, tmp_path / "dit", data=data, progress=False)
    world = WorldModel.load(tmp_path / "dit")  # the DiT's checkpoint carries the VAE
    assert world.vae is not None and world.model.cfg.in_channels == 4
    frames = np.zeros((1, 2, 16, 16, 3), np.uint8)
    assert world.rollout(frames, ["a red square falls"], 5).shape == (1, 5, 16, 16, 3)


def test_vae_is_causal_in_time():
    from simulator.vae import VideoVAE
    vae = VideoVAE(small_cfg("vae.base=8", "vae.spatial=2", "vae.temporal=2").vae).eval()
    x = torch.rand(1, 8, 16, 16, 3) * 2 - 1
    y = x.clone()
    y[:, 4:] = 0  # later frames change: latents of the first frames must not
    a, b = vae.encode(x)[0], vae.encode(y)[0]
    assert torch.allclose(a[:, :2], b[:, :2]) and not torch.allclose(a[:, 2:], b[:, 2:])


def test_train_command_generates_episodes_and_samples(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    common = ["--set", "model.dim=32", "--set", "model.heads=2", "--set", "model.text_dim=32", "--set",
              "data.families=[\"gravity\"]", "--set", "data.episodes_per_scenario=2", "--set",
              "data.render_size=32", "--set", "data.render_frames=12", "--set", "data.sizes=[[8,16,16]]",
              "--set", "data.context=[4]",
              "--set", "train.batch_size=2", "--set", "train.eval_every=2", "--set", "train.val_batches=1"]
    run = lambda *a: subprocess.run([sys.executable, "-m", "simulator", *a], cwd=tmp_path, env=env,
                                    capture_output=True, text=True, timeout=300)
    r = run("train", "--config", "tiny", *common, "--steps", "2", "--out", "runs/t", "--data", "eps", "--quiet")
    assert r.returncode == 0, r.stderr
    manifest = ckpt.read_manifest(tmp_path / "runs/t")
    assert manifest["step"] == 2 and manifest["data"]["seeds"][1] < 1_000_000
    assert manifest["versions"]["git_revision"] and "torch" in manifest["versions"]
    episode = next((tmp_path / "eps/gravity").glob("*/*"))
    r = run("sample", "--checkpoint", "runs/t", "--episode", str(episode), "--context", "4", "--horizon", "6",
            "--out", "roll", "--steps", "2")
    assert r.returncode == 0, r.stderr
    rgb = np.load(tmp_path / "roll" / f"{episode.name}.npz")["rgb"]
    assert rgb.shape == (6, 32, 32, 3) and rgb.dtype == np.uint8
    assert (tmp_path / "roll" / f"{episode.name}-preview.png").is_file()
    assert (tmp_path / "roll" / f"{episode.name}-preview.gif").is_file()
    r = run("train", "--config", "tiny", *common, "--set", "model.depth=3", "--steps", "4", "--out", "runs/t",
            "--data", "eps", "--quiet")
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "model.depth=4" in r.stderr


def test_frame_noise_draws_a_level_per_token_frame_and_validation_one_per_clip():
    cfg = small_cfg("train.frame_noise=true")
    gen = lambda: torch.Generator().manual_seed(0)
    t = draw_step(falling_square_clips(), gen(), cfg, None, torch.device("cpu"))[4]
    assert t.shape == (4, 6)                                     # batch 4, 8 frames after 2 of context
    assert torch.equal(t[:, 0::2], t[:, 1::2])                   # patch [2, 4, 4]: a token-frame's 2 frames share
    assert (t[:, 0::2].std(dim=1) > 0).all()                     # and token-frames differ
    clip = draw_step(falling_square_clips(), gen(), cfg, None, torch.device("cpu"), frame_noise=False)[4]
    assert torch.equal(clip, draw_step(falling_square_clips(), gen(), small_cfg(), None, torch.device("cpu"))[4])
