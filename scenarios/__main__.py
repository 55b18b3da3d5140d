"""python -m scenarios generate | ls | preview"""
from __future__ import annotations

import argparse
import sys

from toolkit.cli import OneLineParser, non_negative_int, positive_int, run_command
from toolkit.pool import default_workers

from .engine import RenderSpec

from .params import OOD_PALETTE, PALETTE
from .episode import load_episode
from .generate import generate_many
from .registry import FAMILIES, SCENARIOS, SPLITS, UnknownScenarioError, get_scenario, scenarios_of


def cmd_generate(args) -> int:
    spec = RenderSpec(height=args.height, width=args.width, fps=args.fps, n_frames=args.frames, sim_hz=args.sim_hz)
    if args.scenario:
        names = [get_scenario(s).name for s in args.scenario]
        if args.family:
            wrong = [n for n in names if SCENARIOS[n].family not in args.family]
            if wrong:
                raise UnknownScenarioError(f"scenario {wrong[0]} is not in family {', '.join(args.family)}")
    else:
        names = [n for f in (args.family or FAMILIES) for n in scenarios_of(f, args.split)]
    if not names:
        raise UnknownScenarioError("no scenarios selected")
    overrides = dict(_key_value(kv) for kv in args.set or [])
    for name in names:
        SCENARIOS[name].check_overrides(overrides)
    folders = generate_many(args.out, names, args.n, args.seed, spec, workers=args.workers, params=overrides,
                            backend=args.backend, ray_address=args.ray_address)
    print(f"{len(folders)} episodes of {', '.join(names)} in {args.out}")
    return 0


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ValueError(f"--set expects key=value, got {text!r}")
    return key, value


def cmd_ls(args) -> int:
    """Per family: each training scenario with its training ranges and, beside them, the ranges its
    `<name>_ood` variant draws instead; then the combinatorial scenarios (never in training)."""
    print(f"colours  training (id): {', '.join(PALETTE)}\n         ood: {', '.join(OOD_PALETTE)} (never in training)")
    for family, names in FAMILIES.items():
        print(f"{family}")
        for name in names:
            s = SCENARIOS[name]
            ood = f"   (out of distribution: {name}_ood)" if s.ood else ""
            print(f"  {name}: {s.description}{ood}")
            print(f"      {'parameter':<16} {'training (id)':<32} ood")
            for key, rng in s.ranges.items():
                print(f"      {key:<16} {str(rng):<32} {s.ood.get(key, '')}")
        for name in scenarios_of(family, "comb"):
            s = SCENARIOS[name]
            print(f"  {name}: {s.description}   (combinatorial: never in training)")
            for key, rng in s.ranges.items():
                print(f"      {key:<16} {rng}")
    return 0


def cmd_preview(args) -> int:
    from .preview import write_preview  # cv2/PIL only when previewing
    for path in args.path:
        ep = load_episode(path)
        png, gif = write_preview(ep, args.out or path)
        print(f"{png}\n{gif}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m scenarios", description="PyBullet ground-truth episodes.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    g = sub.add_parser("generate", help="simulate and write episodes (parallel, resumable)")
    g.add_argument("--family", nargs="+", help=f"families to draw from (default: all): {', '.join(FAMILIES)}")
    g.add_argument("--scenario", nargs="+", help="scenarios to draw from (default: every scenario of the families)")
    g.add_argument("--split", default="id", choices=SPLITS,
                   help="with --family: the families' training scenarios (id, the default), their OOD variants "
                        "(ood) or their combinatorial scenes (comb)")
    g.add_argument("--n", type=non_negative_int, default=8, help="number of episodes (spread over the scenarios)")
    g.add_argument("--out", default="data/episodes", help="root folder of the episodes")
    g.add_argument("--seed", type=non_negative_int, default=0, help="seed of the first episode; episode k uses seed+k")
    g.add_argument("--height", type=positive_int, default=RenderSpec.height)
    g.add_argument("--width", type=positive_int, default=RenderSpec.width)
    g.add_argument("--fps", type=positive_int, default=RenderSpec.fps)
    g.add_argument("--frames", type=positive_int, default=RenderSpec.n_frames)
    g.add_argument("--sim-hz", type=positive_int, default=RenderSpec.sim_hz, help="physics steps per second")
    g.add_argument("--set", nargs="+", metavar="KEY=VALUE", help="fix a scenario parameter (see `ls`), e.g. height=1.2")
    g.add_argument("--workers", type=positive_int, default=default_workers(), help="processes (default: all cores)")
    g.add_argument("--backend", choices=("local", "ray"), default="local",
                   help="local: a process pool here; ray: Ray tasks on a cluster that sees --out at the same path")
    g.add_argument("--ray-address", help="Ray cluster to join with --backend ray (e.g. auto, ray://head:10001); "
                   "default: RAY_ADDRESS if set, else a Ray instance started on this machine")
    g.set_defaults(fn=cmd_generate)

    ls = sub.add_parser("ls", help="families, scenarios and their parameter ranges")
    ls.set_defaults(fn=cmd_ls)

    pv = sub.add_parser("preview", help="contact-sheet PNG and animated GIF of episodes")
    pv.add_argument("path", nargs="+", help="episode folders")
    pv.add_argument("--out", help="folder for the pictures (default: the episode folder)")
    pv.set_defaults(fn=cmd_preview)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command(lambda: args.fn(args),
                       interrupted="interrupted: complete episodes are kept; rerun the same command to resume")


if __name__ == "__main__":
    sys.exit(main())
