"""Image grids and conversions between files, PIL images and tensors in [-1, 1]."""

from __future__ import annotations

import math
from pathlib import Path

import torch

from .io import atomic_write_with


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] floats → uint8 in [0, 255] (same shape)."""
    return ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def grid(images: torch.Tensor, nrow: int | None = None, padding: int = 2) -> torch.Tensor:
    """A ``[C, H, W]`` uint8 grid of ``[N, C, H, W]`` images in [-1, 1] (square-ish by default)."""
    from torchvision.utils import make_grid

    nrow = nrow or max(1, math.ceil(math.sqrt(images.shape[0])))
    return make_grid(to_uint8(images.cpu()), nrow=nrow, padding=padding)


def save_grid(images: torch.Tensor, path: str | Path, nrow: int | None = None) -> Path:
    """Write a PNG grid of ``images`` atomically; returns the path."""
    from PIL import Image

    path = Path(path)
    tile = grid(images, nrow=nrow)
    array = tile.permute(1, 2, 0).numpy()
    image = Image.fromarray(array[..., 0] if array.shape[2] == 1 else array)
    fmt = (path.suffix.lstrip(".") or "png").upper().replace("JPG", "JPEG")
    atomic_write_with(path, lambda tmp: image.save(tmp, format=fmt))
    return path
