"""pix2pix's networks (Isola et al. 2017): a U-Net generator and a conditional patch discriminator.

U-Net (the reference's ``UnetGenerator``, written as a loop instead of nested blocks). Level ``i``
of ``depth`` halves the image with a 4x4 stride-2 conv and its decoder twin doubles it back::

    encoder: x -> down_0 -> [lrelu -> down_i -> norm] for i = 1 .. depth-1 (no norm innermost)
    decoder: for i = depth-1 .. 0: relu -> up_i -> norm (not at level 0) -> dropout (inner levels)
             then concatenate the encoder's level i-1 activation (after its LeakyReLU); tanh last.

Widths: level ``i`` has ``gen_width * min(2**i, 8)`` channels. Dropout(0.5) sits in the decoder of
levels 4 .. depth-2 (three levels in ``unet_256``), as in the paper; it is the only noise.
The skip connections carry the encoder activation *after* the next level's LeakyReLU because the
reference applies that LeakyReLU in place: reproducing it is what makes converted weights give
identical outputs.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo import Translator
from ganzoo.nn.blocks import PatchDiscriminator, PixelDiscriminator, conv_bias, init_normal, norm_layer

from .config import Pix2PixConfig


class Level(nn.Module):
    """One U-Net level: ``down`` (+ ``down_norm``) on the way in, ``up`` (+ ``up_norm``,
    ``dropout``) on the way out."""

    def __init__(self, *, outer: int, inner: int, in_channels: int, outermost: bool,
                 innermost: bool, norm: str, dropout: bool):
        super().__init__()
        bias = conv_bias(norm)
        self.down = nn.Conv2d(in_channels, inner, 4, 2, 1, bias=bias)
        plain = outermost or innermost
        self.down_norm = nn.Identity() if plain else norm_layer(norm, inner)
        up_in = inner if innermost else inner * 2  # the innermost level has no skip to join
        self.up = nn.ConvTranspose2d(up_in, outer, 4, 2, 1, bias=True if outermost else bias)
        self.up_norm = nn.Identity() if outermost else norm_layer(norm, outer)
        self.dropout = nn.Dropout(0.5) if dropout else nn.Identity()


class UNet(nn.Module):
    """``[N, input_nc, H, W]`` -> ``[N, output_nc, H, W]`` in [-1, 1]; H and W multiples of
    ``2**depth``."""

    def __init__(self, *, input_nc: int, output_nc: int, depth: int, width: int, norm: str,
                 dropout: bool):
        super().__init__()
        assert depth >= 2, f"a U-Net needs depth >= 2, got {depth}"
        widths = [width * min(2**i, 8) for i in range(depth)]
        self.levels = nn.ModuleList(
            Level(outer=output_nc if i == 0 else widths[i - 1], inner=widths[i],
                  in_channels=input_nc if i == 0 else widths[i - 1], outermost=i == 0,
                  innermost=i == depth - 1, norm=norm,
                  dropout=dropout and 4 <= i < depth - 1)
            for i in range(depth))
        self.multiple = 2**depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The activations run in place, as the reference's do: each overwrites a convolution's,
        # a norm's or a concatenation's output, none of which their backward needs, so a step
        # allocates one full-size tensor less per level and direction.
        h = self.levels[0].down(x)
        skips = []
        for level in self.levels[1:]:
            h = F.leaky_relu(h, 0.2, inplace=True)
            skips.append(h)
            h = level.down_norm(level.down(h))
        for i in reversed(range(len(self.levels))):
            level = self.levels[i]
            h = level.dropout(level.up_norm(level.up(F.relu(h, inplace=True))))
            if i > 0:
                h = torch.cat([skips[i - 1], h], dim=1)
        return torch.tanh(h)


class _PerImageNorm(nn.Module):
    """A BatchNorm2d that normalises each image with its own statistics (the batch statistics of
    a batch of one); the same as instance norm with the batch norm's affine parameters."""

    def __init__(self, norm: nn.BatchNorm2d):
        super().__init__()
        self.weight, self.bias, self.eps = norm.weight, norm.bias, norm.eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.instance_norm(x, weight=self.weight, bias=self.bias, eps=self.eps)


def _per_image_norm(net: nn.Module) -> nn.Module:
    net = copy.deepcopy(net)
    for module in list(net.modules()):
        for name, child in module.named_children():
            if isinstance(child, nn.BatchNorm2d):
                setattr(module, name, _PerImageNorm(child))
    return net


