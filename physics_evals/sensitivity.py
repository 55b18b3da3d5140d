"""Sensitivity: how small a violation each metric sees.

Graded counterfactuals of the held-out episodes, made by the simulator itself or by the VoE probes'
pixel surgery with a size knob:

- gravity: the same episode (same sampled parameters, same scene) re-simulated under g scaled by
  1 +- 5%, 10%, 20-25% (scenarios.engine.GRAVITY_SCALE);
- late: the object comes out from behind the occluder 1, 2 or 3 frames late;
- shift: it comes out 2, 4 or 8 px from where it should;
- bite: every bite is smaller than the true one: 10%, 25% or 50% of the bitten area is shown again.

A pair is (the `resimulated` second take, the counterfactual): a metric detects the violation when it
puts the second take strictly closer to perfect, i.e. it tells the violation from physical variance.
For every metric that applies, the report gives the smallest grade it detects with pairwise accuracy
of at least DETECT over the episodes where it applies.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from scenarios import load_episode
from toolkit.pool import map_concat

from . import probes

DETECT = 0.95  # pairwise accuracy at which a grade counts as detected


def _gravity(scale: float):
    def make(ep, task):
        from scenarios import generate_episode
        from scenarios.engine import GRAVITY_SCALE
        take = generate_episode(ep.scenario, int(ep.meta["seed"]), task.render_spec,
                                params={**ep.meta["params"], GRAVITY_SCALE: scale})
        return take.rgb[task.context:task.context + task.horizon]
    return make


def _late(delay: int):
    return lambda ep, task: probes.late(ep, task.context, delay)


def _shift(px: int):
    return lambda ep, task: probes.elsewhere(ep, task.context, px)


def smaller_bite(ep, context: int, shown: float) -> np.ndarray | None:
    """Every bite smaller than the true one: the share `shown` of the bitten-away food pixels (those
    nearest the remaining food first) looks as it did before the first bite."""
    food = probes._only(ep, "food")
    bites = [e["frame"] for e in ep.events_of("bite")]
    if food is None or not bites or bites[0] < 1:
        return None
    mask = ep.seg == food["id"]
    before = int(np.argmax(mask[:bites[0]].sum(axis=(1, 2))))
    ever = np.logical_or.accumulate(mask, axis=0)
    out = ep.rgb.copy()
    for t in range(max(bites[0], context), ep.n_frames):
        bare = ever[t] & (ep.seg[t] < 0)
        if not bare.any():
            continue
        dist = cv2.distanceTransform((~mask[t]).astype(np.uint8), cv2.DIST_L2, 3)   # px to the food
        order = np.argsort(dist[bare], kind="stable")
        ys, xs = np.nonzero(bare)
        k = order[:int(round(shown * len(order)))]
        out[t][ys[k], xs[k]] = ep.rgb[before][ys[k], xs[k]]
    return out[context:]


def _bite(shown: float):
    return lambda ep, task: smaller_bite(ep, task.context, shown)


# family -> (unit, [(grade label, [makers of that grade])]); a grade's pairs pool its makers
FAMILIES: dict[str, tuple[str, list[tuple[str, list[Callable]]]]] = {
    "gravity": ("g scaled by 1 +-", [("5%", [_gravity(0.95), _gravity(1.05)]), ("10%", [_gravity(0.9), _gravity(1.1)]),
                            ("20-25%", [_gravity(0.8), _gravity(1.25)])]),
    "late": ("frames late", [("1", [_late(1)]), ("2", [_late(2)]), ("3", [_late(3)])]),
    "shift": ("px away", [("2", [_shift(2)]), ("4", [_shift(4)]), ("8", [_shift(8)])]),
    "bite": ("of the bite shown again", [("10%", [_bite(0.1)]), ("25%", [_bite(0.25)]), ("50%", [_bite(0.5)])]),
}
GRAVITY_FAMILIES = ("gravity",)  # task families whose episodes get the gravity counterfactuals


def episode_pairs(task, folder: Path, seed: int = 0) -> list[tuple[str, str, str, bool]]:
    """(family, grade, metric, detected) for every counterfactual of one episode and every metric of
    the task that applies to both clips."""
    from .metrics import METRICS, Clip
    from .models.baselines import Resimulated
    ep = load_episode(folder)
    ref = Resimulated(seed=seed).rollout(ep.rgb[:task.context], ep.caption, task, ep)
    ref_clip = Clip(ep, task.context, ref)
    ref_values = {}
    out = []
    for family, (_, grades) in FAMILIES.items():
        if family == "gravity" and task.family not in GRAVITY_FAMILIES:
            continue
        for grade, makers in grades:
            for make in makers:
                twin = make(ep, task)
                if twin is None:
                    continue
                clip = Clip(ep, task.context, twin)
                for name in task.metrics:
                    m = METRICS.get(name)
                    if m is None or m.group == "pixels":
                        continue
                    if name not in ref_values:
                        ref_values[name] = m(ref_clip)
                    a, b = ref_values[name], m(clip)
                    if math.isnan(a) or math.isnan(b):
                        continue
                    out.append((family, grade, name, m.distance(a) < m.distance(b)))
    return out


def _job(args):
    return episode_pairs(*args)


def sensitivity_report(tasks, folders: dict[str, list[Path]], workers: int = 1, seed: int = 0) -> dict:
    """metric -> family -> {"smallest": grade or None, "accuracy": {grade: (acc, n)}}."""
    jobs = [(t, f, seed) for t in tasks for f in folders[t.name]]
    pairs: list = map_concat(_job, jobs, workers)
    tally: dict = {}
    for family, grade, metric, ok in pairs:
        t = tally.setdefault(metric, {}).setdefault(family, {}).setdefault(grade, [0, 0])
        t[0] += ok
        t[1] += 1
    out: dict = {}
    for metric, fams in tally.items():
        for family, grades in fams.items():
            order = [g for g, _ in FAMILIES[family][1] if g in grades]
            acc = {g: (grades[g][0] / grades[g][1], grades[g][1]) for g in order}
            smallest = next((g for g in order if acc[g][0] >= DETECT), None)
            out.setdefault(metric, {})[family] = {"smallest": smallest, "accuracy": acc}
    return out


def format_sensitivity(report: dict) -> list[str]:
    """The table `probe` prints (and reports/sensitivity.md holds): per metric, per counterfactual
    family, the smallest grade detected with pairwise accuracy >= DETECT ('-': not detected at any
    grade; blank: does not apply)."""
    from .metrics import METRICS
    fams = list(FAMILIES)
    head = "| metric | " + " | ".join(f"{f} ({FAMILIES[f][0]})" for f in fams) + " |"
    lines = [head, "|" + "---|" * (len(fams) + 1)]
    for metric in [m for m in METRICS if m in report]:
        cells = []
        for f in fams:
            r = report[metric].get(f)
            if r is None:
                cells.append("")
                continue
            top = r["accuracy"][list(r["accuracy"])[-1]]
            cells.append(f"{r['smallest']}" if r["smallest"] else f"- (acc {top[0]:.2f} at largest)")
        lines.append(f"| {metric} | " + " | ".join(cells) + " |")
    return lines
