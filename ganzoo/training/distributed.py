"""Training on several processes launched by ``torchrun`` (one per GPU, or CPU processes).

``torchrun --nproc_per_node=N -m ganzoo run RECIPE`` (and multi-node through torchrun's
rendezvous) sets ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``; :func:`setup` joins the process
group (NCCL on GPUs, gloo on CPUs). Every rank holds the whole model; each takes its slice of the
global batch (the recipe's ``batch_size``), and the gradients of every update are averaged over
the ranks before the optimizer steps, so N processes compute what one process computes on the
whole batch. Only rank 0 writes the run directory (logs, samples, checkpoints, weights).

Why not wrap the networks in ``DistributedDataParallel``: a GAN step runs D twice before one
backward, freezes D's weights during G's update and updates G and D from different losses, which
DDP's reducer does not support without ``find_unused_parameters`` and ``no_sync`` bookkeeping
per trainer. Averaging at ``ctx.update`` gives the same arithmetic for every trainer, plugins
included: in buckets sent from the backward (:mod:`ganzoo.training.grad_sync`), or with
``[train] grad_bucket_mb = 0`` in one flattened all-reduce per update
(:func:`average_gradients`).
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterable

import attrs
import torch
import torch.distributed as dist

from ganzoo.base.errors import RecipeError


@attrs.frozen
class World:
    """This process's place among the training processes (``size == 1``: a single process)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


SINGLE = World()


def from_env() -> World:
    """The world torchrun describes in the environment (a single process when it does not)."""
    try:
        size = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    except ValueError as exc:
        raise RecipeError(f"WORLD_SIZE, RANK and LOCAL_RANK must be integers ({exc}); launch "
                          "with torchrun") from None
    if size < 1 or not 0 <= rank < size:
        raise RecipeError(f"RANK = {rank} is outside WORLD_SIZE = {size}; launch with torchrun")
    return World(rank=rank, size=size, local_rank=local_rank)


def setup(device: torch.device) -> World:
    """Join the process group if torchrun started several processes; return this process's World."""
    world = from_env()
    if world.enabled and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend=backend)
        atexit.register(_shutdown)
    return world


def _shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def rank_device(device: torch.device, world: World) -> torch.device:
    """Each rank on its own GPU (``cuda:LOCAL_RANK``); CPU ranks share the CPU."""
    if world.enabled and device.type == "cuda":
        return torch.device("cuda", world.local_rank)
    return device


def average_gradients(params: Iterable[torch.nn.Parameter], world: World) -> None:
    """Replace each gradient by its mean over the ranks (one flattened all-reduce)."""
    if not world.enabled:
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world.size
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def mean(values: torch.Tensor, world: World) -> torch.Tensor:
    """The mean over the ranks of ``values`` (every rank gets it)."""
    if not world.enabled:
        return values
    values = values.clone()
    dist.all_reduce(values)
    return values / world.size


def any_rank(flag: bool, world: World, device: torch.device) -> bool:
    """True on every rank when ``flag`` is true on at least one (e.g. a stop request)."""
    if not world.enabled:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value)
    return bool(value.item() > 0)


def gather_rng(world: World) -> list[torch.Tensor]:
    """Every rank's CPU RNG state (on every rank), so one checkpoint resumes all of them."""
    state = torch.get_rng_state()
    if not world.enabled:
        return [state]
    states = [torch.empty_like(state) for _ in range(world.size)]
    dist.all_gather_object(states, state)
    return states


def barrier(world: World) -> None:
    if world.enabled:
        dist.barrier()


def from_rank0(value, world: World):
    """Rank 0's ``value`` (a picklable object made by ganzoo itself) on every rank."""
    if not world.enabled:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]
