"""Configs of the world simulator: dataclasses, a registry of sizes, and `--set key=value` overrides.

A `Config` has four parts, each a dataclass with one comment per field:
`model` (the DiT), `data` (which episodes, at what size), `train` (optimisation) and `vae`.
Sizes are a registry keyed by name (`tiny`, `S`, `B`), the surface of scaling ablations;
`--set model.dim=256` changes one field and names the problem when the key or type is wrong.
"""
from __future__ import annotations

import dataclasses
import json
import math
import typing
from dataclasses import dataclass, field


class SimulatorError(ValueError):
    """Base of every bad-input error of the simulator; the message is one line naming the problem."""


class ConfigError(SimulatorError):
    """An unknown config key, a value of the wrong type, or an inconsistent combination."""


@dataclass
class ModelConfig:
    patch: tuple[int, int, int] = (2, 8, 8)  # spacetime patch (t, h, w) over pixels or latent cells; large
                                    # patches keep 64x64x32 at 1024 tokens, affordable on 2 CPU cores
    target: str = "delta"           # what the network predicts: "velocity" (eps - x0, rectified flow), "x" (the
                                    # clean frames) or "delta" (clean frames minus the last context frame). A 384-value
                                    # patch cannot carry per-pixel noise through a 192-wide token, clean frames can
                                    # (Back to Basics, 2025); "delta" starts as copy-last-frame (zero-init output);
                                    # "warp": the last context frame moved by a predicted per-pixel flow, plus a
                                    # residual (diffusion.warp), also copy-last-frame at the start
    dim: int = 192                  # transformer width
    depth: int = 4                  # DiT blocks
    heads: int = 3                  # attention heads (dim must divide evenly)
    mlp_ratio: float = 4.0          # MLP hidden width / dim
    attention: str = "factorised"   # "full" space-time attention or "factorised" spatial then temporal
    vocab_size: int = 2048          # hashed word tokenizer buckets (plus specials)
    max_text_len: int = 32          # caption tokens kept
    text_dim: int = 128             # text encoder width
    text_depth: int = 2             # text encoder transformer layers
    text_heads: int = 2             # text encoder heads
    pos_ref: int = 16               # spatial positions are scaled to a grid of this many patches (any resolution)
    vae: str = ""                   # path of a trained VAE checkpoint: model works on its latent ("" = pixels)
    in_channels: int = 3            # channels the patches cut (3 for pixels; set from the VAE when used)
    pixel_head: int = 0             # hidden width per pixel of the per-pixel output head (model.PixelHead);
                                    # 0 = a linear unpatchify
    seam_refiner: int = 0           # hidden channels of a residual 3x3 conv over each decoded frame, across the
                                    # patch borders (model.SeamRefiner); 0 = none


@dataclass
class DataConfig:
    root: str = "data/episodes"     # where episodes live (generated there when missing)
    families: tuple[str, ...] = ("gravity", "occlusion", "state_change", "shatter")  # scenario families used
    episodes_per_scenario: int = 64 # episodes generated per scenario for training
    seed: int = 0                   # first data seed (episode k has seed + k); all below the held-out seeds
    render_size: int = 64           # episodes are rendered at this height and width (and resized to `sizes`)
    render_frames: int = 32         # frames per rendered episode
    fps: int = 15                   # frames per second of the rendered episodes
    sizes: tuple[tuple[int, int, int], ...] = ((32, 64, 64),)  # training (frames, height, width) buckets; the first
                                    # is the sampling window: the suites' 8 + 24 frames at 64x64 in one window, no resize
    context: tuple[int, ...] = (8,)  # context-frame counts drawn per batch (clean, not in the loss)
    val_every: int = 20             # every n-th episode is held out for the validation loss


