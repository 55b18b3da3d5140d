"""The ablation study: every variant's results gathered and written as a table, a figure and raw JSON."""
from __future__ import annotations

import json
from pathlib import Path

from toolkit.provenance import versions

from .plan import Job, manifest, results_in
from .runs import BASELINES


def collect(jobs: list[Job], baseline_results: Path) -> tuple[list, dict]:
    from ..report import stats
    from ..report.ablation import Variant
    from ..report.load import load_results
    variants: dict[str, Variant] = {}
    seeds_per_variant = max(1, len({j.seed for j in jobs}))
    for j in jobs:
        path = results_in(j.eval_dir)
        res = load_results([path])
        v = variants.setdefault(j.variant, Variant(j.variant, j.setting, {}))
        v.seeds[j.seed] = {g: x for g, x in res.summary.get(j.model, {}).items() if x is not None}
        if seeds_per_variant == 1 and stats.check(res)[0]:
            v.run_cis[j.seed] = stats.intervals(res).get(j.model, {})
        log = (manifest(j.run_dir) or {}).get("log", [{}])
        v.info[j.seed] = {"run_dir": str(j.run_dir), "results": str(path), "train_s": log[-1].get("wall_s"),
                          "val_loss": log[-1].get("val_loss")}
    base = load_results([baseline_results])
    baselines = {m: {g: x for g, x in base.summary.get(m, {}).items() if x is not None} for m in BASELINES}
    return list(variants.values()), baselines


def write(name: str, variants, baselines, meta: dict, out_dir: Path, raw: dict) -> Path:
    from ..report import install
    from ..report.ablation import figure, markdown
    files = {f"{name}.png": figure(variants, meta["keys"], baselines),
             f"{name}.json": (json.dumps(raw, indent=1) + "\n").encode()}
    files[f"{name}.md"] = markdown(name, variants, baselines, meta, f"{name}.png").encode()
    install(files, out_dir)
    return out_dir / f"{name}.md"


def write_study(name: str, jobs: list[Job], baseline_results: Path, args, command: str, varies: list, timing: dict,
                estimate_s: float, elapsed_s: float) -> Path:
    """Gather every job's results and write <out>/<name>.md, .png and .json with their provenance."""
    variants, baselines = collect(jobs, baseline_results)
    v = versions()
    probe = {k: x for k, x in timing.items() if k != "total_s"}
    meta = {"command": command, "keys": [k for k, _ in varies], "base": args.base, "fixed": args.set,
            "steps": "/".join(sorted({str(j.steps) for j in jobs}, key=int)), "seeds": list(range(args.seeds)), "tasks": args.tasks or [],
            "estimate_s": estimate_s, "elapsed_s": elapsed_s,
            "provenance": [f"git revision {v.get('git_revision')}",
                           "versions: " + ", ".join(f"{k} {x}" for k, x in sorted(v.items()) if k != "git_revision"),
                           f"timing probe: {json.dumps(probe)}", f"total wall time {timing.get('total_s', 0):.0f} s"]}
    raw = {"name": name, **{k: meta[k] for k in ("command", "keys", "base", "fixed", "steps", "seeds", "tasks")},
           "variants": [{"name": x.name, "setting": x.setting, "seeds": x.seeds, "info": x.info} for x in variants],
           "baselines": baselines}
    return write(name, variants, baselines, meta, args.out, raw)
