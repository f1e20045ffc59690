"""Tiled inference for upscalers: bounded memory for any input size, with no seams.

The input is cut into ``tile`` x ``tile`` tiles, each read with ``overlap`` extra pixels of
context on every side (where the image has them); each tile's output keeps only the part that
belongs to its own tile, so every output pixel comes from exactly one network call, made with
``overlap`` input pixels of context around it. When ``overlap`` covers the network's receptive
field the result equals one call on the whole image (up to float rounding); a smaller overlap
trades exactness for speed.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def tiled(net: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, *, scale: int,
          tile: int, overlap: int) -> torch.Tensor:
    """``net(images)`` computed tile by tile; ``net`` maps ``[N, C, h, w]`` to
    ``[N, C', h*scale, w*scale]``. Memory is that of one ``tile + 2*overlap`` square."""
    if tile < 1 or overlap < 0:
        raise ValueError(f"tile = {tile} must be >= 1 and overlap = {overlap} >= 0")
    n, _, height, width = images.shape
    if height <= tile and width <= tile:
        return net(images)
    out: torch.Tensor | None = None
    for top in range(0, height, tile):
        for left in range(0, width, tile):
            bottom, right = min(top + tile, height), min(left + tile, width)
            y0, x0 = max(top - overlap, 0), max(left - overlap, 0)
            y1, x1 = min(bottom + overlap, height), min(right + overlap, width)
            result = net(images[..., y0:y1, x0:x1])
            if out is None:
                out = result.new_empty(n, result.shape[1], height * scale, width * scale)
            keep = result[..., (top - y0) * scale:(bottom - y0) * scale,
                          (left - x0) * scale:(right - x0) * scale]
            out[..., top * scale:bottom * scale, left * scale:right * scale] = keep
    assert out is not None
    return out