@dataclass
class TrainConfig:
    steps: int = 900                # optimiser steps (the reference's budget: about an hour on 2 shared CPU cores)
    batch_size: int = 8             # clips per step (across all processes)
    lr: float = 1e-3                # peak AdamW learning rate
    min_lr: float = 1e-4            # cosine decay floor
    warmup: int = 30                # linear warm-up steps
    weight_decay: float = 0.01      # AdamW weight decay (matrices only)
    betas: tuple[float, float] = (0.9, 0.99)  # AdamW betas
    grad_clip: float = 1.0          # global gradient-norm clip
    ema: float = 0.99               # EMA decay of the weights used for sampling
    caption_dropout: float = 0.1    # fraction of captions dropped (for classifier-free guidance)
    t_mean: float = 0.0             # logit-normal timestep sampling: mean of the normal (the reference uses 1.0:
                                    # more weight near pure noise, where motion is decided)
    t_std: float = 1.0              # logit-normal timestep sampling: std of the normal
    eval_every: int = 50            # steps between validation losses and checkpoints
    val_batches: int = 2            # batches in a validation loss
    seed: int = 0                   # training seed (init, batches, noise)
    threads: int = 0                # torch CPU threads (0 = torch's default)
    prefetch: bool = True           # read the next step's frames on a background thread while this step computes
                                    # (simulator.train.Draws; the same results either way)
    amp: str = "none"               # "bf16" autocast on GPUs; "none" is fp32 (faster on CPU)
    compile: bool = False           # torch.compile the model (GPUs)
    sample_steps: int = 4           # sampler steps used by `sample` and the adapter (4 network evaluations a window)
    sampler: str = "euler"          # "euler" or "heun" (heun: 2 evaluations a step but the last)
    guidance: float = 1.0           # classifier-free guidance scale (1.0: one pass; the old study found no gain)
    context_noise: float = 0.0      # training: each clip's context is noised to a level drawn in [0, this]
                                    # (0 = clean context); see diffusion.py
    context_t: float = 0.0          # sampling: the level generated context frames are shown at (<= context_noise)
    frame_noise: bool = False       # training: each generated token-frame gets its own noise level (diffusion
                                    # forcing) instead of one per clip; see diffusion.py
    sample_stagger: float = 0.0     # sampling: how far behind the first generated token-frame's noise level the
                                    # last one's runs (0: all frames together; 1: the last starts when the first
                                    # is done); sample_steps then counts the window's evaluations, shared by all
    motion_weight: float = 0.0      # training loss: pixels that move after the context count 1 + this (the
                                    # validation loss stays unweighted, so runs compare); see diffusion.flow_loss
    flow_weight: float = 0.0        # training loss, model.target=warp: this much of diffusion.coarse_flow_loss (the
                                    # flow alone must match the truth under a blur, so it can learn large moves)
    score_every: int = 0            # steps between default-suite scores of the checkpoint (0 = never; a multiple
                                    # of eval_every); runs `python -m physics_evals run` as a child process
    score_limit: int = 0            # episodes per task in those scores (0 = the whole default suite)


@dataclass
class VAEConfig:
    latent_channels: int = 4        # channels of the latent
    base: int = 32                  # channels of the first conv stage
    spatial: int = 4                # spatial compression (power of two)
    temporal: int = 2               # temporal compression (power of two, 1 = none)
    kl: float = 1e-4                # KL weight
    steps: int = 400                # training steps of `train-vae`
    batch_size: int = 4             # clips per VAE step
    lr: float = 1e-3                # AdamW learning rate of the VAE


