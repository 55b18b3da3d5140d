"""The DiT and the flow: shapes for every option, adaLN-Zero identity, masked loss, overfitting, sampling."""
import functools

import numpy as np
import pytest
import torch

from simulator.config import ConfigError, get_config
from simulator.data import ClipSet
from simulator.diffusion import (FLOW_UNIT, coarse_flow_loss, denoise, flow_loss, guided_velocity, moving_pixels,
                                rollout, sample, staggered_times, warp)
from simulator.model import DiT, DiTBlock, ShapeError
from simulator.tokenizer import encode_batch

torch.set_num_threads(1)  # tiny tensors: a second thread only adds waiting on a shared machine


def small_cfg(*sets: str):
    """A model of a few thousand parameters on 8 x 16 x 16 clips: fast enough for unit tests."""
    return get_config("tiny", ["model.patch=[2,4,4]", "model.dim=32", "model.depth=2", "model.heads=2", "model.text_dim=32",
                               "model.text_heads=2", "model.vocab_size=64", "model.max_text_len=12",
                               "data.sizes=[[8,16,16]]", "data.context=[2]", "train.batch_size=4",
                               "train.eval_every=2", "train.val_batches=1", "train.warmup=2", "train.steps=4",
                               "train.sample_steps=2", "train.lr=3e-3", *sets])


