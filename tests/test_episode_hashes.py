"""Episodes stay byte-identical across changes that are not meant to change the physics.

tests/episode_hashes.json holds, for one small episode of every scenario, the sha256 of the frames
(rgb, seg, depth) and of the recorded meta (all but `versions`) with its floats left out, and per
top-level meta key the sum and the summed magnitude of those floats, compared to META_TOLERANCE. The
floats are summed rather than hashed for the CPU, not the physics: numpy and libm take other code paths
on other processors (SVML where AVX-512 is there, FMA variants) and differ in the last bits of a camera
angle or a sampled mass; contacts carry that into the states, and a state recorded to 6 decimals then
flips its last digit (seen on an AMD EPYC against the machine that made the hashes: 4 scenarios' meta,
no frame). Every frame stays the same. A speed-up, a refactor or a new option must
leave them all as they are. A deliberate change of physics, sampling or rendering regenerates
them, and its commit says why:

    python tests/test_episode_hashes.py --update
"""
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from scenarios import SCENARIOS, RenderSpec, generate_episode

HASHES = Path(__file__).parent / "episode_hashes.json"
SPEC = RenderSpec(height=32, width=32, n_frames=20)  # 20 frames at 15 fps: past every strike's hit (frame 15)
SEED = 7


META_TOLERANCE = 1e-3  # on a sum of a meta key's floats: ~1000 flipped 6th decimals, far below a changed motion


def _skeleton(x, floats: list):
    """x with every float replaced by 'f' (appended to `floats`)."""
    if isinstance(x, float):
        floats.append(x)
        return "f"
    if isinstance(x, dict):
        return {k: _skeleton(v, floats) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_skeleton(v, floats) for v in x]
    return x


def digest(name: str) -> dict:
    ep = generate_episode(name, SEED, SPEC)
    h = {k: hashlib.sha256(getattr(ep, k).tobytes()).hexdigest()[:16] for k in ("rgb", "seg", "depth")}
    shape, sums = {}, {}
    for key, value in ep.meta.items():
        if key == "versions":  # git revision and code hash change every commit
            continue
        floats = []
        shape[key] = _skeleton(value, floats)
        if floats:
            sums[key] = [round(sum(floats), 6), round(sum(map(abs, floats)), 6)]
    h["meta"] = hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]
    h["meta_sums"] = sums
    return h


KNOWN = json.loads(HASHES.read_text()) if HASHES.is_file() else {}


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_episode_bytes_are_unchanged(name):
    if name not in SCENARIOS:
        pytest.fail(f"{name} is in {HASHES.name} but no longer a scenario: regenerate it (see this module's docstring)")
    now, known = digest(name), KNOWN[name]
    changed = [k for k in ("rgb", "seg", "depth", "meta") if now[k] != known[k]]
    changed += [f"meta {k}" for k in sorted(set(now["meta_sums"]) | set(known["meta_sums"]))
                if not np.allclose(now["meta_sums"].get(k, np.nan), known["meta_sums"].get(k, np.nan),
                                   rtol=0, atol=META_TOLERANCE)]
    assert not changed, f"{name}: {', '.join(changed)} changed; if that is deliberate, regenerate {HASHES.name}"


def test_every_scenario_has_hashes():
    missing = sorted(set(SCENARIOS) - set(KNOWN))
    assert not missing, f"no recorded hashes for {', '.join(missing)}: python tests/test_episode_hashes.py --update"


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit(__doc__)
    HASHES.write_text(json.dumps({name: digest(name) for name in sorted(SCENARIOS)}, indent=1, sort_keys=True) + "\n")
    print(f"wrote {HASHES} ({len(SCENARIOS)} scenarios)")
