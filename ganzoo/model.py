"""The base class every architecture's model derives from.

A :class:`GANModel` is an ``nn.Module`` holding all networks of one GAN as named children (role
names: ``gen``, ``disc``, ``gen_ab`` ...) and the frozen attrs config that fully describes them.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn


class GANModel(nn.Module):
    """All networks of one GAN plus its config.

    Subclasses set ``architecture`` (the registered name), ``generator_components`` (the children
    needed for inference; the others are only needed for training), and implement
    :meth:`example_batch` and either :meth:`generate` (unconditional models) or their own
    inference methods plus :meth:`preview`.
    """

    architecture: ClassVar[str] = ""
    generator_components: ClassVar[tuple[str, ...]] = ("gen",)

    def __init__(self, config: Any):
        super().__init__()
        self.config = config

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def components(self) -> tuple[str, ...]:
        """Names of all networks, generator side first."""
        others = tuple(n for n, _ in self.named_children() if n not in self.generator_components)
        return (*self.generator_components, *others)

    def generate(self, n: int, *, seed: int | None = None, **kwargs: Any) -> torch.Tensor:
        """``n`` images in [-1, 1], shape ``[n, C, H, W]``; a given seed makes them reproducible."""
        raise NotImplementedError(f"{type(self).__name__} does not generate unconditionally")

    def preview(self, n: int, *, seed: int) -> torch.Tensor:
        """Images for the sample grids written during training (fixed inputs for a given seed)."""
        return self.generate(n, seed=seed)

    def example_batch(self, batch_size: int, *, generator: torch.Generator | None = None) -> dict:
        """A synthetic training batch of the right shapes (tests and benchmarks)."""
        raise NotImplementedError

    @staticmethod
    def seeded(seed: int | None, device: torch.device) -> torch.Generator | None:
        """A generator on ``device`` seeded with ``seed`` (``None``: use torch's global RNG)."""
        if seed is None:
            return None
        return torch.Generator(device=device).manual_seed(seed)