def randomised(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Every weight random (the zero-initialised gates and output too), so outputs depend on every input."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.1)
    return model


def falling_square_clips(n: int = 6, frames: int = 12, size: int = 16, seed: int = 0) -> ClipSet:
    """Synthetic episodes: a coloured square falls down a grey frame; the caption names the colour."""
    rng = np.random.default_rng(seed)
    videos, captions = [], []
    for k in range(n):
        colour = [(230, 30, 30), (30, 200, 40), (30, 60, 240)][k % 3]
        v = np.full((frames, size, size, 3), 128, np.uint8)
        x, y0 = int(rng.integers(0, size - 3)), int(rng.integers(0, 4))
        for t in range(frames):
            y = min(size - 3, y0 + t * t // 8)
            v[t, y:y + 3, x:x + 3] = colour
        videos.append(v)
        captions.append(f"a {['red', 'green', 'blue'][k % 3]} square falls")
    return ClipSet(videos, captions, sizes=[(8, 16, 16)], context=[2])


def text_of(model: DiT, n: int) -> torch.Tensor:
    return model.encode_text(encode_batch(["a red ball falls"] * n, model.cfg.vocab_size, model.cfg.max_text_len))


@pytest.mark.parametrize("attention", ["full", "factorised"])
@pytest.mark.parametrize("patch", ["[1,4,4]", "[2,4,4]", "[1,2,2]", "[2,8,4]"])
def test_one_model_takes_every_size(attention, patch):
    cfg = small_cfg(f"model.attention={attention}", f"model.patch={patch}")
    model = randomised(DiT(cfg.model))
    for t, h, w in [(8, 16, 16), (4, 32, 16), (12, 8, 24)]:  # durations, resolutions, aspect ratios
        x = torch.randn(2, t, h, w, 3)
        out = model(x, torch.rand(2, t), text_of(model, 2))
        assert out.shape == x.shape and torch.isfinite(out).all()


@pytest.mark.parametrize("patch", ["[2,4,4]", "[1,2,2]"])
def test_pixel_head_takes_every_size_and_reads_the_context_frame(patch):
    model = randomised(DiT(small_cfg(f"model.patch={patch}", "model.pixel_head=4").model))
    for t, h, w in [(8, 16, 16), (4, 32, 16), (12, 8, 24)]:
        x, tf, text = torch.randn(2, t, h, w, 3), torch.rand(2, t), text_of(model, 2)
        base = torch.randn(2, 1, h, w, 3)
        out = model(x, tf, text, base)
        assert out.shape == x.shape and torch.isfinite(out).all()
        moved = base.clone()
        moved[:, :, 0, 0] += 1.0  # one pixel of the context frame moves only that pixel's outputs
        diff = (model(x, tf, text, moved) - out).abs().amax(dim=(0, 1, 4))
        assert diff[0, 0] > 0 and torch.count_nonzero(diff) == 1


def test_seam_refiner_starts_as_the_model_without_it():
    """Zero-initialised last layer: given the same other weights, the output is the plain model's, bit for bit."""
    plain = randomised(DiT(small_cfg().model))
    refined = DiT(small_cfg("model.seam_refiner=4").model)
    missing = refined.load_state_dict(plain.state_dict(), strict=False).missing_keys
    assert sorted(missing) == ["refiner.mix.bias", "refiner.mix.weight", "refiner.out.bias", "refiner.out.weight"]
    x, tf, base = torch.randn(2, 8, 16, 16, 3), torch.rand(2, 8), torch.randn(2, 1, 16, 16, 3)
    text = text_of(plain, 2)
    assert torch.equal(refined(x, tf, text, base), plain(x, tf, text, base))


def test_seam_refiner_reads_across_a_patch_border_and_no_further():
    """A pixel of the context frame just left of a patch border (4x4 patches: columns 3 | 4) reaches the
    neighbouring patch through the refiner's two 3x3 layers, and nothing more than 2 px away; the plain
    linear head does not read the context frame at all."""
    x, tf = torch.randn(1, 8, 16, 16, 3), torch.rand(1, 8)
    base = torch.randn(1, 1, 16, 16, 3)
    moved = base.clone()
    moved[:, :, 5, 3] += 1.0
    for refiner in (0, 4):
        model = randomised(DiT(small_cfg(f"model.seam_refiner={refiner}").model))
        text = text_of(model, 1)
        diff = (model(x, tf, text, moved) - model(x, tf, text, base)).abs().amax(dim=(0, 1, 4))  # (H, W)
        if not refiner:
            assert torch.count_nonzero(diff) == 0
            continue
        assert diff[5, 4] > 0 and diff[5, 5] > 0  # the patch on the right of the border
        rows, cols = torch.nonzero(diff, as_tuple=True)
        assert (rows - 5).abs().max() <= 2 and (cols - 3).abs().max() <= 2


@pytest.mark.parametrize("pixel_head", [0, 4])
def test_linear_head_is_low_rank_per_patch_and_pixel_head_is_not(pixel_head):
    """Why the pixel head exists: a linear unpatchify puts every patch's output in a (dim + 1)-dimensional
    affine subspace of its pt*ph*pw*C values (here 8 + 1 of 96), whatever the input; the pixel head does not."""
    model = randomised(DiT(small_cfg("model.dim=8", "model.heads=2", f"model.pixel_head={pixel_head}").model))
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 8, 16, 16, 3, generator=g)
    with torch.no_grad():
        out = model(x, torch.rand(40, 8, generator=g), text_of(model, 40), x[:, :1])
    patches = out[:, :2, :4, :4].reshape(40, -1).double()  # one 2x4x4 patch, 96 values, of 40 clips
    rank = torch.linalg.matrix_rank(patches - patches.mean(0), rtol=1e-6).item()
    assert rank <= 9 if pixel_head == 0 else rank > 20


def test_bad_video_shape_is_one_clear_error():
    model = DiT(small_cfg("model.patch=[2,4,4]").model)
    with pytest.raises(ShapeError, match="divide by the patch"):
        model(torch.randn(1, 3, 16, 16, 3), torch.zeros(1, 3), torch.zeros(1, 32))


@pytest.mark.parametrize("factorised", [False, True])
def test_zero_initialised_block_is_identity_and_model_outputs_zero(factorised):
    block = DiTBlock(32, 2, 4.0, factorised)
    x, c = torch.randn(2, 3, 5, 32), torch.randn(2, 3, 32)
    assert torch.equal(block(x, c), x)
    with torch.no_grad():  # and it stops being the identity once the gates move
        block.ada[1].bias.fill_(0.1)
    assert not torch.allclose(block(x, c), x)
    for head in (0, 4):  # either output head starts at zero
        model = DiT(small_cfg(f"model.pixel_head={head}").model)
        x = torch.randn(1, 8, 16, 16, 3)
        assert torch.count_nonzero(model(x, torch.rand(1, 8), text_of(model, 1), x[:, :1])) == 0


def test_loss_covers_only_generated_frames():
    model = randomised(DiT(small_cfg().model))
    x0, noise, t = torch.randn(2, 8, 16, 16, 3), torch.randn(2, 8, 16, 16, 3), torch.tensor([0.3, 0.8])
    text = text_of(model, 2)
    base = flow_loss(model, x0, 3, text, t, noise)
    other = noise.clone()
    other[:, :3] = torch.randn(2, 3, 16, 16, 3)  # context targets (noise - x0) change, nothing else does
    assert torch.equal(flow_loss(model, x0, 3, text, t, other), base)
    other[:, 5] += 1.0  # a generated frame's target does count
    assert not torch.allclose(flow_loss(model, x0, 3, text, t, other), base)


def test_motion_weight_is_a_weighted_mean_leaning_to_the_moving_pixels():
    model = randomised(DiT(small_cfg().model))
    x0 = torch.zeros(2, 8, 16, 16, 3)
    x0[:, 3:, 4:8, 4:8] = 0.8  # a body that appears after the 3 context frames: 16 of 256 pixels move
    noise, t, text = torch.randn_like(x0), torch.tensor([0.3, 0.8]), text_of(model, 2)
    assert moving_pixels(x0, 3).float().mean() == 16 / 256
    losses = [flow_loss(model, x0, 3, text, t, noise, motion_weight=w) for w in (0.0, 1.0, 4.0, 1e6)]
    assert torch.equal(losses[0], flow_loss(model, x0, 3, text, t, noise))
    steps = torch.stack(losses).diff()
    assert (steps > 0).all() or (steps < 0).all()  # each larger weight moves it further towards the moving mean
    everywhere = x0.clone()
    everywhere[:, 3:] += 0.5  # every generated pixel moves: the weights are all equal, so no change
    assert torch.allclose(flow_loss(model, everywhere, 3, text, t, noise, motion_weight=4.0),
                          flow_loss(model, everywhere, 3, text, t, noise), rtol=1e-5)


@pytest.mark.parametrize("target,pixel_head", [("delta", 0), ("delta", 4), ("warp", 0),
                                               pytest.param("velocity", 0, marks=pytest.mark.slow),
                                               pytest.param("x", 0, marks=pytest.mark.slow)])
def test_tiny_model_overfits_one_batch(target, pixel_head):
    torch.manual_seed(0)
    model = DiT(small_cfg("model.dim=64", f"model.target={target}", f"model.pixel_head={pixel_head}").model)
    batch = falling_square_clips().batch(torch.Generator().manual_seed(0), 2)
    g = torch.Generator().manual_seed(1)
    t, noise = torch.rand(2, generator=g), torch.randn(batch.video.shape, generator=g)
    ids = encode_batch(batch.captions, model.cfg.vocab_size, model.cfg.max_text_len)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(60):
        loss = flow_loss(model, batch.video, batch.n_context, model.encode_text(ids), t, noise)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 10, (losses[0], losses[-1])


def test_delta_prediction_starts_as_copy_last_frame():
    """Zero-initialised output + delta target: the untrained model's sample is the last context frame, exactly
    (the copy_last_frame floor), whatever the noise; x-prediction's last Euler step lands on its x_0 estimate."""
    model = DiT(small_cfg().model)  # as initialised: the output layer is zero
    ctx, text = torch.randn(1, 2, 16, 16, 3), text_of(model, 1)
    out = sample(model, ctx, 8, text, steps=4, generator=torch.Generator().manual_seed(3))
    assert torch.allclose(out[:, 2:], ctx[:, -1:].expand(-1, 6, -1, -1, -1), atol=1e-6)
    model = randomised(DiT(small_cfg("model.target=x").model))
    x, tf = torch.randn(1, 8, 16, 16, 3), torch.full((1, 8), 0.5)
    x0_hat, v = denoise(model, x, tf, text_of(model, 1), ctx[:, -1:])
    assert torch.allclose(x + (0 - 0.5) * v, x0_hat, atol=1e-5)  # Euler from t = 0.5 to 0


def test_warp_moves_a_frame_by_its_flow():
    """A whole-pixel flow moves every pixel exactly, the edge it uncovers extended; a half-pixel flow is the mean of
    the two neighbours; each output frame follows its own flow; flow 0 is the frame itself."""
    frame = torch.rand(2, 1, 12, 16, 3, generator=torch.Generator().manual_seed(0))
    flow = torch.zeros(2, 3, 12, 16, 2)
    flow[:, 0, ..., 0] = 2.0    # frame 0: 2 px right
    flow[:, 1, ..., 1] = -3.0   # frame 1: 3 px up
    flow[:, 2, ..., 0] = 0.5    # frame 2: half a pixel right
    out = warp(frame, flow)
    f = frame[:, 0]
    same = functools.partial(torch.allclose, atol=1e-6)  # grid_sample's coordinates round at 1e-7
    assert out.shape == (2, 3, 12, 16, 3)
    assert same(out[:, 0, :, 2:], f[:, :, :-2]) and same(out[:, 0, :, :2], f[:, :, :1].expand(-1, -1, 2, -1))
    assert same(out[:, 1, :-3], f[:, 3:]) and same(out[:, 1, -3:], f[:, -1:].expand(-1, 3, -1, -1))
    assert same(out[:, 2, :, 1:], (f[:, :, 1:] + f[:, :, :-1]) / 2)
    assert same(warp(frame, torch.zeros_like(flow)), frame.expand(-1, 3, -1, -1, -1))
    assert not same(out[:, 0], f)


def test_warp_target_starts_as_copy_last_frame_and_moves_bodies_with_its_flow():
    """target=warp: the untrained model samples the last context frame exactly; an output whose flow channels
    say "2 px right" (the residual 0) makes that frame moved 2 px right, the x_0 estimate the loss sees."""
    model = DiT(small_cfg("model.target=warp").model)
    assert model.out_channels == 5
    ctx, text = torch.randn(1, 2, 16, 16, 3), text_of(model, 1)
    out = sample(model, ctx, 8, text, steps=4, generator=torch.Generator().manual_seed(3))
    assert torch.allclose(out[:, 2:], ctx[:, -1:].expand(-1, 6, -1, -1, -1), atol=1e-6)
    with torch.no_grad():  # the linear unpatchify's bias: every pixel's (r, g, b, flow x, flow y) = (0, 0, 0, 2 px, 0)
        model.final.bias.copy_(torch.tensor([0.0, 0.0, 0.0, 2.0 / FLOW_UNIT, 0.0]).repeat(2 * 4 * 4))
    x0_hat, _ = denoise(model, torch.randn(1, 8, 16, 16, 3), torch.full((1, 8), 0.5), text, ctx[:, -1:])
    assert torch.allclose(x0_hat[:, :, :, 2:], ctx[:, -1:, :, :-2].expand(-1, 8, -1, -1, -1), atol=1e-6)
    with pytest.raises(ConfigError, match="target=warp needs the linear unpatchify"):
        get_config("tiny", ["model.target=warp", "model.pixel_head=8"])


def test_coarse_flow_loss_reaches_a_body_that_moved_far():
    """A square lands 12 px below where the last frame has it. At flow 0 the sharp warp's loss has no gradient
    on the flow where it lands (flat background is sampled there); the coarse loss's gradient there says
    "sample from above" (a larger downward flow lowers it), and at the true move it is near 0 (what the blur
    carried past the top edge is not warped back)."""
    base = torch.zeros(1, 1, 32, 32, 3)
    base[:, :, 8:12, 14:18] = 1.0
    x0 = torch.roll(base, 12, dims=2)
    flow = torch.zeros(1, 1, 32, 32, 2, requires_grad=True)
    sharp, = torch.autograd.grad((warp(base, flow) - x0).pow(2).mean(), flow)
    coarse, = torch.autograd.grad(coarse_flow_loss(base, flow, x0), flow)
    landing = (0, 0, slice(20, 24), slice(14, 18))
    assert sharp[landing].abs().max() == 0
    assert (coarse[landing][..., 1] < 0).all()
    moved = torch.zeros(1, 1, 32, 32, 2)
    moved[..., 1] = 12.0
    assert coarse_flow_loss(base, moved, x0) < 0.01 * coarse_flow_loss(base, torch.zeros_like(moved), x0)
    with pytest.raises(ConfigError, match="train.flow_weight trains a flow: it needs model.target=warp"):
        get_config("tiny", ["train.flow_weight=1"])


@pytest.mark.parametrize("sampler", ["euler", "heun"])
def test_sampling_is_deterministic_for_a_seed_and_keeps_the_context(sampler):
    model = randomised(DiT(small_cfg().model))
    ctx, text = torch.randn(1, 2, 16, 16, 3), text_of(model, 1)
    run = lambda seed: sample(model, ctx, 8, text, steps=3, guidance=2.0, sampler=sampler,
                              generator=torch.Generator().manual_seed(seed))
    a, b, c = run(0), run(0), run(1)
    assert torch.equal(a, b) and not torch.allclose(a, c)
    assert torch.equal(a[:, :2], ctx)


@pytest.mark.parametrize("target", ["velocity", "delta"])
def test_guidance_scale_one_equals_conditional_prediction(target):
    model = randomised(DiT(small_cfg(f"model.target={target}").model))
    x, tf, cond = torch.randn(2, 8, 16, 16, 3), torch.rand(2, 8), text_of(model, 2)
    base = torch.randn(2, 1, 16, 16, 3)
    null = model.null_text.expand_as(cond)
    v_cond = denoise(model, x, tf, cond, base)[1]
    both = guided_velocity(model, x, tf, cond, null, 1.0, base, batched=True)  # the batched cond+null path at scale 1
    assert torch.allclose(both, v_cond, atol=1e-4)
    assert not torch.allclose(guided_velocity(model, x, tf, cond, null, 3.0, base), v_cond, atol=1e-3)


def test_rollout_extends_past_the_window():
    model = randomised(DiT(small_cfg().model))
    ctx = torch.randn(1, 2, 16, 16, 3)
    out = rollout(model, ctx, 15, text_of(model, 1), window=8, generator=torch.Generator().manual_seed(0), steps=2)
    assert out.shape == (1, 15, 16, 16, 3)
    with pytest.raises(ShapeError, match="no room"):
        rollout(model, ctx, 4, text_of(model, 1), window=2, steps=1)


def test_context_noise_reaches_the_model_and_only_the_context():
    """Noise augmentation: clean context at level 0 is the old loss exactly; a level > 0 changes what the model
    sees of the context (frames and their t), and the loss still covers the generated frames only."""
    model = randomised(DiT(small_cfg().model))
    g = torch.Generator().manual_seed(0)
    x0, noise, t = torch.randn(2, 8, 16, 16, 3, generator=g), torch.randn(2, 8, 16, 16, 3, generator=g), torch.rand(2, generator=g)
    text = text_of(model, 2)
    clean = flow_loss(model, x0, 2, text, t, noise)
    assert torch.equal(flow_loss(model, x0, 2, text, t, noise, torch.zeros(2)), clean)
    assert not torch.allclose(flow_loss(model, x0, 2, text, t, noise, torch.full((2,), 0.3)), clean)
    seen = []
    model.register_forward_hook(lambda m, args, out: seen.append((args[0][:, :2].clone(), args[1][:, :2].clone())))
    flow_loss(model, x0, 2, text, t, noise, torch.tensor([0.0, 0.3]))
    frames, times = seen[-1]
    assert torch.equal(times, torch.tensor([[0.0, 0.0], [0.3, 0.3]]))
    assert torch.equal(frames[0], x0[0, :2]) and torch.allclose(frames[1], 0.7 * x0[1, :2] + 0.3 * noise[1, :2])


def test_rollout_shows_generated_context_at_its_level_and_real_context_clean():
    """The first window conditions on the real frames (t = 0); later windows on generated frames at context_t.
    The returned frames are the generated ones, not their noised view."""
    model = randomised(DiT(small_cfg().model))
    levels = []
    model.register_forward_hook(lambda m, args, out: levels.append(float(args[1][0, 0])))
    ctx, text = torch.randn(1, 2, 16, 16, 3), text_of(model, 1)
    out = rollout(model, ctx, 12, text, window=8, generator=torch.Generator().manual_seed(0), steps=2,
                  context_t=0.25)
    assert out.shape == (1, 12, 16, 16, 3)
    assert levels == [0.0, 0.0, 0.25, 0.25]  # two windows, two sampler steps each
    again = rollout(model, ctx, 12, text, window=8, generator=torch.Generator().manual_seed(0), steps=2,
                    context_t=0.25)
    assert torch.equal(out, again)


def test_context_level_beyond_the_trained_noise_is_refused():
    from simulator.config import ConfigError
    with pytest.raises(ConfigError, match="context_t"):
        small_cfg("train.context_t=0.2")
    assert small_cfg("train.context_noise=0.3", "train.context_t=0.2").train.context_t == 0.2


def test_staggered_levels_run_each_token_frame_from_noise_to_clean_in_turn():
    """Stagger 0 is the shared schedule; stagger 1: the first generated token-frame is clean when the last one
    starts, every frame's level falls monotonically, later frames are never cleaner, and the context stays put."""
    assert torch.equal(staggered_times(0.4, 8, 2, 2, 0.0), torch.tensor([0.0, 0.0] + [0.4] * 6))
    taus = torch.linspace(2.0, 0.0, 9).tolist()
    levels = torch.stack([staggered_times(tau, 8, 2, 2, 1.0, context_t=0.1) for tau in taus])  # (9, 8)
    assert torch.all(levels[:, :2] == 0.1)
    gen = levels[:, 2:]
    assert torch.equal(gen[:, 0::2], gen[:, 1::2])                 # a token-frame's frames share their level
    assert torch.all(gen[0] == 1) and torch.all(gen[-1] == 0)      # all start at noise and end clean
    assert torch.all(gen.diff(dim=0) <= 0) and torch.all(gen.diff(dim=1) >= 0)
    first_done, last_start = int((gen[:, 0] == 0).nonzero()[0]), int((gen[:, -1] < 1).nonzero()[0])
    assert taus[first_done] == 1.0 and last_start == first_done + 1


@pytest.mark.parametrize("sampler", ["euler", "heun"])
def test_staggered_sampling_is_deterministic_keeps_the_context_and_differs_from_shared(sampler):
    model = randomised(DiT(small_cfg().model))
    ctx, text = torch.randn(1, 2, 16, 16, 3), text_of(model, 1)
    run = lambda seed, stagger: sample(model, ctx, 8, text, steps=4, sampler=sampler, stagger=stagger,
                                       generator=torch.Generator().manual_seed(seed))
    a, b = run(0, 1.0), run(0, 1.0)
    assert torch.equal(a, b) and torch.equal(a[:, :2], ctx)
    assert not torch.allclose(a, run(0, 0.0)) and not torch.allclose(a, run(1, 1.0))
    with pytest.raises(ValueError, match="stagger"):
        run(0, -0.5)


def test_heun_second_evaluation_sees_the_context_as_given():
    """The Euler guess that Heun's second evaluation reads keeps the context frames (an earlier sampler moved
    them by the step times their velocity, which at t = 0 divides by T_MIN, and fed that to the network)."""
    model = randomised(DiT(small_cfg().model))
    ctx, text = torch.randn(1, 2, 16, 16, 3), text_of(model, 1)
    seen = []
    model.register_forward_hook(lambda m, args, out: seen.append(args[0][:, :2].clone()))
    sample(model, ctx, 8, text, steps=2, sampler="heun", generator=torch.Generator().manual_seed(0))
    assert len(seen) == 3 and all(torch.equal(s, ctx) for s in seen)  # 2 steps: 2 + 1 evaluations


def test_per_frame_levels_reach_the_model_and_the_loss():
    """Diffusion forcing: (B, T - n_context) levels go to the model frame by frame, the context at 0; equal
    levels are the clip-level loss exactly."""
    model = randomised(DiT(small_cfg().model))
    g = torch.Generator().manual_seed(0)
    x0, noise = torch.randn(2, 8, 16, 16, 3, generator=g), torch.randn(2, 8, 16, 16, 3, generator=g)
    text, t = text_of(model, 2), torch.tensor([0.3, 0.8])
    assert torch.equal(flow_loss(model, x0, 2, text, t[:, None].expand(-1, 6), noise), flow_loss(model, x0, 2, text, t, noise))
    levels = torch.tensor([[0.1, 0.1, 0.5, 0.5, 0.9, 0.9], [0.7, 0.7, 0.2, 0.2, 0.4, 0.4]])
    seen = []
    model.register_forward_hook(lambda m, args, out: seen.append(args[1].clone()))
    flow_loss(model, x0, 2, text, levels, noise)
    assert torch.equal(seen[-1], torch.cat([torch.zeros(2, 2), levels], dim=1))
