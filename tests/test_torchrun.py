"""`torchrun -m physics_evals run`: checkpoint rollouts shared by rank, the same results at any world size.

Runs the real command twice on 2 held-out episodes with a small random checkpoint: once as one
process, once as 2 CPU processes (gloo) under torchrun. Both runs use one thread per process
(torchrun's setting for several processes), so the arithmetic is the same.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
    pytest.skip("torch.distributed with gloo is not available", allow_module_level=True)

pytestmark = pytest.mark.slow  # two evaluations, each starting torch in 1-2 processes: about a minute


def small_checkpoint(folder: Path) -> Path:
    """A 1-block DiT with random weights (nudged off zero, so it does not just copy the last frame)."""
    from simulator import checkpoint as ckpt
    from simulator.config import get_config
    from simulator.model import DiT
    cfg = get_config("tiny", ["model.dim=32", "model.depth=1", "model.heads=2", "model.text_dim=32",
                              "model.text_depth=1"])
    torch.manual_seed(0)
    model = DiT(cfg.model)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    ckpt.save(folder, 0, cfg, {"model": model.state_dict()}, {"kind": "dit"})
    return folder


def evaluate(tmp: Path, name: str, ckpt: Path, nproc: int) -> tuple[list[dict], dict[str, bytes]]:
    launcher = [sys.executable, "-m", "physics_evals"] if nproc == 1 else \
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc),
         "-m", "physics_evals"]
    out, rollouts = tmp / name, tmp / f"{name}-rollouts"
    cmd = [*launcher, "run", "--models", f"small=checkpoint:{ckpt}", "--tasks", "gravity-drop", "--limit", "2",
           "--workers", "1", "--no-report", "--no-progress", "--out", str(out), "--rollouts-root", str(rollouts),
           "--episodes-root", str(tmp / "episodes")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("wrote ") == 1  # rank 0 alone reports
    rows = [json.loads(line) for line in next(out.glob("*/samples.jsonl")).read_text().splitlines()]
    frames = {}
    for path in sorted((rollouts / "small").rglob("*.npz")):
        with np.load(path) as z:
            frames[str(path.relative_to(rollouts))] = z["rgb"].tobytes()
    return sorted(rows, key=lambda r: (r["model"], r["task"], r["episode_id"], r["metric"])), frames


def test_two_processes_give_what_one_gives(tmp_path):
    ckpt = small_checkpoint(tmp_path / "ckpt")
    rows1, frames1 = evaluate(tmp_path, "one", ckpt, 1)
    rows2, frames2 = evaluate(tmp_path, "two", ckpt, 2)
    assert len(frames1) == 2 and frames2 == frames1  # each rank made its share; the rollouts are the same bytes
    assert rows1 and rows2 == rows1
    assert any(r["model"] == "small" and r["status"] == "ok" for r in rows1)
