"""Several generation seeds per model (`run --seeds 0 1 2 3`), as Physics-IQ's verified board asks.

A sampled model (a checkpoint) gives a different video for every seed of its sampler. With --seeds,
each checkpoint model is run once per seed: its samples keep the model's name and carry
`sample_seed`, and its rollouts are cached per seed (rollouts/<model>@seed<s>/...). Baselines and
outside rollouts are deterministic or fixed, so they are run once.

What results.json then says about such a model (extra field `seeds`, per model):
- `summary` (fixed contract 3) pools every seed's samples: per metric, the mean episode score over
  all (episode, seed) pairs, so it is the mean over seeds; the report's summary intervals resample
  episodes, each with all its seeds' samples (a bootstrap over episodes, not over seeds);
- `seeds[model]`: the seeds, the summary of each seed alone, and their mean and sample standard
  deviation (ddof=1): the spread a reader should expect from sampling again.
"""
from __future__ import annotations

import copy

import numpy as np

from .results import SUMMARY_KEYS
from .summary import summarize_samples


def per_seed(models: list, seeds: list[int]) -> list:
    """Each checkpoint model once per seed (same name, its own sample_seed); others unchanged."""
    out = []
    for m in models:
        if m.kind != "checkpoint":
            out.append(m)
            continue
        for s in seeds:
            twin = copy.copy(m)  # shares the loaded network: one copy in memory whatever the seeds
            twin.sample_seed = int(s)
            out.append(twin)
    return out


def seed_record(rows: list[dict], metrics: dict, ceiling_model: str) -> dict[str, dict]:
    """model -> {seeds, per_seed: {seed: summary}, mean, sd} for every model with per-seed samples."""
    seeded: dict[str, set] = {}
    for r in rows:
        if r.get("sample_seed") is not None:
            seeded.setdefault(r["model"], set()).add(r["sample_seed"])
    out = {}
    for model, seeds in sorted(seeded.items()):
        seeds = sorted(seeds)
        others = [r for r in rows if r["model"] != model]  # the ceiling's samples score every seed's
        per = {}
        for s in seeds:
            mine = [r for r in rows if r["model"] == model and r.get("sample_seed") == s]
            per[str(s)] = summarize_samples(others + mine, metrics, ceiling_model=ceiling_model)[model]
        groups = SUMMARY_KEYS
        values = {g: [per[str(s)][g] for s in seeds if per[str(s)].get(g) is not None] for g in groups}
        out[model] = {
            "seeds": seeds,
            "per_seed": per,
            "mean": {g: float(np.mean(v)) if v else None for g, v in values.items()},
            "sd": {g: float(np.std(v, ddof=1)) if len(v) > 1 else None for g, v in values.items()},
        }
    return out


def seed_lines(results: dict) -> list[str]:
    """One line per multi-seed model for the run's printout: overall and groups as mean ± sd over seeds."""
    lines = []
    for model, rec in results.get("seeds", {}).items():
        parts = [f"{g} {_pm(rec['mean'].get(g), rec['sd'].get(g))}" for g in SUMMARY_KEYS]
        lines.append(f"{model}: {len(rec['seeds'])} seeds ({', '.join(map(str, rec['seeds']))}), mean ± sd over "
                     f"seeds: " + ", ".join(parts))
    return lines


def _pm(mean, sd) -> str:
    if mean is None:
        return "-"
    return f"{mean:.1f}" + ("" if sd is None else f" ± {sd:.1f}")
