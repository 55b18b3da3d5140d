"""Checkpoint rollouts across processes and GPUs, under torchrun.

    torchrun --nproc_per_node 4 -m physics_evals run --models checkpoint:runs/big --suite full

torchrun starts N copies of the command with RANK, LOCAL_RANK and WORLD_SIZE set. Rank 0 makes the
held-out episodes, then every rank makes the rollouts of its share of the (model, task, episode)
clips of in-process models (checkpoints): clip k goes to rank k % WORLD_SIZE, on GPU LOCAL_RANK when
there are GPUs. Rollouts are written to the rollout cache (atomically, as always: it must be a
folder every rank sees), and the failures are gathered to rank 0, which scores every clip from the
cache and writes results and report alone; the other ranks exit quietly.

Each rollout is a function of its clip alone (the sampler is seeded per clip), so the scores do
not depend on the world size. One caveat of float arithmetic: the same holds for the per-process
thread count, which torchrun sets to 1 (OMP_NUM_THREADS) when it starts several processes; set the
same for a one-process run when you compare bytes.

Without WORLD_SIZE (a plain `python -m physics_evals run`), or with WORLD_SIZE=1, nothing here
imports torch and the run is the ordinary one.
"""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Group:
    rank: int        # this process, 0..world-1
    world: int       # number of processes
    local_rank: int  # this process on its machine: its GPU

    @property
    def main(self) -> bool:
        return self.rank == 0

    def share(self, items: list) -> list:
        """This rank's share of a list every rank holds in the same order: items rank, rank + world, ..."""
        return items[self.rank::self.world]

    def barrier(self) -> None:
        import torch.distributed as dist
        dist.barrier()

    def from_main(self, obj):
        """Rank 0's `obj` on every rank."""
        import torch.distributed as dist
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def merged(self, part: dict) -> dict:
        """The union of every rank's dict, on every rank."""
        import torch.distributed as dist
        parts = [None] * self.world
        dist.all_gather_object(parts, part)
        return {k: v for p in parts for k, v in p.items()}

    def close(self) -> None:
        import torch.distributed as dist
        if dist.is_initialized():
            dist.barrier()  # leave together: gloo torn down under a rank still in the group aborts it
            dist.destroy_process_group()


def start() -> Group | None:
    """Join the torchrun process group (nccl when each rank has a GPU of its own, else gloo); None when
    not launched with several processes. Raises ValueError in one line when the environment is half set."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    except ValueError:
        raise ValueError("WORLD_SIZE, RANK and LOCAL_RANK must be integers (as torchrun sets them)") from None
    if world <= 1:
        return None
    if not 0 <= rank < world:
        raise ValueError(f"RANK={rank} is outside WORLD_SIZE={world}")
    import torch
    import torch.distributed as dist
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if gpus:
        torch.cuda.set_device(local_rank % gpus)  # "cuda" is this rank's GPU from here on
    # nccl needs a GPU of its own per rank on a machine; more ranks than GPUs share them and talk over gloo
    own_gpu = gpus and int(os.environ.get("LOCAL_WORLD_SIZE", world)) <= gpus
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if own_gpu else "gloo")
    return Group(rank, world, local_rank)
