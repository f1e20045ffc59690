"""Building blocks shared by architectures: normalisation choice, the usual GAN initialisation, the
convolution stacks of DCGAN (:func:`upsampling_stack`, :func:`downsampling_stack`), the
patch-level discriminators of pix2pix (Isola et al. 2017), reused by CycleGAN, and the residual
block of CycleGAN's ResNet generator (:class:`ResnetBlock`).

Layouts follow the reference implementation (junyanz/pytorch-CycleGAN-and-pix2pix) so that its
published weights load by position: every discriminator is one ``nn.Sequential`` named ``model``
(:class:`PatchDiscriminator`) or ``net`` (:class:`PixelDiscriminator`), the residual block one
named ``conv_block``. Discriminator outputs are logits.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

Norm = Literal["batch", "instance", "none"]
NORMS: tuple[str, ...] = ("batch", "instance", "none")


def norm_layer(kind: Norm, channels: int) -> nn.Module:
    """``"batch"``: BatchNorm2d (affine, running stats); ``"instance"``: InstanceNorm2d without
    affine parameters or running stats (the reference's choice); ``"none"``: identity."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"norm must be one of {', '.join(NORMS)}, got {kind!r}")


def conv_bias(kind: Norm) -> bool:
    """Whether a conv followed by ``kind`` needs its own bias: BatchNorm's shift makes it redundant."""
    return kind != "batch"


def upsampling_stack(*, z_dim: int, channels: int, resolution: int, width: int,
                     norm: Norm = "batch", bias: bool = False) -> nn.Sequential:
    """DCGAN's generator (Radford et al. 2015, figure 1): z ``[n, z_dim, 1, 1]`` -> 4x4 -> ... ->
    ``resolution``, doubling the size and halving the channels at each layer (``width`` channels
    before the last), ``norm`` + ReLU after each layer but the last, tanh at the end. Layers are
    positional (``0.weight``, ``1.weight`` ...); ``norm="none"`` leaves the norm layers out."""
    ups = resolution.bit_length() - 3  # log2(resolution) - 2
    assert ups >= 1 and resolution == 4 << ups, f"resolution must be 8, 16, 32 ..., got {resolution}"
    features = width * 2 ** (ups - 1)

    def block(into: int, out: int, *step: int) -> list[nn.Module]:
        layers: list[nn.Module] = [nn.ConvTranspose2d(into, out, 4, *step, bias=bias)]
        if norm != "none":
            layers.append(norm_layer(norm, out))
        return [*layers, nn.ReLU(True)]

    layers = block(z_dim, features, 1, 0)
    for _ in range(ups - 1):
        layers += block(features, features // 2, 2, 1)
        features //= 2
    layers += [nn.ConvTranspose2d(features, channels, 4, 2, 1, bias=bias), nn.Tanh()]
    return nn.Sequential(*layers)


def downsampling_stack(*, channels: int, resolution: int, width: int, norm: Norm = "batch",
                       bias: bool = False) -> nn.Sequential:
    """DCGAN's discriminator: image -> one logit per image (``[n]``), halving the size and
    doubling the channels (from ``width``) at each layer; LeakyReLU(0.2) throughout, no norm on
    the first layer, ``norm="none"`` for none at all (WGAN-GP's critic)."""
    downs = resolution.bit_length() - 3
    assert downs >= 1 and resolution == 4 << downs, (
        f"resolution must be 8, 16, 32 ..., got {resolution}")
    layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1, bias=bias),
                               nn.LeakyReLU(0.2, True)]
    for _ in range(downs - 1):
        layers.append(nn.Conv2d(width, width * 2, 4, 2, 1, bias=bias))
        if norm != "none":
            layers.append(norm_layer(norm, width * 2))
        layers.append(nn.LeakyReLU(0.2, True))
        width *= 2
    layers += [nn.Conv2d(width, 1, 4, 1, 0, bias=bias), nn.Flatten(0)]
    return nn.Sequential(*layers)


