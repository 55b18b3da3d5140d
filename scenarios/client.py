"""One pooled PyBullet DIRECT client per process, and pybullet imported quietly, on first use: loading
cached episodes, training and scoring also run where pybullet is not installed (a GPU machine, say)."""
from __future__ import annotations

import functools
import os
from typing import ClassVar


class EngineUnavailableError(ImportError, ValueError):
    """pybullet cannot be imported: new episodes cannot be made (a ValueError too, so CLIs say it in one line)."""


@functools.cache
def _import_pybullet():
    # pybullet announces its build time on stderr at import; keep our CLIs' output to what they say.
    fd = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            import pybullet
    except ImportError as e:
        raise EngineUnavailableError(f"{e}: making new episodes needs pybullet (cached ones do not)") from None
    finally:
        os.dup2(fd, 2)
        os.close(fd)
    return pybullet


class Client:
    """pybullet's functions bound to one DIRECT physics client (like BulletClient, without its argv print).

    Connecting costs about as much as rendering a whole 64x64 episode, so clients are pooled per
    process and reset (resetSimulation) between scenes instead of reconnected.
    """
    _pool: ClassVar[list["Client"]] = []

    def __init__(self):
        self.id = p.connect(p.DIRECT)

    @classmethod
    def acquire(cls) -> "Client":
        client = cls._pool.pop() if cls._pool else cls()
        client.resetSimulation()
        return client

    def release(self) -> None:
        self._pool.append(self)

    def __getattr__(self, name):  # called once per name: the bound function is then a plain attribute
        fn = getattr(p, name)
        if callable(fn):
            fn = functools.partial(fn, physicsClientId=self.id)
            setattr(self, name, fn)
        return fn


class _Pybullet:
    """The pybullet module, imported at the first attribute read."""

    def __getattr__(self, name):
        return getattr(_import_pybullet(), name)


p = _Pybullet()
