"""A hash of the code that turns a checkpoint into rollouts. The harness keys its rollout cache by the
checkpoint's files and this hash, so a change to the sampler (a fixed bug, a new default) remakes the
rollouts instead of scoring the old ones again. Training, diagnostics and command lines are left out:
changing them leaves every cached rollout valid. No torch here: the harness reads it without loading
the network."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from toolkit.provenance import source_digest

# the modules a rollout runs through: loading, the network, the sampler, the adapter's resampling
SAMPLING_MODULES = ("adapter.py", "checkpoint.py", "config.py", "data.py", "diffusion.py", "model.py",
                    "sample.py", "tokenizer.py", "vae.py")


def sampling_fingerprint(package: Path | None = None) -> str:
    """16 hex digits over the sampling modules of a simulator package (this one by default)."""
    if package is None:
        return _installed()
    return source_digest(Path(package), [Path(package) / name for name in SAMPLING_MODULES])


@lru_cache(maxsize=1)
def _installed() -> str:
    return sampling_fingerprint(Path(__file__).resolve().parent)