@contextlib.contextmanager
def _batch_statistics(module: nn.Module) -> Iterator[None]:
    """BatchNorm layers normalise with the statistics of the input itself, updating nothing."""
    norms = [m for m in module.modules() if isinstance(m, nn.BatchNorm2d)]
    saved = [(m.training, m.track_running_stats) for m in norms]
    for m in norms:
        m.training, m.track_running_stats = True, False
    try:
        yield
    finally:
        for m, (training, track) in zip(norms, saved, strict=True):
            m.training, m.track_running_stats = training, track


class Pix2Pix(Translator):
    """pix2pix: ``gen`` translates an input image into an output image; ``disc`` judges
    ``(input, output)`` pairs, stacked on the channel axis, patch by patch."""

    architecture = "pix2pix"
    generator_components = ("gen",)
    #: The U-Net runs x1.3-1.5 faster with channels_last weights in bf16 (without them bf16 is
    #: slower than fp32; benchmarks/RESULTS.md); translators in general (CycleGAN) do not gain.
    fast_channels_last = True

    def __init__(self, config: Pix2PixConfig):
        super().__init__(config)
        self.gen = UNet(input_nc=config.input_nc, output_nc=config.output_nc, depth=config.depth,
                        width=config.gen_width, norm=config.norm, dropout=config.dropout)
        pair = config.input_nc + config.output_nc
        if config.discriminator == "patch":
            self.disc = PatchDiscriminator(pair, width=config.disc_width,
                                           n_layers=config.disc_layers, norm=config.norm)
        else:
            self.disc = PixelDiscriminator(pair, width=config.disc_width, norm=config.norm)
        self.apply(init_normal)

    @property
    def multiple(self) -> int:
        """Input sides are padded to a multiple of this (``2**depth``) by :meth:`translate`."""
        return self.gen.multiple

    def generator(self, direction: str | None = None) -> nn.Module:
        """``gen``: pix2pix translates in one direction, ``"ab"`` (the recipe's
        ``[data] direction`` chose which side is the input when it was trained)."""
        self.check_direction(direction)
        return self.gen

    def channels(self, direction: str) -> tuple[int, int]:
        return self.config.input_nc, self.config.output_nc

    def input_error(self, direction: str, got: int) -> str:
        return f"pix2pix model takes {self.config.input_nc}-channel inputs, got {got} channels"

    def judge(self, source: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
        """The discriminator's patch logits for ``output`` as a translation of ``source``."""
        return self.disc(torch.cat([source, output], dim=1))

    def _per_image_statistics(self) -> bool:
        """Eval mode with ``test_norm = "batch"``: each image is normalised with its own batch
        norm statistics, as the reference's test script runs the official weights."""
        return not self.training and self.config.test_norm == "batch" and \
            self.config.norm == "batch"

    def run_gen(self, source: torch.Tensor) -> torch.Tensor:
        """``gen(source)``; in eval mode with ``test_norm = "batch"``, image by image with each
        image's own normalisation statistics (the reference's test-time behaviour)."""
        if not self._per_image_statistics():
            return self.gen(source)
        with _batch_statistics(self.gen):
            return torch.cat([self.gen(source[i:i + 1]) for i in range(len(source))])

    def run_generator(self, batch: torch.Tensor, direction: str) -> torch.Tensor:
        return self.run_gen(batch)

    def export_generator(self, direction: str) -> nn.Module:
        """``gen``; with per-image statistics its batch norms become instance norms with the
        same affine parameters (the same computation for a batch of one), which ONNX has."""
        return _per_image_norm(self.gen) if self._per_image_statistics() else self.gen

    def preview(self, n: int, *, seed: int, batch: dict | None = None) -> torch.Tensor:
        """Triplets (input, output, target) side by side, whole triplets per grid row.

        ``batch`` holds ``"source"`` and ``"target"``; without one, a seeded :meth:`example_batch`.
        """
        if batch is None:
            batch = self.example_batch(n, generator=torch.Generator().manual_seed(seed))
        source = batch["source"][:n].to(self.device)
        target = batch["target"][:n].to(self.device)
        channels = 3 if max(self.config.input_nc, self.config.output_nc) >= 3 else 1
        return self.tile_groups([source, self.translate(source), target], channels)

    def example_batch(self, batch_size: int, *, generator: torch.Generator | None = None) -> dict:
        cfg = self.config
        size = (cfg.resolution, cfg.resolution)
        return {"source": torch.rand(batch_size, cfg.input_nc, *size, generator=generator) * 2 - 1,
                "target": torch.rand(batch_size, cfg.output_nc, *size, generator=generator) * 2 - 1}