def init_normal(module: nn.Module, std: float = 0.02) -> None:
    """The DCGAN/pix2pix init, for ``model.apply``: conv and linear weights from N(0, std), biases
    0; BatchNorm scales from N(1, std), shifts 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, std)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, std)
        nn.init.zeros_(module.bias)


def patch_receptive_field(n_layers: int) -> int:
    """Receptive field (pixels) of one output of :class:`PatchDiscriminator` with ``n_layers``:
    16, 34, 70 (the default), 142, 286 for 1..5."""
    field = 1
    for stride in [1, 1] + [2] * n_layers:  # walk back from the logit: 4x4 convs, stride 1, 1, 2...
        field = field * stride + (4 - stride)
    return field


class PatchDiscriminator(nn.Module):
    """PatchGAN: a fully convolutional net giving one logit per overlapping image patch.

    ``n_layers`` stride-2 convolutions (width ``width``, doubling up to 8x), then a stride-1 conv
    and a stride-1 logit conv, all 4x4 with LeakyReLU(0.2); no norm on the first layer. With
    ``n_layers=3`` each logit sees a 70x70 patch. The output is ``[N, 1, h, w]``.
    """

    def __init__(self, in_channels: int, *, width: int = 64, n_layers: int = 3,
                 norm: Norm = "batch"):
        super().__init__()
        assert n_layers >= 1, f"n_layers must be at least 1, got {n_layers}"
        bias = conv_bias(norm)
        layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 4, 2, 1),
                                   nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2**n, 8)
            stride = 2 if n < n_layers else 1
            layers += [nn.Conv2d(width * prev, width * mult, 4, stride, 1, bias=bias),
                       norm_layer(norm, width * mult), nn.LeakyReLU(0.2, True)]
        layers.append(nn.Conv2d(width * mult, 1, 4, 1, 1))
        self.model = nn.Sequential(*layers)
        self.receptive_field = patch_receptive_field(n_layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class PixelDiscriminator(nn.Module):
    """A 1x1 PatchGAN: one logit per pixel, judging colour statistics only (``[N, 1, H, W]``)."""

    def __init__(self, in_channels: int, *, width: int = 64, norm: Norm = "batch"):
        super().__init__()
        bias = conv_bias(norm)
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, width, 1), nn.LeakyReLU(0.2, True),
            nn.Conv2d(width, width * 2, 1, bias=bias), norm_layer(norm, width * 2),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(width * 2, 1, 1, bias=bias),
        )
        self.receptive_field = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


Padding = Literal["reflect", "replicate", "zero"]
PADDINGS: tuple[str, ...] = ("reflect", "replicate", "zero")


class ResnetBlock(nn.Module):
    """``x + conv_block(x)``: pad, 3x3 conv, norm, ReLU, (dropout 0.5), pad, 3x3 conv, norm.

    The reference's ``ResnetBlock`` (Johnson et al. 2016, as CycleGAN uses it), same positions in
    ``conv_block`` so its weights load by key: with ``"reflect"`` or ``"replicate"`` padding the
    convolutions sit at 1 and 5 (6 with dropout), with ``"zero"`` (padding inside the conv) at 0
    and 3 (4). ``bias`` follows :func:`conv_bias` unless given.
    """

    def __init__(self, channels: int, *, norm: Norm = "instance", padding: Padding = "reflect",
                 dropout: bool = False, bias: bool | None = None):
        super().__init__()
        if padding not in PADDINGS:
            raise ValueError(f"padding must be one of {', '.join(PADDINGS)}, got {padding!r}")
        bias = conv_bias(norm) if bias is None else bias

        def conv() -> list[nn.Module]:
            if padding == "zero":
                return [nn.Conv2d(channels, channels, 3, padding=1, bias=bias)]
            pad = nn.ReflectionPad2d(1) if padding == "reflect" else nn.ReplicationPad2d(1)
            return [pad, nn.Conv2d(channels, channels, 3, padding=0, bias=bias)]

        layers = [*conv(), norm_layer(norm, channels), nn.ReLU(True)]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers += [*conv(), norm_layer(norm, channels)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)
