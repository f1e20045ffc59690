"""The edge ratio of docs/pix2pix.md: does a pix2pix run draw the edges it is given?

The mean Sobel gradient magnitude of an image's luminance within one pixel of an input edge,
divided by that elsewhere, pooled over the held-out tiles (1.0: ignores the edges). Printed for
the run's outputs and for the real photos (4.87 for ``recipes/pix2pix_edges2photo.toml``'s 24
held-out tiles), with the held-out L1 beside them:

    python -m benchmarks.pix2pix_edges runs/pix2pix-edges2photo
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import torch.nn.functional as F


def luminance(images: torch.Tensor) -> torch.Tensor:
    """``[N, 3, H, W]`` in [-1, 1] -> ``[N, 1, H, W]`` ITU-R 601 luma in [0, 1]."""
    x = (images.float() + 1) / 2
    return (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2])[:, None]


def sobel_magnitude(y: torch.Tensor) -> torch.Tensor:
    """Per-pixel Sobel gradient magnitude of ``[N, 1, H, W]`` (replicated border)."""
    kx = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]])[None, None] / 8
    padded = F.pad(y, (1, 1, 1, 1), mode="replicate")
    return torch.hypot(F.conv2d(padded, kx), F.conv2d(padded, kx.transpose(2, 3)))


def edge_ratio(images: torch.Tensor, sources: torch.Tensor) -> float:
    """``images`` (RGB) against the edge maps ``sources`` (``[N, 1, H, W]``, edges at -1, the
    embedded edges2photo convention): gradient near an edge over gradient elsewhere."""
    edges = (sources < 0).float()
    near = F.max_pool2d(edges, 3, stride=1, padding=1) > 0
    if not near.any() or near.all():
        raise ValueError("edge_ratio needs tiles with both edge and edge-free pixels")
    magnitude = sobel_magnitude(luminance(images))
    return float(magnitude[near].mean() / magnitude[~near].mean())


def main() -> None:
    import ganzoo
    import ganzoo.plugin.manager as plugins
    from ganzoo.plugin.registry import load_ref

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a pix2pix run directory (edges -> photo)")
    args = parser.parse_args()
    recipe = ganzoo.Recipe.from_toml(args.run / "recipe.toml")
    entry = plugins.registry("datasets").get(recipe.data.dataset)
    data = load_ref(entry.build)(recipe.data.config, "test")
    sources = torch.stack([data[i]["source"] for i in range(len(data))])
    targets = torch.stack([data[i]["target"] for i in range(len(data))])
    with torch.no_grad():
        outputs = ganzoo.load(str(args.run)).translate(sources).float()
    print(f"{len(data)} held-out tiles: edge ratio {edge_ratio(outputs, sources):.2f} "
          f"(photos {edge_ratio(targets, sources):.2f}), "
          f"L1 {float((outputs - targets).abs().mean()):.3f}")


if __name__ == "__main__":
    main()
