"""Tiny paired datasets on disk, in pix2pix's layouts, and a reference-layout U-Net.

In every pair B is the colour negative of A (``B = 255 - A``), so a test can check that the two
halves stay together through crops and flips: ``target == -source`` in [-1, 1].
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn


def _pixels(rng, width: int, height: int) -> np.ndarray:
    blocks = rng.integers(0, 256, size=(height // 4 + 1, width // 4 + 1, 3), dtype=np.uint8)
    return blocks.repeat(4, axis=0).repeat(4, axis=1)[:height, :width]


def make_aligned(root: Path, *, splits=("train", "val"), n: int = 3,
                 size: tuple[int, int] = (40, 36)) -> Path:
    """pix2pix's aligned format: ``root/<split>/<i>.png`` holding A | B side by side, each
    ``size`` (width, height). Returns ``root``."""
    rng = np.random.default_rng(0)
    for split in splits:
        (root / split).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            a = _pixels(rng, *size)
            Image.fromarray(np.concatenate([a, 255 - a], axis=1)).save(root / split / f"{i}.png")
    return root


def make_separate(root: Path, *, splits=("train", "test"), n: int = 3,
                  size: tuple[int, int] = (40, 36)) -> Path:
    """Separate folders: ``root/A/<split>/<i>.png`` and ``root/B/<split>/<i>.png``."""
    rng = np.random.default_rng(1)
    for split in splits:
        for side in "AB":
            (root / side / split).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            a = _pixels(rng, *size)
            Image.fromarray(a).save(root / "A" / split / f"img{i}.png")
            Image.fromarray(255 - a).save(root / "B" / split / f"img{i}.png")
    return root


class ReferenceBlock(nn.Module):
    """The reference implementation's ``UnetSkipConnectionBlock`` layout, rebuilt for tests:
    the same module order (hence state-dict keys), in-place activations included."""

    def __init__(self, outer, inner, *, input_nc=None, sub=None, outermost=False,
                 innermost=False, norm=nn.BatchNorm2d, dropout=False):
        super().__init__()
        self.outermost = outermost
        bias = norm is not nn.BatchNorm2d
        make_norm = (lambda c: nn.InstanceNorm2d(c)) if bias else norm
        down = nn.Conv2d(input_nc or outer, inner, 4, 2, 1, bias=bias)
        if outermost:
            layers = [down, sub, nn.ReLU(True), nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1),
                      nn.Tanh()]
        elif innermost:
            layers = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True),
                      nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=bias), make_norm(outer)]
        else:
            layers = [nn.LeakyReLU(0.2, True), down, make_norm(inner), sub, nn.ReLU(True),
                      nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1, bias=bias), make_norm(outer)]
            if dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class ReferenceUnet(nn.Module):
    """The reference ``UnetGenerator(input_nc, output_nc, num_downs, ngf)`` layout."""

    def __init__(self, input_nc, output_nc, num_downs, ngf, *, norm=nn.BatchNorm2d, dropout=True):
        super().__init__()
        block = ReferenceBlock(ngf * 8, ngf * 8, innermost=True, norm=norm)
        for _ in range(num_downs - 5):
            block = ReferenceBlock(ngf * 8, ngf * 8, sub=block, norm=norm, dropout=dropout)
        for mult in (4, 2, 1):
            block = ReferenceBlock(ngf * mult, ngf * mult * 2, sub=block, norm=norm)
        self.model = ReferenceBlock(output_nc, ngf, input_nc=input_nc, sub=block, outermost=True,
                                    norm=norm)

    def forward(self, x):
        return self.model(x)


def randomised(net: nn.Module, seed: int = 0) -> nn.Module:
    """Every parameter and BatchNorm statistic drawn at random (not the init's values)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in net.state_dict().items():
            if tensor.is_floating_point():
                if name.endswith("running_var"):
                    tensor.copy_(torch.rand(tensor.shape, generator=g) + 0.5)
                else:
                    tensor.copy_(torch.randn(tensor.shape, generator=g) * 0.2)
    return net
