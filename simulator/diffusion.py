"""Rectified flow: the training loss, classifier-free guidance, Euler/Heun samplers, rollouts.

Convention: x_t = (1 - t) x_0 + t eps with t in [0, 1]; t = 0 is clean data and t = 1 pure
noise; dx/dt = v = eps - x_0, so sampling integrates from t = 1 down to t = 0. Context frames
carry t = 0 and are held at their clean values.

What the network outputs is `model.cfg.target`: the velocity itself, the clean frames x_0
(x-prediction), x_0 minus the last context frame ("delta"), or a per-pixel flow that moves the last
context frame plus a residual ("warp": a body carried by a flow moves whole, where a delta has to erase
it in one place and draw it again in another). `denoise` turns any of them into (x_0 estimate,
velocity), so the loss and the samplers are written once. With x-, delta- or warp prediction the
loss is the squared error of x_0 and one Euler step to t = 0 lands on the x_0 estimate, so a 4-step
Euler sampler is DDIM with 4 network evaluations.

Long horizons are made of windows, each conditioned on frames the model made itself. So that its own
small errors do not compound, training may noise the context too (noise augmentation, as GameNGen
does): each clip's context gets a level drawn up to `train.context_noise`, told to the model as those
frames' t. Sampling then gives generated context frames a level `train.context_t` from that range;
the first window's real context stays clean. The delta origin stays the clean last context frame.

Diffusion forcing (Chen et al. 2024): with `train.frame_noise` every generated token-frame of a training
clip gets its own level, so the network learns to denoise a frame next to cleaner and noisier ones. The
sampler can then stagger the levels (`train.sample_stagger`): earlier frames are denoised ahead of later
ones, which see them nearly clean, as an autoregressive model would, within one window and one pass.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .model import DiT, ShapeError

T_MIN = 0.02  # velocity from an x_0 estimate divides by t: keep it away from 0 (only the last step gets close)
MOVING = 0.1  # a pixel moves when a channel differs from the last context frame by this ([-1, 1] units: 13 grey levels)
FLOW_UNIT = 8.0  # pixels (or latent cells) of flow per unit of the network's output ("warp"): a patch's width
FLOW_SIGMAS = (2.0, 8.0)  # px: the blurs under which train.flow_weight asks the flow alone to match the truth


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """A Gaussian blur of sigma px over the height and width of x (B, T, H, W, C), the edges extended."""
    b, T, H, W, C = x.shape
    r = int(3 * sigma)
    k = torch.exp(-torch.arange(-r, r + 1, device=x.device, dtype=torch.float32) ** 2 / (2 * sigma ** 2))
    k = (k / k.sum()).to(x.dtype)
    z = F.pad(x.reshape(b * T, H, W, C).permute(0, 3, 1, 2), (r, r, r, r), mode="replicate")
    z = F.conv2d(z, k.view(1, 1, 1, -1).expand(C, 1, 1, -1), groups=C)
    z = F.conv2d(z, k.view(1, 1, -1, 1).expand(C, 1, -1, 1), groups=C)
    return z.permute(0, 2, 3, 1).reshape(b, T, H, W, C)


def coarse_flow_loss(base: torch.Tensor, flow: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
    """How far the flow alone is from the clean frames x0 (B, T, H, W, C) when both are blurred by each of
    FLOW_SIGMAS: base (B, 1, H, W, C) warped by flow (B, T, H, W, 2). A warp's gradient with respect to its flow
    is the image's gradient where it samples, zero on flat background, so at full sharpness the flow cannot
    learn that a body landed 20 px from where it was; blurred, the body reaches there."""
    errors = [(warp(gaussian_blur(base, s), flow) - gaussian_blur(x0, s)).float().pow(2).mean() for s in FLOW_SIGMAS]
    return sum(errors) / len(errors)


def warp(frame: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """frame (B, 1, H, W, C) moved by flow (B, T, H, W, 2), in pixels (x right, y down): output pixel p of frame
    t is the frame at p - flow[t, p], bilinear, the edges extended. (B, T, H, W, C); flow 0 gives the frame
    (to float rounding of the sampling grid)."""
    b, T, H, W, _ = flow.shape
    C = frame.shape[-1]
    flow = flow.float()
    xs = torch.arange(W, device=flow.device, dtype=torch.float32)
    ys = torch.arange(H, device=flow.device, dtype=torch.float32)[:, None]
    grid = torch.stack([(2 * (xs - flow[..., 0]) + 1) / W - 1,                # grid_sample's [-1, 1] coordinates
                        (2 * (ys - flow[..., 1]) + 1) / H - 1], dim=-1)       # (align_corners=False)
    src = frame.float().expand(b, T, H, W, C).reshape(b * T, H, W, C).permute(0, 3, 1, 2)
    out = F.grid_sample(src, grid.reshape(b * T, H, W, 2), mode="bilinear", padding_mode="border", align_corners=False)
    return out.permute(0, 2, 3, 1).reshape(b, T, H, W, C).to(frame.dtype)


def denoise(model: DiT, xt: torch.Tensor, tf: torch.Tensor, text: torch.Tensor, base: torch.Tensor,
            with_flow: bool = False):
    """(x_0 estimate, velocity) of noisy video xt (B, T, H, W, C) at per-frame times tf (B, T).
    `base` (B, 1, H, W, C) is the last clean context frame, the origin of "delta" and "warp" predictions.
    with_flow: also the flow (B, T, H, W, 2) in pixels for "warp" (None for the other targets)."""
    out = model(xt, tf, text, base)
    w = tf[:, :, None, None, None].to(out.dtype)
    target, flow = model.cfg.target, None
    if target == "velocity":
        x0, v = xt - w * out, out
    else:
        if target == "warp":
            c = xt.shape[-1]
            flow = FLOW_UNIT * out[..., c:]
            x0 = warp(base.to(out.dtype), flow) + out[..., :c]
        else:
            x0 = out + base if target == "delta" else out
        v = (xt - x0) / w.clamp_min(T_MIN)
    return (x0, v, flow) if with_flow else (x0, v)


def logit_normal(n: int, mean: float, std: float, generator: torch.Generator | None, device=None) -> torch.Tensor:
    """(n,) timesteps sigmoid(N(mean, std)): most weight on the middle, none at the ends (SD3)."""
    return torch.sigmoid(mean + std * torch.randn(n, generator=generator, device=device))


def frame_times(t: torch.Tensor, n_frames: int, n_context: int, context_t: torch.Tensor | float = 0.0) -> torch.Tensor:
    """Clip timesteps (B,), or the generated frames' own (B, n_frames - n_context), -> (B, T) per-frame
    timesteps; the context frames get `context_t` (a number, or (B,) one per clip; 0 = clean)."""
    if t.dim() == 2:
        tf = torch.cat([t.new_zeros(len(t), n_context), t], dim=1)
    else:
        tf = t[:, None].expand(-1, n_frames).clone()
    ctx = torch.as_tensor(context_t, dtype=tf.dtype, device=tf.device)
    tf[:, :n_context] = ctx[:, None] if ctx.dim() else ctx
    return tf


def token_frame_noise(t: torch.Tensor, patch_t: int) -> torch.Tensor:
    """(B, K) levels, one per generated token-frame -> (B, K * patch_t), one per generated frame."""
    return t.repeat_interleave(patch_t, dim=1)


def staggered_times(tau: float, n_frames: int, n_context: int, patch_t: int, stagger: float,
                    context_t: float = 0.0) -> torch.Tensor:
    """(T,) per-frame levels at sampling time tau, which runs from 1 + stagger down to 0: generated
    token-frame k of K runs tau - stagger * (1 - k / (K - 1)), clamped to [0, 1]. So the first is done when
    tau reaches `stagger` and the last starts when tau falls below 1; at stagger 0 every frame is at tau."""
    k = torch.div(torch.arange(n_frames - n_context), patch_t, rounding_mode="floor").to(torch.float32)
    lag = stagger * (1 - k / max(float(k.max()) if len(k) else 0.0, 1.0))
    tf = (tau - lag).clamp(0.0, 1.0)
    return torch.cat([torch.full((n_context,), float(context_t)), tf])


def moving_pixels(x0: torch.Tensor, n_context: int) -> torch.Tensor:
    """(B, T - n_context, H, W, 1) bool: the generated frames' pixels that differ from the last context frame."""
    base = x0[:, n_context - 1:n_context]
    return (x0[:, n_context:] - base).abs().amax(-1, keepdim=True) > MOVING


