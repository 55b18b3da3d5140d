"""Episodes stay byte-identical across changes that are not meant to change the physics.

tests/episode_hashes.json holds the sha256 of the arrays and of the recorded meta (all but
`versions`, floats to 10 significant digits) of one small episode of every scenario. The rounding is
for the CPU, not the physics: numpy's sin and cos take other code paths on other processors (SVML
where AVX-512 is there) and differ in the last bits of a recorded camera angle or launch speed, while
every frame stays the same. A speed-up, a refactor or a new option must
leave them all as they are. A deliberate change of physics, sampling or rendering regenerates
them, and its commit says why:

    python tests/test_episode_hashes.py --update
"""
import hashlib
import json
import sys
from pathlib import Path

import pytest

from scenarios import SCENARIOS, RenderSpec, generate_episode

HASHES = Path(__file__).parent / "episode_hashes.json"
SPEC = RenderSpec(height=32, width=32, n_frames=20)  # 20 frames at 15 fps: past every strike's hit (frame 15)
SEED = 7


def _rounded(x):
    if isinstance(x, float):
        return float(f"{x:.10g}")
    if isinstance(x, dict):
        return {k: _rounded(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_rounded(v) for v in x]
    return x


def digest(name: str) -> dict[str, str]:
    ep = generate_episode(name, SEED, SPEC)
    meta = _rounded({k: v for k, v in ep.meta.items() if k != "versions"})  # git revision and code hash change every commit
    h = {k: hashlib.sha256(getattr(ep, k).tobytes()).hexdigest()[:16] for k in ("rgb", "seg", "depth")}
    h["meta"] = hashlib.sha256(json.dumps(meta, sort_keys=True).encode()).hexdigest()[:16]
    return h


KNOWN = json.loads(HASHES.read_text()) if HASHES.is_file() else {}


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_episode_bytes_are_unchanged(name):
    if name not in SCENARIOS:
        pytest.fail(f"{name} is in {HASHES.name} but no longer a scenario: regenerate it (see this module's docstring)")
    assert digest(name) == KNOWN[name], f"{name}: episode bytes changed; if that is deliberate, regenerate {HASHES.name}"


def test_every_scenario_has_hashes():
    missing = sorted(set(SCENARIOS) - set(KNOWN))
    assert not missing, f"no recorded hashes for {', '.join(missing)}: python tests/test_episode_hashes.py --update"


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit(__doc__)
    HASHES.write_text(json.dumps({name: digest(name) for name in sorted(SCENARIOS)}, indent=1, sort_keys=True) + "\n")
    print(f"wrote {HASHES} ({len(SCENARIOS)} scenarios)")
