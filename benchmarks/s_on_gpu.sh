#!/usr/bin/env bash
# The S config on one GPU, in one call: its bf16 MFU and sampling speed (bench_simulator.py), a
# training run sized to a wall-clock budget, and its scores on the default and full suites next to
# the floors. What the README and reports/ablations/conclusions.md quote for S comes from this.
#
#     bash benchmarks/s_on_gpu.sh pack DIR                                  # here: DIR/data.tar.xz
#     bash benchmarks/s_on_gpu.sh run OUT [TRAIN_SECONDS] [DIR/data.tar.xz]  # on the GPU machine
#
# The GPU machine may have no pybullet, so what pybullet makes travels: `pack` archives data/episodes,
# data/eval_episodes and the ceiling's rollouts/resimulated (made by one CPU training run and one
# `physics_evals run --suite full`), with each npz stored uncompressed, which xz then shrinks about 3.6x
# further than the npz's own deflate (it sees across episodes); `run` unpacks it, and stored npz files
# load as they are.
# The step count is fixed before training, from a 30-step probe or from STEPS, so the run is an ordinary
# `--steps N` run that `python -m simulator train` rebuilds anywhere; it is printed and kept in the run's
# manifest. The probe errs long (on an H200 it read 0.35 s/step, training ran at 0.10-0.16: its 15 steps
# include writing a 0.5 GB checkpoint). Environment: STEPS (a step count instead of the probe's), BENCH=0
# (no benchmark), EXTRA (more --set overrides, for a rehearsal on small sizes), LIMIT (episodes per task),
# WORKERS (scoring processes), DEADLINE (seconds the whole script may take; the full suite is skipped when
# too little is left).
set -uo pipefail
usage="usage: bash benchmarks/s_on_gpu.sh pack DIR | run OUT [TRAIN_SECONDS] [ARCHIVE]"
export PYTHONUNBUFFERED=1

if [ "${1:-}" = pack ]; then
    dir=${2:?$usage}
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    python - "$tmp" <<'PY' || exit 1
import shutil, sys, zipfile
from pathlib import Path
for src in [p for d in ("data/episodes", "data/eval_episodes", "rollouts/resimulated") for p in Path(d).rglob("*")]:
    dst = Path(sys.argv[1]) / src
    if src.is_dir():
        continue
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.suffix != ".npz":
        shutil.copy2(src, dst)
        continue
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_STORED) as o:
        for name in z.namelist():
            o.writestr(name, z.read(name))
PY
    mkdir -p "$dir" && tar cf - -C "$tmp" data rollouts | xz -6 -T0 > "$dir/data.tar.xz.tmp" \
        && mv "$dir/data.tar.xz.tmp" "$dir/data.tar.xz" && ls -l "$dir/data.tar.xz"
    exit
fi
[ "${1:-}" = run ] || { echo "$usage" >&2; exit 2; }
out=${2:?$usage}
budget=${3:-240}
if [ -n "${4:-}" ]; then tar xJf "$4" || exit 1; fi
extra=${EXTRA:-}
workers=${WORKERS:-$(nproc)}
limit=${LIMIT:+--limit $LIMIT}
deadline=${DEADLINE:-570}
mkdir -p "$out"
start=$(date +%s)
left() { echo $((deadline - ($(date +%s) - start))); }
sets="--set train.amp=bf16 --set train.t_mean=1.0 $extra"
run=runs/S-gpu

nvidia-smi --query-gpu=name,memory.total,clocks.sm --format=csv,noheader 2>/dev/null
python -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"

if [ "${BENCH:-1}" = 1 ]; then
    echo "== bench (bf16 MFU, s/clip)"
    python benchmarks/bench_simulator.py --config S $sets --steps 10
fi

steps=${STEPS:-}
[ -n "$steps" ] || echo "== probe: seconds per real training step (batches drawn as in training)"
[ -n "$steps" ] || steps=$(python - "$budget" $sets <<'PY'
import sys, tempfile
from simulator import checkpoint as ckpt
from simulator.config import get_config
from simulator.train import train
budget, sets = float(sys.argv[1]), [a for a in sys.argv[2:] if a != "--set"]
cfg = get_config("S", sets + ["train.eval_every=15", "train.steps=100000"])
with tempfile.TemporaryDirectory() as tmp:
    train(cfg, tmp, progress=False, stop_after=30)
    walls = [e["wall_s"] for e in ckpt.read_manifest(tmp)["log"]]
sec = (walls[1] - walls[0]) / 15  # includes one validation loss and one checkpoint: errs long
print(f"probe: {sec:.3f} s/step", file=sys.stderr)
print(max(100, int(budget / sec) // 100 * 100))
PY
) || exit 1
echo "steps: $steps"

echo "== train"
python -m simulator train --config S $sets --steps "$steps" --set train.eval_every=$((steps / 8)) \
    --out $run --quiet || exit 1
python -m simulator export --checkpoint $run --out $run-release || exit 1
cp $run-release/manifest.json "$out/manifest.json"

score() {  # suite, seconds allowed; a rerun resumes from the caches and writes a newer results folder
    timeout "$2" python -m physics_evals run --suite "$1" $limit --models copy_last_frame linear_extrapolation \
        "s_gpu=checkpoint:$run-release" --out "runs/res-$1" --no-report --no-progress --workers "$workers" \
        || return 1
    local newest
    newest=$(ls -td runs/res-"$1"/*/ | head -1)
    cp "$newest/results.json" "$out/$1.json" && cp "$newest/samples.jsonl" "$out/$1-samples.jsonl"
}
echo "== score: default suite ($(left) s left)"
score default $(($(left) - 10))
if [ "$(left)" -gt 90 ]; then
    echo "== score: full suite ($(left) s left)"
    score full $(($(left) - 10)) || echo "full suite: not finished in the time left"
fi
python - "$out" <<'PY'
import json, sys
from pathlib import Path
for f in sorted(Path(sys.argv[1]).glob("*.json")):
    if f.name == "manifest.json":
        log = json.loads(f.read_text())["log"]
        print("curve:", " ".join(f"{e['step']}:{e['val_loss']:.4f}" for e in log))
        continue
    for name, s in json.loads(f.read_text())["summary"].items():
        print(f"{f.stem:8s} {name:22s} " + " ".join(f"{k}={s[k]:.1f}" for k in ("overall", "permanence", "plausibility")
                                                     if s.get(k) is not None))
PY
echo "done in $(($(date +%s) - start)) s"
