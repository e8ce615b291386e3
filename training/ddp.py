"""torchrun/DDP plumbing: the same script runs under torchrun (gloo on CPU, nccl on GPU) or plain python."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass
class Dist:
    """This process's place in the job."""

    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup(seed: int = 0) -> Dist:
    """Init the process group when launched by torchrun (WORLD_SIZE > 1); pick the device; seed per rank."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available()
    device = torch.device(f"cuda:{local}") if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    torch.manual_seed(seed + rank)
    return Dist(rank=rank, world_size=world, device=device)


def teardown() -> None:
    """Destroy the process group if one was made (after a :func:`barrier` on success: a rank that destroyed its
    group and exited while the main one still wrote the model aborted in gloo's teardown, "terminate called without
    an active exception", in about one CI run in five)."""
    if dist.is_initialized():
        dist.destroy_process_group()


def wrap(model: torch.nn.Module, d: Dist) -> torch.nn.Module:
    """DDP-wrap a model when the job has several processes."""
    if d.world_size == 1:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [d.device.index] if d.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


def mean(value: float, d: Dist) -> float:
    """Average a scalar over processes (for logging)."""
    if d.world_size == 1:
        return float(value)
    t = torch.tensor([float(value)], device=d.device)
    dist.all_reduce(t)
    return float(t) / d.world_size


def gather(value: Any, d: Dist) -> list[Any]:
    """Every rank's (picklable) value, in rank order, on every rank."""
    if d.world_size == 1:
        return [value]
    out: list[Any] = [None] * d.world_size
    dist.all_gather_object(out, value)
    return out


def barrier(d: Dist) -> None:
    """Wait for every process."""
    if d.world_size > 1:
        dist.barrier()