def flow_loss(model: DiT, x0: torch.Tensor, n_context: int, text: torch.Tensor,
              t: torch.Tensor, noise: torch.Tensor, context_t: torch.Tensor | None = None,
              motion_weight: float = 0.0, flow_weight: float = 0.0) -> torch.Tensor:
    """Mean squared error over the generated frames only: of the velocity for target "velocity",
    of the clean frames otherwise (x-, delta- and warp prediction). With `motion_weight` w > 0 it is a weighted
    mean in which the pixels that move (moving_pixels) count 1 + w times: about 5% of the pixels, where the
    bodies are and were. With `flow_weight` > 0 (target "warp") it adds that much of coarse_flow_loss.

    x0 (B, T, H, W, C) clean clip, text (B, D) caption embedding, t (B,) timesteps (or (B, T - n_context),
    one per generated frame: diffusion forcing),
    noise like x0, context_t (B,) the context's noise levels (None: clean context). All randomness
    comes in as arguments, so DDP and resume tests can replay it.
    """
    tf = frame_times(t, x0.shape[1], n_context, 0.0 if context_t is None else context_t)  # (B, T)
    w = tf[:, :, None, None, None]
    xt = (1 - w) * x0 + w * noise  # context frames at their own level (clean at 0)
    base = x0[:, n_context - 1:n_context]
    x0_hat, v, flow = denoise(model, xt, tf, text, base, with_flow=True)
    if model.cfg.target == "velocity":
        err = v[:, n_context:].float() - (noise - x0)[:, n_context:].float()
    else:
        err = x0_hat[:, n_context:].float() - x0[:, n_context:].float()
    if not motion_weight:
        loss = err.pow(2).mean()
    else:
        w = 1 + motion_weight * moving_pixels(x0, n_context).float()            # (B, T', H, W, 1)
        loss = (err.pow(2) * w).sum() / (w.sum() * err.shape[-1])
    if flow_weight:
        loss = loss + flow_weight * coarse_flow_loss(base, flow[:, n_context:], x0[:, n_context:])
    return loss


