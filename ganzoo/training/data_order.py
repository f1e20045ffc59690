"""Batches as a pure function of (seed, step): resuming at step k sees exactly the same data.

Each epoch's order is a permutation drawn from a generator seeded by (seed, epoch), and each item is
loaded under torch's RNG seeded by (seed, epoch, index), so random augmentations are reproducible
whatever the number of loader workers.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

_MIX = 0x9E3779B97F4A7C15


def _mix(*values: int) -> int:
    h = 0
    for v in values:
        h = ((h ^ (v & 0xFFFFFFFFFFFFFFFF)) * _MIX + 0x632BE59BD9B4E019) & 0xFFFFFFFFFFFFFFFF
    return h & 0x7FFFFFFFFFFFFFFF


class SeededItems(Dataset):
    """Wraps a dataset; key ``(epoch, index)`` loads item ``index`` under a seeded torch RNG."""

    def __init__(self, dataset: Dataset, seed: int):
        self.dataset = dataset
        self.seed = seed

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int]):
        epoch, index = key
        # The CPU generator only: torch.manual_seed would also queue a re-seed of every lazy
        # accelerator RNG (cuda, xpu, mtia), recording a stack trace each time: 15 ms a batch
        # of 64, more than the digits DCGAN's whole step on one core.
        with torch.random.fork_rng(devices=[]):
            torch.random.default_generator.manual_seed(_mix(self.seed, epoch, index))
            return self.dataset[index]


class StepBatches(Sampler[list[tuple[int, int]]]):
    """Yields the index lists of steps ``start, start+1, ..., stop-1`` (incomplete batches dropped).

    With ``ranks > 1`` (distributed training) each step's global batch of ``batch_size`` items is
    the same as for one process, and rank ``r`` gets its ``r``-th contiguous slice.
    """

    def __init__(self, size: int, batch_size: int, seed: int, start: int, stop: int,
                 rank: int = 0, ranks: int = 1):
        self.size, self.batch_size, self.seed = size, batch_size, seed
        self.start, self.stop = start, stop
        self.per_epoch = size // batch_size
        self.rank, self.local = rank, batch_size // ranks

    def permutation(self, epoch: int) -> torch.Tensor:
        return torch.randperm(self.size, generator=torch.Generator().manual_seed(_mix(self.seed, epoch)))

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        perm, perm_epoch = None, -1
        for step in range(self.start, self.stop):
            epoch, i = divmod(step, self.per_epoch)
            if epoch != perm_epoch:
                perm, perm_epoch = self.permutation(epoch), epoch
            chunk = perm[i * self.batch_size:(i + 1) * self.batch_size]
            chunk = chunk[self.rank * self.local:(self.rank + 1) * self.local].tolist()
            yield [(epoch, index) for index in chunk]

    def __len__(self) -> int:
        return max(0, self.stop - self.start)


def step_loader(dataset: Dataset, *, batch_size: int, seed: int, start: int, stop: int,
                num_workers: int, pin_memory: bool, rank: int = 0, ranks: int = 1) -> DataLoader:
    sampler = StepBatches(len(dataset), batch_size, seed, start, stop, rank, ranks)
    return DataLoader(
        SeededItems(dataset, seed), batch_sampler=sampler, num_workers=num_workers,
        pin_memory=pin_memory, persistent_workers=False,
        prefetch_factor=4 if num_workers else None,
        # The iterator draws a base seed from this generator, not from torch's global RNG, so
        # starting the loader (again, on resume) does not shift the training RNG stream.
        generator=torch.Generator().manual_seed(seed),
    )
