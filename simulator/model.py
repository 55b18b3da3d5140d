"""The diffusion transformer (modules only; the flow math lives in diffusion.py).

Video (B, T, H, W, C) -> spacetime patches (B, T', S, D) with S = H'W' -> DiT blocks with
adaLN-Zero conditioned per token-frame on its timestep and on the caption -> unpatchify.
Positions are sinusoids of (time index, fractional height, fractional width), so one model
runs at any duration, resolution and aspect ratio. Context frames are simply frames whose
timestep is 0: they enter clean and the loss ignores them (see diffusion.py).
"""
from __future__ import annotations

import functools
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import ModelConfig, SimulatorError


class ShapeError(SimulatorError):
    """A video or context whose shape the model cannot take."""


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x * (1 + scale) + shift


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor | None = None) -> torch.Tensor:
        n, l, d = x.shape                                                     # (N, L, D)
        q, k, v = self.qkv(x).view(n, l, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)  # (N, h, L, hd)
        mask = None if key_mask is None else key_mask[:, None, None, :]       # (N, 1, 1, L) True = attend
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.proj(y.transpose(1, 2).reshape(n, l, d))


class MLP(nn.Module):
    def __init__(self, dim: int, ratio: float):
        super().__init__()
        hidden = int(dim * ratio)
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