def guided_velocity(model: DiT, x: torch.Tensor, tf: torch.Tensor, cond: torch.Tensor, null: torch.Tensor,
                    scale: float, base: torch.Tensor, batched: bool | None = None) -> torch.Tensor:
    """v_null + scale (v_cond - v_null); at scale 1 the unconditional pass is skipped unless `batched`."""
    if scale == 1.0 and not batched:
        return denoise(model, x, tf, cond, base)[1]
    v = denoise(model, torch.cat([x, x]), torch.cat([tf, tf]), torch.cat([cond, null]), torch.cat([base, base]))[1]
    v_cond, v_null = v.chunk(2)
    return v_null + scale * (v_cond - v_null)


@torch.no_grad()
def sample(model: DiT, context: torch.Tensor, n_frames: int, cond: torch.Tensor, steps: int = 4,
           guidance: float = 1.0, sampler: str = "euler", generator: torch.Generator | None = None,
           context_t: float = 0.0, stagger: float = 0.0) -> torch.Tensor:
    """Generate a clip of n_frames whose first frames are `context` (B, Tc, H, W, C), shown to the model
    at noise level `context_t`; returns (B, n_frames, H, W, C) with the context as given. `steps` steps
    of the sampling time from 1 + stagger to 0 (see staggered_times; stagger 0: every frame together)."""
    if sampler not in ("euler", "heun"):
        raise ValueError(f"sampler must be 'euler' or 'heun', got '{sampler}'")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if not stagger >= 0:
        raise ValueError(f"stagger must be >= 0, got {stagger}")
    b, tc = context.shape[:2]
    x = torch.randn((b, n_frames, *context.shape[2:]), generator=generator, device=context.device)
    seen = context if context_t == 0 else (1 - context_t) * context + context_t * x[:, :tc]
    x[:, :tc] = seen
    null = model.null_text.expand_as(cond)
    base = context[:, -1:]                                                    # (B, 1, H, W, C) last context frame
    taus = torch.linspace(1.0 + stagger, 0.0, steps + 1).tolist()
    pt = model.cfg.patch[0]

    def levels(tau: float) -> torch.Tensor:                                   # (B, T) per-frame levels
        return staggered_times(tau, n_frames, tc, pt, stagger, context_t).to(context.device).expand(b, -1)

    for i in range(steps):
        tf, tf_next = levels(taus[i]), levels(taus[i + 1])
        dt = (tf_next - tf)[:, :, None, None, None]                           # 0 for frames done or not begun
        v = guided_velocity(model, x, tf, cond, null, guidance, base)
        x_next = x + dt * v
        if sampler == "heun" and bool((tf_next[:, tc:] > 0).any()):  # trapezoid with the slope at the Euler guess
            # (not for frames the step finishes: their Euler step lands on the x_0 estimate)
            v2 = guided_velocity(model, x_next, tf_next, cond, null, guidance, base)
            x_next = torch.where(tf_next[:, :, None, None, None] > 0, x + dt * (v + v2) / 2, x_next)
        x = x_next
        x[:, :tc] = seen
    x[:, :tc] = context
    return x


@torch.no_grad()
def rollout(model: DiT, context: torch.Tensor, horizon: int, cond: torch.Tensor, window: int,
            generator: torch.Generator | None = None, context_t: float = 0.0, **sample_kw) -> torch.Tensor:
    """Continue `context` (B, Tc, ...) by `horizon` frames; windows of `window` frames, each new window
    conditioned on the last Tc frames so far (autoregressive extension), shown at noise level `context_t`
    once any of them is generated. Returns (B, horizon, ...)."""
    tc, pt = context.shape[1], model.cfg.patch[0]
    if tc < 1 or tc % pt:
        raise ShapeError(f"context of {tc} frames: need at least one and a multiple of the temporal patch {pt}")
    if window - tc < pt:
        raise ShapeError(f"window of {window} frames leaves no room to generate after {tc} context frames")
    made = []
    frames = context
    while sum(m.shape[1] for m in made) < horizon:
        todo = horizon - sum(m.shape[1] for m in made)
        new = min(window - tc, -(-todo // pt) * pt)  # whole temporal patches
        level = context_t if made else 0.0  # the first window's context is real: clean
        clip = sample(model, frames[:, -tc:], tc + new, cond, generator=generator, context_t=level, **sample_kw)
        made.append(clip[:, tc:])
        frames = torch.cat([frames, clip[:, tc:]], dim=1)
    return torch.cat(made, dim=1)[:, :horizon]
