"""MATLAB-style bicubic resizing (``imresize(x, 1/scale, 'bicubic')``), the downsampling the
SRGAN paper and its benchmarks use to make low-resolution inputs.

MATLAB's kernel is Keys' cubic with a = -0.5; when shrinking it is stretched by the scale factor
(antialiasing), each output pixel centred at ``(x + 0.5) / factor - 0.5`` of the input, and the
image is extended by mirror reflection (``symmetric``: the edge pixel repeated) at the borders.
Both axes are separable, so each is one matrix: ``out = A_h @ image @ A_w^T``.
"""

from __future__ import annotations

import functools
import math

import torch


def cubic(x: torch.Tensor) -> torch.Tensor:
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's and PIL's bicubic)."""
    ax = x.abs()
    ax2, ax3 = ax * ax, ax * ax * ax
    near = (1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1)
    far = (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2))
    return near + far


@functools.lru_cache(maxsize=64)
def resize_matrix(size_in: int, size_out: int) -> torch.Tensor:
    """The ``[size_out, size_in]`` float64 matrix resizing one axis as MATLAB's imresize does.

    Always built on the CPU: it is cached, and a first call under ``torch.device("meta")`` (the
    memory estimate runs a preview there) must not leave a meta tensor for the real calls."""
    factor = size_out / size_in
    stretch = min(factor, 1.0)  # shrinking widens the kernel: antialiasing
    width = 4.0 / stretch
    x = torch.arange(1, size_out + 1, dtype=torch.float64, device="cpu")
    u = x / factor + 0.5 * (1 - 1 / factor)  # the input position (1-based) of each output pixel
    left = torch.floor(u - width / 2)
    taps = math.ceil(width) + 2
    offsets = torch.arange(taps, dtype=torch.float64, device="cpu")
    index = left[:, None] + offsets[None, :]  # [out, taps]
    weights = stretch * cubic(stretch * (u[:, None] - index))
    weights = weights / weights.sum(dim=1, keepdim=True)
    # Mirror out-of-range taps back into the image (MATLAB's "symmetric" padding).
    zero_based = index.long() - 1
    period = 2 * size_in
    folded = torch.remainder(zero_based, period)
    folded = torch.where(folded >= size_in, period - 1 - folded, folded)
    matrix = torch.zeros(size_out, size_in, dtype=torch.float64, device="cpu")
    matrix.scatter_add_(1, folded, weights)
    return matrix


def imresize(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``images`` (``[..., H, W]``, any float range) resized to ``size`` = (height, width) with
    MATLAB's bicubic; computed in float64, returned in the input's dtype (no clamping)."""
    height, width = images.shape[-2:]
    rows = resize_matrix(height, size[0]).to(images.device)
    cols = resize_matrix(width, size[1]).to(images.device)
    out = rows @ images.to(torch.float64) @ cols.T
    return out.to(images.dtype)


def downscale(images: torch.Tensor, scale: int, *, quantize: bool = True) -> torch.Tensor:
    """``images`` in [-1, 1] (``[..., H, W]``, sides multiples of ``scale``) shrunk ``scale``
    times with MATLAB's bicubic, clamped to [-1, 1] and, with ``quantize``, rounded to 8 bits
    as a saved PNG would be."""
    height, width = images.shape[-2:]
    if height % scale or width % scale:
        raise ValueError(f"image sides {height}x{width} are not multiples of scale {scale}")
    small = imresize(images, (height // scale, width // scale)).clamp(-1.0, 1.0)
    if quantize:
        small = ((small + 1) * 127.5).round() / 127.5 - 1
    return small


def upscale_bicubic(images: torch.Tensor, scale: int) -> torch.Tensor:
    """The bicubic baseline: ``images`` in [-1, 1] enlarged ``scale`` times (MATLAB-style),
    clamped to [-1, 1]."""
    height, width = images.shape[-2:]
    return imresize(images, (height * scale, width * scale)).clamp(-1.0, 1.0)