class DiTBlock(nn.Module):
    """adaLN-Zero block. Full: attention over all T'S tokens. Factorised: spatial attention within
    each frame, then temporal attention along each patch position, then the MLP."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float, factorised: bool):
        super().__init__()
        self.factorised = factorised
        n_sub = 3 if factorised else 2  # sub-layers, each with its own shift, scale and gate
        self.norms = nn.ModuleList(nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6) for _ in range(n_sub))
        self.attn = Attention(dim, heads)
        self.tattn = Attention(dim, heads) if factorised else None
        self.mlp = MLP(dim, mlp_ratio)
        self.ada = nn.Sequential(nn.SiLU(), nn.Linear(dim, 3 * n_sub * dim))
        nn.init.zeros_(self.ada[1].weight)  # adaLN-Zero: every gate starts at 0, the block is the identity
        nn.init.zeros_(self.ada[1].bias)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        b, t, s, d = x.shape                                                  # (B, T', S, D)
        mods = self.ada(c)[:, :, None].chunk(3 * len(self.norms), dim=-1)     # each (B, T', 1, D)
        if self.factorised:
            h = modulate(self.norms[0](x), mods[0], mods[1]).reshape(b * t, s, d)
            x = x + mods[2] * self.attn(h).view(b, t, s, d)
            h = modulate(self.norms[1](x), mods[3], mods[4]).transpose(1, 2).reshape(b * s, t, d)
            x = x + mods[5] * self.tattn(h).view(b, s, t, d).transpose(1, 2)
        else:
            h = modulate(self.norms[0](x), mods[0], mods[1]).reshape(b, t * s, d)
            x = x + mods[2] * self.attn(h).view(b, t, s, d)
        return x + mods[-1] * self.mlp(modulate(self.norms[-1](x), mods[-3], mods[-2]))


class PixelHead(nn.Module):
    """Output head that decides each pixel on its own (in the spirit of PixNerd, 2025). A linear unpatchify puts
    every patch's output in a (dim + 1)-dimensional affine subspace of its pt*ph*pw*C values (129 of 384 for
    the reference), which may not hold a sharp edge or a saturated colour at every offset within the patch.
    Here each token gives every pixel of its patch a hidden vector, the pixel adds linear reads of its own noisy
    value and of the last context frame's value there, and one GELU layer shared by every pixel gives its
    output. The token's part is one matrix product (the MLP's first layer folded into the spread), so the
    per-pixel cost is a few `hidden`-wide elementwise passes. It lowers the loss but not the physics scores
    (reports/ablations/conclusions.md, "output head"), so `model.pixel_head` is 0 by default."""

    def __init__(self, dim: int, patch: tuple[int, int, int], channels: int, hidden: int):
        super().__init__()
        self.patch, self.hidden = patch, hidden
        self.spread = nn.Linear(dim, math.prod(patch) * hidden)
        self.read_x = nn.Linear(channels, hidden, bias=False)
        self.read_base = nn.Linear(channels, hidden, bias=False)
        self.out = nn.Linear(hidden, channels)

    def forward(self, h: torch.Tensor, x: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
        """h (B, T', S, D) final token states, x (B, T, H, W, C) the noisy input, base (B, 1, H, W, C)."""
        pre = unpatchify(self.spread(h), x.shape[1:4], self.patch, self.hidden)  # (B, T, H, W, hidden)
        pre = pre + self.read_x(x) + self.read_base(base)
        return self.out(F.gelu(pre, approximate="tanh"))


class SeamRefiner(nn.Module):
    """A residual 3x3 convolution over each output frame, after the unpatchify (U-ViT, Bao et al. 2023, found a
    3x3 conv after the linear patch decoder improves samples). Without it, every output pixel comes from one
    token alone, so where a body crosses a patch border its two halves are drawn by two tokens that need not agree:
    the reference's fast bodies come out cut along the 8x8 grid, which the tracker counts as pieces
    (reports/ablations/conclusions.md, "where the reference loses permanence"). The refiner reads the
    decoded frame, the noisy input and the last context frame in a 3x3 neighbourhood across those borders,
    through one hidden GELU layer; its last layer starts at zero, so the model starts as without it."""

    def __init__(self, channels: int, hidden: int):
        super().__init__()
        self.mix = nn.Conv2d(3 * channels, hidden, 3, padding=1, padding_mode="replicate")
        self.out = nn.Conv2d(hidden, channels, 3, padding=1, padding_mode="replicate")

    def forward(self, y: torch.Tensor, x: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
        """y, x (B, T, H, W, C): decoded output and noisy input; base (B, 1, H, W, C). Returns y + correction."""
        b, T, H, W, C = y.shape
        z = torch.cat([y, x, base.expand_as(y)], dim=-1).reshape(b * T, H, W, 3 * C).permute(0, 3, 1, 2)
        dz = self.out(F.gelu(self.mix(z), approximate="tanh"))
        return y + dz.permute(0, 2, 3, 1).reshape(b, T, H, W, C)


def unpatchify(out: torch.Tensor, size: tuple[int, int, int], patch: tuple[int, int, int], ch: int) -> torch.Tensor:
    """(B, T', S, pt*ph*pw*ch) per-token values -> (B, T, H, W, ch) for a video of `size` (T, H, W)."""
    (T, H, W), (pt, ph, pw) = size, patch
    b, tt, hh, ww = out.shape[0], T // pt, H // ph, W // pw
    out = out.view(b, tt, hh, ww, pt, ph, pw, ch).permute(0, 1, 4, 2, 5, 3, 6, 7)
    return out.reshape(b, T, H, W, ch)


class TimestepEmbedder(nn.Module):
    """Scalar t in [0, 1] -> (..., D): sinusoid then an MLP (as in DiT)."""

    def __init__(self, dim: int, freq_dim: int = 256):
        super().__init__()
        self.freq_dim = freq_dim
        self.mlp = nn.Sequential(nn.Linear(freq_dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        half = self.freq_dim // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device) / half)
        args = (1000.0 * t.float())[..., None] * freqs                        # (..., half)
        return self.mlp(torch.cat([torch.cos(args), torch.sin(args)], dim=-1))


class TextEncoder(nn.Module):
    """Caption ids (B, L) -> pooled (B, D_model); trained jointly with the DiT (no pretrained weights)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d = cfg.text_dim
        self.tok = nn.Embedding(cfg.vocab_size + 2, d)
        self.pos = nn.Parameter(torch.randn(cfg.max_text_len, d) * 0.02)
        self.layers = nn.ModuleList(nn.ModuleDict(dict(n1=nn.LayerNorm(d), attn=Attention(d, cfg.text_heads),
                                                       n2=nn.LayerNorm(d), mlp=MLP(d, 4.0)))
                                    for _ in range(cfg.text_depth))
        self.out = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, cfg.dim))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        keep = ids != 0                                                       # (B, L) PAD = 0
        keep[:, 0] = True  # BOS always attends, so an empty caption is well defined
        h = self.tok(ids) + self.pos[: ids.shape[1]]                          # (B, L, d)
        for layer in self.layers:
            h = h + layer["attn"](layer["n1"](h), key_mask=keep)
            h = h + layer["mlp"](layer["n2"](h))
        pooled = (h * keep[..., None]).sum(1) / keep.sum(1, keepdim=True)     # (B, d)
        return self.out(pooled)


@functools.lru_cache(maxsize=64)
def _sincos_3d(t: int, h: int, w: int, dim: int, pos_ref: int) -> torch.Tensor:
    """(T', H'W', D) positions: time index, and height/width as fractions of the frame times pos_ref."""
    n = 2 * (dim // 6)  # channels per axis (even); the rest stay zero

    def axis(pos: torch.Tensor) -> torch.Tensor:                              # (L,) -> (L, n)
        freqs = torch.exp(-math.log(10000.0) * torch.arange(n // 2) / max(n // 2, 1))
        a = pos[:, None] * freqs
        return torch.cat([torch.sin(a), torch.cos(a)], dim=-1)

    pt = axis(torch.arange(t, dtype=torch.float32))
    ph = axis((torch.arange(h, dtype=torch.float32) + 0.5) * pos_ref / h)
    pw = axis((torch.arange(w, dtype=torch.float32) + 0.5) * pos_ref / w)
    out = torch.zeros(t, h, w, dim)
    out[..., :n] = pt[:, None, None]
    out[..., n:2 * n] = ph[None, :, None]
    out[..., 2 * n:3 * n] = pw[None, None, :]
    return out.view(t, h * w, dim)


class DiT(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        pt, ph, pw = cfg.patch
        self.patch_dim = pt * ph * pw * cfg.in_channels
        # what each pixel gets out: its channels, and for target "warp" also the flow (x, y) that moves the last
        # context frame there (diffusion.denoise)
        self.out_channels = cfg.in_channels + (2 if cfg.target == "warp" else 0)
        self.embed = nn.Linear(self.patch_dim, cfg.dim)
        self.t_embed = TimestepEmbedder(cfg.dim)
        self.text = TextEncoder(cfg)
        self.null_text = nn.Parameter(torch.zeros(cfg.dim))  # the caption of a dropped caption (CFG)
        self.blocks = nn.ModuleList(DiTBlock(cfg.dim, cfg.heads, cfg.mlp_ratio, cfg.attention == "factorised")
                                    for _ in range(cfg.depth))
        self.final_norm = nn.LayerNorm(cfg.dim, elementwise_affine=False, eps=1e-6)
        self.final_ada = nn.Sequential(nn.SiLU(), nn.Linear(cfg.dim, 2 * cfg.dim))
        if cfg.pixel_head:
            self.head = PixelHead(cfg.dim, cfg.patch, cfg.in_channels, cfg.pixel_head)
        else:
            self.final = nn.Linear(cfg.dim, pt * ph * pw * self.out_channels)
        self.refiner = SeamRefiner(cfg.in_channels, cfg.seam_refiner) if cfg.seam_refiner else None
        self._init()

    def _init(self):
        for name, m in self.named_modules():
            if isinstance(m, nn.Linear) and ".ada" not in name and not name.startswith("final"):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        last = self.head.out if self.cfg.pixel_head else self.final
        zero = (self.final_ada[1], last) + ((self.refiner.out,) if self.refiner is not None else ())
        for m in zero:  # the output starts at zero
            nn.init.zeros_(m.weight)
            nn.init.zeros_(m.bias)

    def check_shape(self, x: torch.Tensor) -> None:
        if x.dim() != 5 or x.shape[-1] != self.cfg.in_channels:
            raise ShapeError(f"video must be (B, T, H, W, {self.cfg.in_channels}), got {tuple(x.shape)}")
        if any(n % p for n, p in zip(x.shape[1:4], self.cfg.patch)):
            raise ShapeError(f"video (T, H, W) = {tuple(x.shape[1:4])} must divide by the patch {self.cfg.patch}")

    def encode_text(self, ids: torch.Tensor, drop: torch.Tensor | None = None) -> torch.Tensor:
        """(B, L) ids -> (B, D); where `drop` (B,) is True the learned null caption is used instead."""
        pooled = self.text(ids)
        if drop is not None:
            pooled = torch.where(drop[:, None], self.null_text.expand_as(pooled), pooled)
        return pooled

    def forward(self, x: torch.Tensor, t: torch.Tensor, text: torch.Tensor,
                base: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, T, H, W, C) noisy video, t (B, T) per-frame timestep in [0, 1] (0 = clean context),
        text (B, D) from `encode_text`, base (B, 1, H, W, C) the last clean context frame (read by the pixel
        head and the seam refiner; None = zeros). Returns (B, T, H, W, out_channels): velocity, clean frames, their
        change from the last context frame, or that change's flow and residual, as cfg.target says
        (diffusion.denoise reads it)."""
        self.check_shape(x)
        b, T, H, W, C = x.shape
        pt, ph, pw = self.cfg.patch
        tt, hh, ww = T // pt, H // ph, W // pw
        tok = x.reshape(b, tt, pt, hh, ph, ww, pw, C).permute(0, 1, 3, 5, 2, 4, 6, 7)
        h = self.embed(tok.reshape(b, tt, hh * ww, self.patch_dim))           # (B, T', S, D)
        h = h + _sincos_3d(tt, hh, ww, self.cfg.dim, self.cfg.pos_ref).to(h)
        t_tok = t.view(b, tt, pt).amax(-1)                                    # (B, T') a patch's frames share t
        c = self.t_embed(t_tok) + text[:, None]                               # (B, T', D)
        for block in self.blocks:
            h = block(h, c)
        shift, scale = self.final_ada(c)[:, :, None].chunk(2, dim=-1)
        h = modulate(self.final_norm(h), shift, scale)
        base = torch.zeros_like(x[:, :1]) if base is None else base
        if self.cfg.pixel_head:
            y = self.head(h, x, base)
        else:
            y = unpatchify(self.final(h), (T, H, W), self.cfg.patch, self.out_channels)  # (B, T, H, W, C')
        return y if self.refiner is None else self.refiner(y, x, base)


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
