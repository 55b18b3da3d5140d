"""python -m simulator {train, train-vae, sample, export, denoise}: see each command's --help."""
from __future__ import annotations

import argparse
import sys

from toolkit.cli import OneLineParser, non_negative_int, positive_int, run_command
from toolkit.files import check_writable

from .config import get_config


def _config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default="tiny", help="a size from the registry: tiny, S, B")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, e.g. --set model.dim=256 --set data.sizes=[[16,32,32]]")
    p.add_argument("--out", help="run folder (default runs/<config>); an existing run there is resumed")
    p.add_argument("--steps", type=positive_int, help="shorthand for --set train.steps=N")
    p.add_argument("--seed", type=non_negative_int, help="shorthand for --set train.seed=S")
    p.add_argument("--data", help="episode root, shorthand for --set data.root=PATH")
    p.add_argument("--workers", type=positive_int, default=1, help="processes generating missing episodes")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _levels(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def _config(a, steps_key: str = "train.steps"):
    extra = [f"{k}={v}" for k, v in ((steps_key, a.steps), ("train.seed", a.seed), ("data.root", a.data))
             if v is not None]
    return get_config(a.config, a.overrides + extra)


def main(argv: list[str] | None = None) -> int:
    ap = OneLineParser(prog="python -m simulator", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True, parser_class=OneLineParser)
    p = sub.add_parser("train", help="train the diffusion transformer (torchrun for several processes)")
    _config_args(p)
    p = sub.add_parser("train-vae", help="train the optional causal video VAE")
    _config_args(p)
    p = sub.add_parser("sample", help="continue an episode and write the rollout and a preview")
    p.add_argument("--checkpoint", required=True, help="checkpoint folder (or a file inside it)")
    p.add_argument("--episode", required=True, help="episode folder")
    p.add_argument("--context", type=positive_int, default=8, help="frames given as context")
    p.add_argument("--horizon", type=positive_int, default=24, help="frames to generate")
    p.add_argument("--out", help="folder for <episode_id>.npz and the preview")
    p.add_argument("--steps", type=positive_int, help="sampler steps (default: the config's)")
    p.add_argument("--guidance", type=float, help="classifier-free guidance scale (default: the config's)")
    p.add_argument("--sampler", choices=("euler", "heun"), help="default: the config's")
    p.add_argument("--seed", type=non_negative_int, default=0, help="sampler seed")
    p = sub.add_parser("export", help="write a run's EMA weights as a small fp16 release checkpoint")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--out", required=True)
    p = sub.add_parser("denoise", help="a checkpoint's clean-frame error by noise level, on moving and still pixels")
    p.add_argument("--checkpoint", required=True, help="checkpoint folder (or a file inside it)")
    p.add_argument("--episodes", required=True, help="episode root (<family>/<scenario>/<episode>/)")
    p.add_argument("--per-scenario", type=positive_int, default=1, help="episodes of each scenario")
    p.add_argument("--levels", type=_levels, default=None, help="noise levels, e.g. 1,0.5,0.25,0.1")
    p.add_argument("--seed", type=non_negative_int, default=0, help="noise seed")
    a = ap.parse_args(argv)
    return run_command(lambda: _run(a), interrupted="interrupted; rerun the same command to resume from the last checkpoint")


def _run(a) -> None:
    if a.cmd == "train":
        from .train import train
        cfg = _config(a)
        out = check_writable(a.out or f"runs/{cfg.name}", "run folder (--out)")  # before data and model
        entry = train(cfg, out, progress=not a.quiet, workers=a.workers)
        print(f"step {entry.get('step')}: loss {entry.get('loss', float('nan')):.4f}, "
              f"val_loss {entry.get('val_loss', float('nan')):.4f}")
    elif a.cmd == "train-vae":
        from .train import train_vae
        cfg = _config(a, "vae.steps")
        out = check_writable(a.out or f"runs/{cfg.name}-vae", "run folder (--out)")
        entry = train_vae(cfg, out, progress=not a.quiet, workers=a.workers)
        print(f"step {entry['step']}: loss {entry['loss']:.4f}, val_rec {entry['val_rec']:.4f}")
    elif a.cmd == "sample":
        from .sample import sample_episode
        print(sample_episode(a.checkpoint, a.episode, a.context, a.horizon, a.out, a.steps, a.guidance,
                             a.sampler, a.seed))
    elif a.cmd == "denoise":
        from .diagnose import LEVELS, run
        print(run(a.checkpoint, a.episodes, a.per_scenario, a.levels or LEVELS, a.seed))
    elif a.cmd == "export":
        from .checkpoint import export
        print(export(a.checkpoint, a.out))


if __name__ == "__main__":
    sys.exit(main())