@dataclass
class Config:
    name: str = "tiny"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    vae: VAEConfig = field(default_factory=VAEConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Config":
        """Rebuild from `to_dict` output; unknown keys or wrong types raise ConfigError."""
        cfg = cls()
        for key, value in _flatten(d):
            set_value(cfg, key, value)
        validate(cfg)
        return cfg


# ------------------------------------------------------------------------------------
# The size registry: the whole scaling-ablation surface.
SIZES: dict[str, dict] = {
    "tiny": {},  # the CPU reference: 4.7M parameters, 64x64x32 clips as 1024 tokens of 2x8x8 pixels
    "S": {"model.dim": 384, "model.depth": 8, "model.heads": 6, "model.text_dim": 256,
          "train.batch_size": 32, "train.steps": 20000, "train.lr": 5e-4},
    "B": {"model.dim": 768, "model.depth": 12, "model.heads": 12, "model.text_dim": 384, "model.text_depth": 4,
          "train.batch_size": 64, "train.steps": 50000, "train.lr": 3e-4},
}


def get_config(name: str, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """The named size with `key=value` overrides applied."""
    if name not in SIZES:
        raise ConfigError(f"unknown config '{name}'; choose from {', '.join(SIZES)}")
    cfg = Config(name=name)
    for key, value in SIZES[name].items():
        set_value(cfg, key, value)
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep:
            raise ConfigError(f"--set '{item}': expected key=value, for example model.dim=256")
        set_value(cfg, key.strip(), parse_value(key.strip(), text.strip(), _field_type(cfg, key.strip())))
    validate(cfg)
    return cfg


def _flatten(d: dict, prefix: str = ""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from _flatten(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v


def _resolve(cfg: Config, key: str):
    """(object, field name) that `key` such as 'model.dim' names; ConfigError when there is none."""
    parts = key.split(".")
    obj = cfg
    for i, part in enumerate(parts):
        names = [f.name for f in dataclasses.fields(obj)]
        if part not in names:
            where = ".".join(parts[:i]) or "config"
            raise ConfigError(f"unknown config key '{key}': {where} has {', '.join(names)}")
        if i == len(parts) - 1:
            return obj, part
        obj = getattr(obj, part)
        if not dataclasses.is_dataclass(obj):
            raise ConfigError(f"unknown config key '{key}': '{'.'.join(parts[:i + 1])}' is a value, not a section")
    raise ConfigError("empty config key")


def _field_type(cfg: Config, key: str):
    obj, name = _resolve(cfg, key)
    if dataclasses.is_dataclass(getattr(obj, name)):
        raise ConfigError(f"config key '{key}' is a section; set one of its fields, e.g. {key}.<field>")
    return typing.get_type_hints(type(obj))[name]


def parse_value(key: str, text: str, tp):
    """Text from the command line as a value of type `tp` (JSON for tuples, e.g. [1,4,4])."""
    try:
        if tp is str:
            return text
        if tp is bool:
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError
            return text.lower() in ("true", "1")
        if tp in (int, float):
            return tp(text)
        return json.loads(text)
    except (ValueError, json.JSONDecodeError):
        raise ConfigError(f"config key '{key}': cannot read '{text}' as {_type_name(tp)}") from None


def _type_name(tp) -> str:
    return getattr(tp, "__name__", None) if typing.get_origin(tp) is None else str(tp).replace("typing.", "")


def _coerce(key: str, value, tp):
    """value checked against the annotation `tp` (tuples from JSON lists); ConfigError on a mismatch."""
    origin = typing.get_origin(tp)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"config key '{key}': expected {_type_name(tp)}, got {value!r}")
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(key, v, args[0]) for v in value)
        if len(value) != len(args):
            raise ConfigError(f"config key '{key}': expected {len(args)} values, got {list(value)!r}")
        return tuple(_coerce(key, v, a) for v, a in zip(value, args))
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if tp in (int, str, bool) and type(value) is tp:
        return value
    if tp is float and isinstance(value, float):
        return value
    raise ConfigError(f"config key '{key}': expected {_type_name(tp)}, got {value!r}")


def set_value(cfg: Config, key: str, value) -> None:
    if key == "name":
        cfg.name = _coerce(key, value, str)
        return
    tp = _field_type(cfg, key)
    obj, name = _resolve(cfg, key)
    setattr(obj, name, _coerce(key, value, tp))


TARGETS = ("velocity", "x", "delta", "warp")  # what the network may predict (see ModelConfig.target)

# The range every numeric setting must lie in: (lowest, highest, whether the lowest is allowed).
# One table, so each bad value is named in one line before any work starts.
_POSITIVE = (0, None, False)
_NON_NEGATIVE = (0, None, True)
_UNIT = (0, 1, True)
RANGES: dict[str, tuple] = {
    "model.dim": _POSITIVE, "model.depth": _POSITIVE, "model.heads": _POSITIVE, "model.mlp_ratio": _POSITIVE,
    "model.vocab_size": _POSITIVE, "model.max_text_len": _POSITIVE, "model.text_dim": _POSITIVE,
    "model.text_depth": _NON_NEGATIVE, "model.text_heads": _POSITIVE, "model.pos_ref": _POSITIVE,
    "model.in_channels": _POSITIVE, "model.pixel_head": _NON_NEGATIVE, "model.seam_refiner": _NON_NEGATIVE,
    "data.episodes_per_scenario": _POSITIVE, "data.render_size": _POSITIVE, "data.render_frames": _POSITIVE,
    "data.fps": _POSITIVE, "data.val_every": _NON_NEGATIVE,
    "train.steps": _POSITIVE, "train.batch_size": _POSITIVE, "train.lr": _POSITIVE, "train.min_lr": _NON_NEGATIVE,
    "train.warmup": _NON_NEGATIVE, "train.weight_decay": _NON_NEGATIVE, "train.grad_clip": _POSITIVE,
    "train.motion_weight": _NON_NEGATIVE, "train.flow_weight": _NON_NEGATIVE,
    "train.ema": (0, 1, True), "train.caption_dropout": _UNIT, "train.t_std": _POSITIVE,
    "train.eval_every": _POSITIVE, "train.val_batches": _POSITIVE, "train.threads": _NON_NEGATIVE,
    "train.sample_steps": _POSITIVE, "train.guidance": _NON_NEGATIVE, "train.score_every": _NON_NEGATIVE,
    "train.score_limit": _NON_NEGATIVE, "train.context_noise": _UNIT, "train.context_t": _UNIT,
    "train.sample_stagger": _NON_NEGATIVE,
    "vae.latent_channels": _POSITIVE, "vae.base": _POSITIVE, "vae.spatial": _POSITIVE, "vae.temporal": _POSITIVE,
    "vae.kl": _NON_NEGATIVE, "vae.steps": _POSITIVE, "vae.batch_size": _POSITIVE, "vae.lr": _POSITIVE,
}


def _check_ranges(cfg: Config) -> None:
    """Every number finite and inside its range (model.dim=0, train.lr=nan, train.steps=-1 are named here)."""
    for key, (low, high, low_ok) in RANGES.items():
        section, name = key.split(".")
        v = getattr(getattr(cfg, section), name)
        if not math.isfinite(v):
            raise ConfigError(f"{key} must be a finite number, got {v}")
        if v < low or (v == low and not low_ok) or (high is not None and v > high):
            what = f"in [{low}, {high}]" if high is not None else (f">= {low}" if low_ok else f"> {low}")
            raise ConfigError(f"{key} must be {what}, got {v}")
    if cfg.train.ema >= 1:
        raise ConfigError(f"train.ema must be below 1 (1 would freeze the sampling weights), got {cfg.train.ema}")
    if any(c < 1 for c in cfg.data.context) or not cfg.data.context:
        raise ConfigError(f"data.context must be positive frame counts, got {cfg.data.context}")


def check_data_seeds(d: DataConfig) -> None:
    """Every training seed below the held-out ones, by the scenarios' one rule (scenarios.episode)."""
    from scenarios.episode import check_seeds
    from scenarios.registry import FAMILIES
    n = d.episodes_per_scenario * sum(len(FAMILIES.get(f, ())) for f in d.families)  # seeds seed..seed+n-1
    try:
        check_seeds(d.seed, n, held_out=False, what="data.seed")
    except ValueError as e:
        raise ConfigError(str(e)) from None


def validate(cfg: Config) -> None:
    """Cross-field checks, each naming the keys involved."""
    m, d, t = cfg.model, cfg.data, cfg.train
    _check_ranges(cfg)
    if m.target not in TARGETS:
        raise ConfigError(f"model.target must be one of {', '.join(TARGETS)}, got '{m.target}'")
    if t.flow_weight and m.target != "warp":
        raise ConfigError(f"train.flow_weight trains a flow: it needs model.target=warp, not '{m.target}'")
    if m.target == "warp" and (m.pixel_head or m.seam_refiner):
        raise ConfigError("model.target=warp needs the linear unpatchify: set model.pixel_head=0 and model.seam_refiner=0")
    if t.context_t > t.context_noise:
        raise ConfigError(f"train.context_t ({t.context_t}) must not exceed train.context_noise ({t.context_noise}): "
                          "the model never saw context that noisy")
    if t.score_every and t.score_every % t.eval_every:
        raise ConfigError(f"train.score_every ({t.score_every}) must be a multiple of train.eval_every ({t.eval_every})")
    if m.attention not in ("full", "factorised"):
        raise ConfigError(f"model.attention must be 'full' or 'factorised', got '{m.attention}'")
    if m.dim % m.heads or m.text_dim % m.text_heads:
        raise ConfigError(f"model.dim ({m.dim}) must divide by model.heads ({m.heads}) and text_dim by text_heads")
    if min(m.patch) < 1:
        raise ConfigError(f"model.patch must be positive, got {m.patch}")
    if t.sampler not in ("euler", "heun"):
        raise ConfigError(f"train.sampler must be 'euler' or 'heun', got '{t.sampler}'")
    if t.amp not in ("none", "bf16"):
        raise ConfigError(f"train.amp must be 'none' or 'bf16', got '{t.amp}'")
    check_data_seeds(d)
    for size in d.sizes:
        if any(v < 1 for v in size):
            raise ConfigError(f"data.sizes entry {size} must be positive (frames, height, width)")
        if max(d.context) >= size[0]:
            raise ConfigError(f"data.context {d.context} must leave frames to generate in a clip of {size[0]}")


# ------------------------------------------------------------------------------------
# `--vary key=v1,v2,...` of an ablation: keys and value lists read here, next to the fields they name.
def split_values(text: str) -> list[str]:
    """'full,factorised' -> ['full', 'factorised']; commas inside [] or () stay: '[2],[4,6]' -> ['[2]', '[4,6]']."""
    out, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch in "[(") - (ch in "])")
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    out.append(cur.strip())
    return [v for v in out if v]


def resolve_key(key: str) -> str:
    """A full config key: 'model.attention' as is, 'attention' when exactly one section has that field."""
    if "." in key:
        return key
    cfg = Config()
    sections = [f.name for f in dataclasses.fields(cfg) if dataclasses.is_dataclass(getattr(cfg, f.name))]
    owners = [s for s in sections if key in {f.name for f in dataclasses.fields(getattr(cfg, s))}]
    if len(owners) == 1:
        return f"{owners[0]}.{key}"
    if owners:
        raise ConfigError(f"config key '{key}' is ambiguous: say {' or '.join(f'{s}.{key}' for s in owners)}")
    raise ConfigError(f"unknown config key '{key}' (for example model.attention, model.patch, data.context, train.lr)")


def parse_vary(items: list[str], base: str, fixed: list[str]) -> list[tuple[str, list[str]]]:
    """[(full key, [value texts])] from `key=v1,v2` items, every value checked on the `base` size with the
    `fixed` overrides; ConfigError names the item."""
    out = []
    for item in items:
        key, sep, values = item.partition("=")
        vals = split_values(values)
        if not sep or not vals:
            raise ConfigError(f"--vary '{item}': expected key=v1,v2,... for example model.attention=full,factorised")
        full = resolve_key(key.strip())
        for v in vals:
            try:
                get_config(base, [*fixed, f"{full}={v}"])
            except ConfigError as e:
                raise ConfigError(f"--vary {full}: {e}") from None
        out.append((full, vals))
    return out
