"""`python -m simulator denoise`: the clean-frame error by noise level, split into moving and still pixels."""
import pytest
import torch

from scenarios import RenderSpec, generate_episode
from simulator.config import SimulatorError
from simulator.diagnose import denoising_error, run
from simulator.diffusion import flow_loss
from simulator.model import DiT
from simulator.tokenizer import encode_batch
from test_simulator_model import falling_square_clips, small_cfg

torch.set_num_threads(1)


def test_untrained_delta_model_is_exactly_copy_last_frame_at_every_level():
    model = DiT(small_cfg().model)  # zero output: x_0 estimate = the last context frame
    batch = falling_square_clips().batch(torch.Generator().manual_seed(0), 4)
    rows = denoising_error(model, batch.video, batch.captions, batch.n_context, (1.0, 0.5, 0.1))
    for r in rows:
        assert r["still_mse"] == 0 and r["moving_share_of_error"] == 1
        assert r["moving_mse"] == pytest.approx(r["copy_moving_mse"]) and r["copy_moving_mse"] > 0.5
        assert 0 < r["moving_fraction"] < 0.2  # a 3x3 square on a 16x16 frame


def test_a_trained_denoiser_recovers_moving_pixels_from_little_noise():
    """Trained a little on falling squares, the model's moving-pixel error on held-out squares falls with the
    noise level and ends far below copying the last context frame."""
    torch.manual_seed(0)
    model = DiT(small_cfg("model.dim=64").model)
    clips, g = falling_square_clips(n=24), torch.Generator().manual_seed(1)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(300):
        batch = clips.batch(g, 8)
        ids = encode_batch(batch.captions, model.cfg.vocab_size, model.cfg.max_text_len)
        t, noise = torch.sigmoid(torch.randn(8, generator=g)), torch.randn(batch.video.shape, generator=g)
        loss = flow_loss(model, batch.video, batch.n_context, model.encode_text(ids), t, noise)
        opt.zero_grad()
        loss.backward()
        opt.step()
    held_out = falling_square_clips(n=12, seed=5).batch(torch.Generator().manual_seed(0), 12)
    low, high = denoising_error(model, held_out.video, held_out.captions, held_out.n_context, (0.1, 1.0))
    assert low["moving_mse"] < high["moving_mse"] / 2 and low["moving_mse"] < low["copy_moving_mse"] / 4


def test_bad_episode_root_and_levels_are_one_line(tmp_path):
    with pytest.raises(SimulatorError, match="no episodes"):
        run("simulator/reference", str(tmp_path))
    with pytest.raises(SimulatorError, match="levels"):
        run("simulator/reference", str(tmp_path), levels=(0.0,))
    generate_episode("free_fall", 0, RenderSpec(height=32, width=32, n_frames=32)).save(tmp_path)
    with pytest.raises(SimulatorError, match="32 frames of 32x32, the model's window is 32 frames of 64x64"):
        run("simulator/reference", str(tmp_path))
