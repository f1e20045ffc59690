"""Image grids and conversions between files, PIL images and tensors in [-1, 1]."""

from __future__ import annotations

import math
from pathlib import Path

import torch

from ganzoo.base.io import atomic_write_with


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] floats → uint8 in [0, 255] (same shape)."""
    return ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def with_channels(images: torch.Tensor, channels: int) -> torch.Tensor:
    """``images [N, C, H, W]`` with ``channels`` channels for display side by side with others:
    gray repeated, extra channels dropped, a missing one filled with the last."""
    have = images.shape[1]
    if have == channels:
        return images
    if have == 1:
        return images.expand(-1, channels, -1, -1)
    if have > channels:
        return images[:, :channels]
    return torch.cat([images, images[:, -1:].expand(-1, channels - have, -1, -1)], dim=1)


def grid(images: torch.Tensor, nrow: int | None = None, padding: int = 2) -> torch.Tensor:
    """A ``[C, H, W]`` uint8 grid of ``[N, C, H, W]`` images in [-1, 1] (square-ish by default).

    The layout of ``torchvision.utils.make_grid`` (black padding around every tile, gray shown
    as RGB, one image returned as itself), pixel for pixel, without importing torchvision: its
    import costs about three seconds of a cold ``ganzoo sample``."""
    tiles = to_uint8(images.cpu())
    if tiles.shape[1] == 1:
        tiles = tiles.expand(-1, 3, -1, -1)
    count, channels, height, width = tiles.shape
    if count == 1:
        return tiles[0].clone()
    columns = min(nrow or max(1, math.ceil(math.sqrt(count))), count)
    rows = math.ceil(count / columns)
    step_y, step_x = height + padding, width + padding
    out = torch.zeros((channels, rows * step_y + padding, columns * step_x + padding),
                      dtype=torch.uint8)
    for k in range(count):
        y, x = divmod(k, columns)
        out[:, y * step_y + padding:(y + 1) * step_y, x * step_x + padding:(x + 1) * step_x] = \
            tiles[k]
    return out


def save_grid(images: torch.Tensor, path: str | Path, nrow: int | None = None,
              padding: int = 2) -> Path:
    """Write a PNG grid of ``images`` atomically (``padding=0`` and one image: the image itself)."""
    from PIL import Image

    path = Path(path)
    if images.shape[0] == 1 and padding == 0:  # one image, written as itself (grayscale stays L)
        tile = to_uint8(images[0].cpu())
    else:
        tile = grid(images, nrow=nrow, padding=padding)
    array = tile.permute(1, 2, 0).numpy()
    image = Image.fromarray(array[..., 0] if array.shape[2] == 1 else array)
    fmt = (path.suffix.lstrip(".") or "png").upper().replace("JPG", "JPEG")
    atomic_write_with(path, lambda tmp: image.save(tmp, format=fmt))
    return path


def as_batch(images, *, channels: int | None = None) -> torch.Tensor:
    """A float ``[N, C, H, W]`` batch in [-1, 1] from what a user has at hand.

    Accepts a path (``str``/``Path``), a PIL image, a tensor (``[C, H, W]`` or ``[N, C, H, W]``;
    floats are taken to be in [-1, 1], ``uint8`` in [0, 255]) or a list of these (same size).
    ``channels`` converts to grayscale (1) or RGB (3).
    """
    from ganzoo.base.errors import DataError

    if isinstance(images, (list, tuple)):
        if not images:
            raise DataError("no images given")
        parts = [as_batch(image, channels=channels) for image in images]
        sizes = {tuple(p.shape[1:]) for p in parts}
        if len(sizes) > 1:
            raise DataError(f"images of different sizes cannot form one batch: {sorted(sizes)}")
        return torch.cat(parts)
    if isinstance(images, (str, Path)):
        from ganzoo.data.images import load_image

        return load_image(Path(images), channels or 3).unsqueeze(0)
    if isinstance(images, torch.Tensor):
        batch = images.unsqueeze(0) if images.dim() == 3 else images
        if batch.dim() != 4:
            raise DataError(f"expected an image tensor [C, H, W] or [N, C, H, W], got shape "
                            f"{tuple(images.shape)}")
        if batch.dtype == torch.uint8:
            batch = batch.float() / 127.5 - 1
        batch = batch.float()
        if channels and batch.shape[1] != channels:
            if channels == 1 and batch.shape[1] == 3:
                weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
                batch = (batch * weights.to(batch.device)).sum(1, keepdim=True)
            elif channels == 3 and batch.shape[1] == 1:
                batch = batch.expand(-1, 3, -1, -1)
            else:
                raise DataError(f"cannot convert {batch.shape[1]} channels to {channels}")
        return batch
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - pillow is a dependency
        Image = None
    if Image is not None and isinstance(images, Image.Image):
        import numpy as np

        mode = {1: "L", 3: "RGB"}.get(channels or (1 if images.mode in ("L", "1") else 3))
        array = np.asarray(images.convert(mode), dtype=np.uint8)
        tensor = torch.from_numpy(array.copy())
        tensor = tensor.unsqueeze(0) if tensor.dim() == 2 else tensor.permute(2, 0, 1)
        return as_batch(tensor, channels=channels)
    raise DataError(f"cannot use {type(images).__name__} as an image: give a path, a PIL image, "
                    "a tensor, or a list of these")
