"""Data-parallel training under ``torchrun`` (one process per core or GPU).

    torchrun --standalone --nproc_per_node=4 -m pianoplay train vae-segment --out ...

``torchrun`` sets ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``; without them this is one
process and nothing changes. Each rank draws its own batches (seeded by rank), DDP
averages the gradients, rank 0 alone validates and writes checkpoints. Backend: NCCL
on CUDA, gloo on the CPU. Several machines: ``torchrun --nnodes=N --node_rank=K
--rdzv_backend=c10d --rdzv_endpoint=HOST:PORT ...`` with the same command.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass


@dataclass
class Distributed:
    rank: int = 0
    world_size: int = 1
    device: object = None  # torch.device of this rank

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @classmethod
    def from_env(cls, device) -> Distributed:
        """Join the process group when started by torchrun; ``device`` is the one the
        single-process run would use (pianoplay.device.pick_device), moved to this
        rank's GPU under CUDA."""
        import torch
        import torch.distributed as dist

        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls(0, 1, device)
        rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
        if device.type == "cuda":
            device = torch.device("cuda", local)
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        return cls(rank, world, device)

    def wrap(self, model):
        """The model to call in the training step: DDP around it when distributed."""
        if not self.active:
            return model
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)

    def any(self, flag: bool) -> bool:
        """True on every rank when it is True on one (a stop decision all ranks share)."""
        if not self.active:
            return flag
        import torch
        import torch.distributed as dist

        t = torch.tensor([1.0 if flag else 0.0], device=self.device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item() > 0)

    def record_weights(self, folder, model, step: int) -> None:
        """``folder/ddp_rank<R>.json``: this rank's step and weights digest, a record that
        the ranks ended with the same weights (then waits for every rank)."""
        import json

        record = {"rank": self.rank, "world_size": self.world_size, "step": step,
                  "weights_sha256": weights_digest(model)}
        (folder / f"ddp_rank{self.rank}.json").write_text(json.dumps(record) + "\n")
        self.barrier()

    def barrier(self) -> None:
        if self.active:
            import torch.distributed as dist

            dist.barrier()

    def close(self) -> None:
        if self.active:
            import torch.distributed as dist

            dist.destroy_process_group()


def weights_digest(model) -> str:
    """sha256 of a model's weights (names and bytes): equal on ranks that agree."""
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()
