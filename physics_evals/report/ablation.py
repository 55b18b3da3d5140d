"""An ablation study's report: summary scores against the varied setting, intervals over seeds.

Input is per variant and per seed the summary scores of one evaluated checkpoint (the numbers
in its results.json). A variant's interval is the 95% t-interval of its mean over seeds; with a
single seed it falls back to that run's bootstrap interval over episodes (which measures only
evaluation noise, and the report says so). Two variants differ "clearly" on a score only when
their intervals do not overlap; an ablation whose intervals all overlap reports no clear effect.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

import numpy as np

from .leaderboard import fmt, markdown_table, Table
from .load import GROUPS

CONFIDENCE = 0.95


@dataclass
class Variant:
    name: str                                   # e.g. "model.attention=full"
    setting: dict[str, str]                     # varied key -> value, as given on the command line
    seeds: dict[int, dict[str, float]]          # seed -> group -> summary score (0..100)
    run_cis: dict[int, dict[str, tuple[float, float]]] = field(default_factory=dict)  # seed -> group -> bootstrap CI
    info: dict[int, dict] = field(default_factory=dict)  # seed -> {train_s, steps, val_loss, run_dir, results}


def interval(values: list[float], fallback: tuple[float, float] | None = None) -> tuple[float, float, float]:
    """(mean, low, high): a t-interval over seeds, or the fallback interval for one seed."""
    v = np.asarray([x for x in values if x is not None and not math.isnan(x)], dtype=np.float64)
    if v.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(v.mean())
    if v.size == 1:
        lo, hi = fallback if fallback is not None else (mean, mean)
        return mean, float(lo), float(hi)
    from scipy.stats import t
    half = float(t.ppf(0.5 + CONFIDENCE / 2, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return mean, mean - half, mean + half


def summarise(variant: Variant, group: str) -> tuple[float, float, float]:
    values = [s.get(group) for s in variant.seeds.values()]
    fallback = next(iter(variant.run_cis.values()), {}).get(group) if len(variant.seeds) == 1 else None
    return interval([v for v in values if v is not None], fallback)


def overlaps(a: tuple[float, float, float], b: tuple[float, float, float]) -> bool:
    return a[1] <= b[2] and b[1] <= a[2]


def findings(variants: list[Variant]) -> list[str]:
    """One sentence per summary group: which variants differ clearly, or that none do."""
    lines = []
    for g in GROUPS:
        pairs = [(v, summarise(v, g)) for v in variants]
        pairs = [(v, s) for v, s in pairs if not math.isnan(s[0])]
        if len(pairs) < 2:
            continue
        unknown = [v.name for v, s in pairs if len(v.seeds) == 1 and s[2] <= s[1]]
        if unknown:  # one seed and no spread over episodes either: nothing to compare against
            lines.append(f"{g}: cannot tell; {', '.join(unknown)} has one seed and no interval "
                         "(rerun with --seeds 2 or more, or more evaluation episodes).")
            continue
        separated = [(a.name, b.name) for i, (a, sa) in enumerate(pairs) for b, sb in pairs[i + 1:]
                     if not overlaps(sa, sb)]
        best = max(pairs, key=lambda x: x[1][0])[0].name
        if not separated:
            lines.append(f"{g}: no clear effect; all 95% intervals overlap (highest mean: {best}).")
        else:
            lines.append(f"{g}: intervals separate for {'; '.join(f'{a} vs {b}' for a, b in separated)} "
                         f"(highest mean: {best}).")
    return lines


def table(variants: list[Variant], baselines: dict[str, dict[str, float]]) -> Table:
    rows = []
    for v in variants:
        cells = []
        for g in GROUPS:
            mean, lo, hi = summarise(v, g)
            cells.append("—" if math.isnan(mean) else f"{fmt(mean)} [{fmt(lo)}, {fmt(hi)}]")
        train_s = [i.get("train_s") for i in v.info.values() if i.get("train_s") is not None]
        val = [i.get("val_loss") for i in v.info.values() if i.get("val_loss") is not None]
        rows.append([v.name, str(len(v.seeds)), *cells, fmt(float(np.mean(train_s)), 0) if train_s else "—",
                     fmt(float(np.mean(val)), 4) if val else "—"])
    for model, s in baselines.items():
        rows.append([f"{model} (baseline)", "—", *[fmt(s.get(g)) for g in GROUPS], "—", "—"])
    return Table("Summary scores by variant (0..100; mean over seeds, 95% CI)",
                 ["variant", "seeds", *GROUPS, "train s", "val loss"], rows)


def figure(variants: list[Variant], keys: list[str], baselines: dict[str, dict[str, float]]) -> bytes:
    """Per summary group: score against the first varied key (one line per setting of the others),
    error bars over seeds, baselines as horizontal lines."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    first = keys[0]
    xs = list(dict.fromkeys(v.setting[first] for v in variants))
    lines: dict[str, list[Variant]] = {}
    for v in variants:
        rest = ", ".join(f"{k}={v.setting[k]}" for k in keys[1:])
        lines.setdefault(rest, []).append(v)
    fig, axes = plt.subplots(1, len(GROUPS), figsize=(3.4 * len(GROUPS), 3.2), squeeze=False)
    styles = {"resimulated": ("#2b8a3e", "-"), "copy_last_frame": ("#868e96", "--"),
              "linear_extrapolation": ("#868e96", ":")}
    for ax, g in zip(axes[0], GROUPS):
        for j, (label, vs) in enumerate(lines.items()):
            pos = np.array([xs.index(v.setting[first]) for v in vs], dtype=float) + 0.06 * (j - (len(lines) - 1) / 2)
            st = [summarise(v, g) for v in vs]
            ax.errorbar(pos, [s[0] for s in st], yerr=[[s[0] - s[1] for s in st], [s[2] - s[0] for s in st]],
                        marker="o", capsize=3, linewidth=1, label=label or "simulator (mean, 95% CI)")
        for model, s in baselines.items():
            if s.get(g) is not None:
                colour, ls = styles.get(model, ("#495057", "-."))
                ax.axhline(s[g], color=colour, linestyle=ls, linewidth=1, label=model)
        ax.set_xticks(range(len(xs)), xs, fontsize=8)
        ax.set_xlim(-0.5, len(xs) - 0.5)
        ax.set_xlabel(first, fontsize=8)
        ax.set_title(g, fontsize=10)
        ax.set_ylim(0, 105)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel("score (0..100)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(6, len(labels)), fontsize=8, bbox_to_anchor=(0.5, -0.08))
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def markdown(name: str, variants: list[Variant], baselines: dict[str, dict[str, float]], meta: dict,
             figure_file: str) -> str:
    """The report. meta: command, base, fixed, steps, seeds, tasks, estimate_s, elapsed_s, provenance lines."""
    single = all(len(v.seeds) == 1 for v in variants)
    how = ("one seed per variant: intervals are the run's bootstrap over evaluation episodes (evaluation noise only)"
           if single else f"intervals: {int(CONFIDENCE * 100)}% t-interval of the mean over seeds")
    parts = [f"# Ablation: {name}", "",
             "Generated by `python -m physics_evals ablate`; do not edit by hand.", "",
             f"Command: `{meta.get('command', '?')}`", "",
             f"- varied: {', '.join(meta.get('keys', []))}",
             f"- base config: `{meta.get('base')}`; fixed overrides: {', '.join(meta.get('fixed', [])) or 'none'}",
             f"- budget: {meta.get('steps')} steps per run, seeds {meta.get('seeds')}, the same data for every variant",
             f"- evaluated on: {', '.join(meta.get('tasks', [])) or 'the default suite'}",
             f"- time: estimated {fmt(meta.get('estimate_s'), 0)} s before starting, took {fmt(meta.get('elapsed_s'), 0)} s",
             f"- {how}", "",
             f"![{name}]({figure_file})", "",
             markdown_table(table(variants, baselines)), "", "## Findings", ""]
    parts += [f"- {line}" for line in findings(variants)] + ["", "## Runs", ""]
    for v in variants:
        for seed, info in sorted(v.info.items()):
            parts.append(f"- {v.name}, seed {seed}: run `{info.get('run_dir')}`, results `{info.get('results')}`")
    parts += ["", "## Provenance", ""] + [f"- {line}" for line in meta.get("provenance", [])] + [""]
    return "\n".join(parts)
