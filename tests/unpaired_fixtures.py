"""Tiny unpaired datasets on disk, in CycleGAN's layout, and a reference-layout ResnetGenerator.

Domain A images are random 4x4-pixel blocks of colour; domain B images are their negatives plus
a marker: every B file's top-left pixel is pure white, which no A image has, so a test can tell
which folder an image came from.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from paired_fixtures import randomised  # noqa: F401 - shared with the pix2pix tests
from torch import nn


def _pixels(rng, width: int, height: int) -> np.ndarray:
    blocks = rng.integers(0, 200, size=(height // 4 + 1, width // 4 + 1, 3), dtype=np.uint8)
    return blocks.repeat(4, axis=0).repeat(4, axis=1)[:height, :width]


def make_unpaired(root: Path, *, counts: dict[str, int] | None = None,
                  size: tuple[int, int] = (40, 36), gray: bool = False) -> Path:
    """``root/{trainA,trainB,testA,testB}/<i>.png`` (``size`` is width, height); ``counts`` says
    how many images each folder gets (default 3, 5, 2, 2). Returns ``root``."""
    counts = counts or {"trainA": 3, "trainB": 5, "testA": 2, "testB": 2}
    rng = np.random.default_rng(0)
    for folder, n in counts.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            pixels = _pixels(rng, *size)
            if folder.endswith("B"):
                pixels = 255 - pixels
                pixels[0, 0] = 255
            image = Image.fromarray(pixels)
            (image.convert("L") if gray else image).save(root / folder / f"{folder}_{i}.png")
    return root


# -- the reference implementation's ResnetGenerator, rebuilt for tests -----------------------------
# Written from junyanz/pytorch-CycleGAN-and-pix2pix models/networks.py: the same modules in the
# same order (hence the same state-dict keys), norm_layer a functools.partial as there.

class ReferenceResnetBlock(nn.Module):
    def __init__(self, dim, padding_type, norm_layer, use_dropout, use_bias):
        super().__init__()
        conv_block = []
        p = 0
        if padding_type == "reflect":
            conv_block += [nn.ReflectionPad2d(1)]
        elif padding_type == "zero":
            p = 1
        conv_block += [nn.Conv2d(dim, dim, kernel_size=3, padding=p, bias=use_bias),
                       norm_layer(dim), nn.ReLU(True)]
        if use_dropout:
            conv_block += [nn.Dropout(0.5)]
        if padding_type == "reflect":
            conv_block += [nn.ReflectionPad2d(1)]
        conv_block += [nn.Conv2d(dim, dim, kernel_size=3, padding=p, bias=use_bias),
                       norm_layer(dim)]
        self.conv_block = nn.Sequential(*conv_block)

    def forward(self, x):
        return x + self.conv_block(x)


class ReferenceResnetGenerator(nn.Module):
    def __init__(self, input_nc, output_nc, ngf=64, norm_layer=None, use_dropout=False,
                 n_blocks=6, padding_type="reflect"):
        super().__init__()
        norm_layer = norm_layer or functools.partial(nn.InstanceNorm2d, affine=False,
                                                     track_running_stats=False)
        if isinstance(norm_layer, functools.partial):
            use_bias = norm_layer.func == nn.InstanceNorm2d
        else:
            use_bias = norm_layer == nn.InstanceNorm2d
        model = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, kernel_size=7, padding=0,
                                                  bias=use_bias),
                 norm_layer(ngf), nn.ReLU(True)]
        n_downsampling = 2
        for i in range(n_downsampling):
            mult = 2 ** i
            model += [nn.Conv2d(ngf * mult, ngf * mult * 2, kernel_size=3, stride=2, padding=1,
                                bias=use_bias),
                      norm_layer(ngf * mult * 2), nn.ReLU(True)]
        mult = 2 ** n_downsampling
        for i in range(n_blocks):
            model += [ReferenceResnetBlock(ngf * mult, padding_type=padding_type,
                                           norm_layer=norm_layer, use_dropout=use_dropout,
                                           use_bias=use_bias)]
        for i in range(n_downsampling):
            mult = 2 ** (n_downsampling - i)
            model += [nn.ConvTranspose2d(ngf * mult, int(ngf * mult / 2), kernel_size=3,
                                         stride=2, padding=1, output_padding=1, bias=use_bias),
                      norm_layer(int(ngf * mult / 2)), nn.ReLU(True)]
        model += [nn.ReflectionPad2d(3)]
        model += [nn.Conv2d(ngf, output_nc, kernel_size=7, padding=0)]
        model += [nn.Tanh()]
        self.model = nn.Sequential(*model)

    def forward(self, input):
        return self.model(input)
