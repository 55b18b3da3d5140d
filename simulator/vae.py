"""An optional causal 3D convolutional video autoencoder (modules only; `train-vae` trains it).

Causal in time: every convolution pads only the past (replicating the first frame), so a
latent frame never sees later frames and the first frames can be encoded on their own, as a
context is. Spatial compression `spatial` and temporal compression `temporal` (powers of two)
come from VAEConfig; latents are scaled to unit variance by the `scale` buffer measured after
training, so the flow's noise has the data's size.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import ConfigError, VAEConfig
from .model import ShapeError


class CausalConv3d(nn.Module):
    def __init__(self, cin: int, cout: int, k: int = 3, stride: tuple[int, int, int] = (1, 1, 1)):
        super().__init__()
        self.tpad = k - stride[0]  # output j then sees input frames up to stride * j + stride - 1, never later
        self.conv = nn.Conv3d(cin, cout, k, stride=stride, padding=(0, k // 2, k // 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:                       # (B, C, T, H, W)
        return self.conv(F.pad(x, (0, 0, 0, 0, self.tpad, 0), mode="replicate"))


class FrameNorm(nn.GroupNorm):
    """GroupNorm over each frame on its own: statistics across time would leak the future."""

    def __init__(self, ch: int):
        super().__init__(8, ch)

    def forward(self, x):                                                     # (B, C, T, H, W)
        b, c, t, h, w = x.shape
        y = super().forward(x.transpose(1, 2).reshape(b * t, c, h, w))
        return y.view(b, t, c, h, w).transpose(1, 2)


class ResBlock(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.n1, self.c1 = FrameNorm(ch), CausalConv3d(ch, ch)
        self.n2, self.c2 = FrameNorm(ch), CausalConv3d(ch, ch)

    def forward(self, x):
        return x + self.c2(F.silu(self.n2(self.c1(F.silu(self.n1(x))))))


def _levels(cfg: VAEConfig) -> tuple[int, int]:
    ls, lt = int(math.log2(cfg.spatial)), int(math.log2(cfg.temporal))
    if 2 ** ls != cfg.spatial or 2 ** lt != cfg.temporal or lt > ls:
        raise ConfigError(f"vae.spatial ({cfg.spatial}) and vae.temporal ({cfg.temporal}) must be powers of two, "
                          f"temporal <= spatial")
    return ls, lt


class VideoVAE(nn.Module):
    def __init__(self, cfg: VAEConfig):
        super().__init__()
        self.cfg = cfg
        ls, lt = _levels(cfg)
        chans = [cfg.base * min(2 ** i, 4) for i in range(ls + 1)]
        enc = [CausalConv3d(3, chans[0])]
        for i in range(ls):  # each level halves H and W; the first `lt` levels also halve T
            enc += [ResBlock(chans[i]), CausalConv3d(chans[i], chans[i + 1], stride=(2 if i < lt else 1, 2, 2))]
        enc += [ResBlock(chans[-1]), FrameNorm(chans[-1]), nn.SiLU(), CausalConv3d(chans[-1], 2 * cfg.latent_channels)]
        self.encoder = nn.Sequential(*enc)
        dec = [CausalConv3d(cfg.latent_channels, chans[-1]), ResBlock(chans[-1])]
        for i in reversed(range(ls)):
            dec += [_Upsample(2 if i < lt else 1), CausalConv3d(chans[i + 1], chans[i]), ResBlock(chans[i])]
        dec += [FrameNorm(chans[0]), nn.SiLU(), CausalConv3d(chans[0], 3)]
        self.decoder = nn.Sequential(*dec)
        self.register_buffer("scale", torch.ones(()))  # 1 / std of the latents, set after training

    def check(self, x: torch.Tensor) -> None:
        t, h, w = x.shape[1:4]
        if x.dim() != 5 or x.shape[-1] != 3 or t % self.cfg.temporal or h % self.cfg.spatial or w % self.cfg.spatial:
            raise ShapeError(f"VAE input must be (B, T, H, W, 3) with T divisible by {self.cfg.temporal} and H, W by "
                             f"{self.cfg.spatial}; got {tuple(x.shape)}")

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, H, W, 3) in [-1, 1] -> mean, logvar each (B, T/t, H/s, W/s, c), unscaled."""
        self.check(x)
        h = self.encoder(x.permute(0, 4, 1, 2, 3))
        mean, logvar = h.permute(0, 2, 3, 4, 1).chunk(2, dim=-1)
        return mean, logvar.clamp(-20, 10)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, T', H', W', c) unscaled latent -> (B, T, H, W, 3)."""
        return self.decoder(z.permute(0, 4, 1, 2, 3)).permute(0, 2, 3, 4, 1)

    def latent_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The shape `latent` gives a (B, T, H, W, 3) pixel batch."""
        b, t, h, w, _ = shape
        return b, t // self.cfg.temporal, h // self.cfg.spatial, w // self.cfg.spatial, self.cfg.latent_channels

    def latent(self, x: torch.Tensor) -> torch.Tensor:
        """Pixels -> the scaled latent the DiT works on (the mean, deterministic)."""
        return self.encode(x)[0] * self.scale

    def pixels(self, z: torch.Tensor) -> torch.Tensor:
        return self.decode(z / self.scale)

    def loss(self, x: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(total, reconstruction MSE) with the reparameterised sample z = mean + std * noise."""
        mean, logvar = self.encode(x)
        z = mean + (0.5 * logvar).exp() * noise
        rec = (self.decode(z) - x).pow(2).mean()
        kl = 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).mean()
        return rec + self.cfg.kl * kl, rec


class _Upsample(nn.Module):
    def __init__(self, time: int):
        super().__init__()
        self.time = time

    def forward(self, x):                                                     # (B, C, T, H, W)
        return F.interpolate(x, scale_factor=(self.time, 2, 2), mode="nearest")
