"""CycleGAN's networks (Zhu et al. 2017): two ResNet generators and two PatchGAN discriminators.

:class:`ResnetGenerator` has the reference's layout (junyanz/pytorch-CycleGAN-and-pix2pix,
``models/networks.py``): one ``nn.Sequential`` called ``model`` whose positions are, for ``n``
residual blocks::

    0 pad(3)  1 conv 7x7 -> w     2 norm  3 relu
    4 conv 3x3/2 -> 2w            5 norm  6 relu
    7 conv 3x3/2 -> 4w            8 norm  9 relu
    10 .. 9+n  ResnetBlock(4w)    (ganzoo.nn.blocks.ResnetBlock, reflection padding by default)
    10+n convT 3x3/2 -> 2w        11+n norm  12+n relu
    13+n convT 3x3/2 -> w         14+n norm  15+n relu
    16+n pad(3)  17+n conv 7x7 -> output_nc (with bias)  18+n tanh

so the official ``latest_net_G.pth`` files load by key (``ganzoo_cyclegan.convert``). Convs
followed by instance norm have biases, those followed by batch norm do not.
"""

from __future__ import annotations

import torch
from torch import nn

from ganzoo import Translator
from ganzoo.nn.blocks import PatchDiscriminator, ResnetBlock, conv_bias, init_normal, norm_layer
from ganzoo.base.errors import GanzooError

from .config import CycleGANConfig

DIRECTIONS = ("ab", "ba")


class ResnetGenerator(nn.Module):
    """``[N, input_nc, H, W]`` -> ``[N, output_nc, H, W]`` in [-1, 1]; H and W multiples of 4."""

    multiple = 4

    def __init__(self, *, input_nc: int, output_nc: int, width: int = 64, blocks: int = 9,
                 norm: str = "instance", padding: str = "reflect", dropout: bool = False):
        super().__init__()
        bias = conv_bias(norm)
        layers: list[nn.Module] = [nn.ReflectionPad2d(3),
                                   nn.Conv2d(input_nc, width, 7, padding=0, bias=bias),
                                   norm_layer(norm, width), nn.ReLU(True)]
        for mult in (1, 2):  # two stride-2 downsamplings
            layers += [nn.Conv2d(width * mult, width * mult * 2, 3, stride=2, padding=1,
                                 bias=bias),
                       norm_layer(norm, width * mult * 2), nn.ReLU(True)]
        layers += [ResnetBlock(width * 4, norm=norm, padding=padding, dropout=dropout, bias=bias)
                   for _ in range(blocks)]
        for mult in (4, 2):  # and back up
            layers += [nn.ConvTranspose2d(width * mult, width * mult // 2, 3, stride=2, padding=1,
                                          output_padding=1, bias=bias),
                       norm_layer(norm, width * mult // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, output_nc, 7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class CycleGAN(Translator):
    """CycleGAN: ``gen_ab`` translates domain A into domain B and ``gen_ba`` back; ``disc_a`` and
    ``disc_b`` judge, patch by patch, whether an image is a real one of their domain."""

    architecture = "cyclegan"
    generator_components = ("gen_ab", "gen_ba")

    def __init__(self, config: CycleGANConfig):
        super().__init__(config)
        cfg = config
        common = {"width": cfg.gen_width, "blocks": cfg.blocks, "norm": cfg.norm,
                  "padding": cfg.padding, "dropout": cfg.dropout}
        self.gen_ab = ResnetGenerator(input_nc=cfg.input_nc, output_nc=cfg.output_nc, **common)
        if cfg.one_way:
            # a converted official generator: A -> B only (the instance attribute shadows the
            # class's, so bundles, EMA and loading see one generator)
            self.generator_components = ("gen_ab",)
        else:
            self.gen_ba = ResnetGenerator(input_nc=cfg.output_nc, output_nc=cfg.input_nc,
                                          **common)
            disc = {"width": cfg.disc_width, "n_layers": cfg.disc_layers, "norm": cfg.norm}
            self.disc_a = PatchDiscriminator(cfg.input_nc, **disc)
            self.disc_b = PatchDiscriminator(cfg.output_nc, **disc)
        self.apply(init_normal)

    #: Input sides are padded to a multiple of 4 (and at least 8: instance norm needs more
    #: than one value at the 1/4 scale) by :meth:`translate`.
    multiple = ResnetGenerator.multiple
    min_side = 8

    @property
    def directions(self) -> tuple[str, ...]:
        """``("ab", "ba")``, or ``("ab",)`` for a one-way (converted) model."""
        return ("ab",) if self.config.one_way else DIRECTIONS

    def generator(self, direction: str | None = None) -> nn.Module:
        """``gen_ab`` for ``"ab"`` (the default), ``gen_ba`` for ``"ba"``."""
        direction = direction or "ab"
        if direction not in DIRECTIONS:
            raise GanzooError(f"direction must be 'ab' (A -> B) or 'ba' (B -> A), got "
                              f"{direction!r}")
        if direction not in self.directions:
            raise GanzooError("this CycleGAN model holds only the A -> B generator (a converted "
                              "official release has one direction per file: load the reverse "
                              "one, e.g. cyclegan-zebra2horse for cyclegan-horse2zebra)")
        return self.gen_ab if direction == "ab" else self.gen_ba

    def channels(self, direction: str) -> tuple[int, int]:
        cfg = self.config
        return (cfg.input_nc, cfg.output_nc) if direction == "ab" else (cfg.output_nc,
                                                                         cfg.input_nc)

    def input_error(self, direction: str, got: int) -> str:
        domain = "A" if direction == "ab" else "B"
        return (f"this CycleGAN model's domain {domain} images have "
                f"{self.channels(direction)[0]} channels ([model] "
                f"{'input_nc' if domain == 'A' else 'output_nc'}), got {got}")

    def preview(self, n: int, *, seed: int, batch: dict | None = None) -> torch.Tensor:
        """For each of ``n`` held-out pairs, six tiles in a row: A, A -> B, A -> B -> A, then B,
        B -> A, B -> A -> B (one-way models: A and A -> B).

        ``batch`` holds ``"a"`` and ``"b"``; without one, a seeded :meth:`example_batch`.
        """
        if batch is None:
            batch = self.example_batch(n, generator=torch.Generator().manual_seed(seed))
        a = batch["a"][:n].to(self.device)
        ab = self.translate(a)
        groups = [a, ab]
        if not self.config.one_way:
            b = batch["b"][:n].to(self.device)
            ba = self.translate(b, direction="ba")
            groups = [a, ab, self.translate(ab, direction="ba"),
                      b, ba, self.translate(ba, direction="ab")]
        channels = 3 if max(self.config.input_nc, self.config.output_nc) >= 3 else 1
        return self.tile_groups(groups, channels)

    def example_batch(self, batch_size: int, *, generator: torch.Generator | None = None) -> dict:
        cfg = self.config
        size = (cfg.resolution, cfg.resolution)
        return {"a": torch.rand(batch_size, cfg.input_nc, *size, generator=generator) * 2 - 1,
                "b": torch.rand(batch_size, cfg.output_nc, *size, generator=generator) * 2 - 1}
