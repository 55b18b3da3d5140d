"""The leaderboard's generalisation table: per model, ID, OOD and combinatorial scores and the gaps.

Computed from the per-episode samples with `physics_evals.splits.split_scores` (the harness's own
summary formula over each split's tasks, paired bootstrap over episodes), so it is the same number
results.json's `splits` section holds for a single run, and it works on merged runs too.
"""
from __future__ import annotations

from ..splits import GAPS, SPLITS, split_of_tasks, split_scores
from ..summary import N_BOOT
from .stats import BOOT_SEED, ceiling_model, metrics_of

LABELS = {"id": "ID", "ood": "OOD", "comb": "combinatorial", "gap_ood": "gap ID−OOD", "gap_comb": "gap ID−comb"}


def split_table(results, ranked: list[str], usable: bool, n_boot: int = N_BOOT):
    """A leaderboard Table, or None when the results hold fewer than two splits or no usable samples."""
    from .leaderboard import MISSING, Table, fmt_ci
    splits = split_of_tasks(results.tasks)
    present = [s for s in SPLITS if s in splits.values()]
    if len(present) < 2 or not usable:
        return None
    scores = split_scores(results.samples, metrics_of(results), splits, ceiling_model(results),
                          n_boot=n_boot, seed=BOOT_SEED)
    gaps = [g for g, other in GAPS.items() if "id" in present and other in present]
    rows = []
    for model in ranked:
        e = scores.get(model, {})
        row = [model]
        for key, field in [(s, "overall") for s in present] + [(g, "value") for g in gaps]:
            d = e.get(key)
            row.append(fmt_ci(d[field], (d["ci_low"], d["ci_high"]) if d.get("ci_low") is not None else None)
                       if d else MISSING)
        rows.append(row)
    counts = ", ".join(f"{LABELS[s]} {sum(v == s for v in splits.values())}" for s in present)
    note = (f"overall score (0..100) over each split's tasks ({counts} tasks); a gap is ID minus the split, "
            f"positive when the model does worse outside its training distribution; 95% CIs from a paired "
            f"bootstrap over episodes ({n_boot} draws, seed {BOOT_SEED})")
    return Table("Generalisation: in-distribution, out-of-distribution, combinatorial",
                 ["model", *(LABELS[k] for k in present + gaps)], rows, note)
