"""Conditional generator and discriminators (Mirza & Osindero 2014 on DCGAN's networks).

The label y enters both networks through a learned embedding:

- generator: ``[z, embed(y)]`` is the input of DCGAN's transposed-conv stack;
- ``"concat"`` discriminator: ``embed(y)`` is broadcast over the image and concatenated to it as
  extra input channels, then DCGAN's discriminator (the usual convolutional form of the paper's
  joint input);
- ``"projection"`` discriminator (Miyato & Koyama 2018): a label-free DCGAN trunk ``phi(x)``
  down to 4×4, then ``logit = psi(phi(x)) + <embed(y), sum_hw phi(x)>``, with ``psi`` DCGAN's
  4×4 logit conv. AC-GAN's classifier head (Odena et al. 2017) reads ``phi(x)``, which never sees
  the label it has to predict; that is why it needs this discriminator.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import torch
from torch import nn

from ganzoo import ConditionalGenerator
from ganzoo.nn.blocks import init_normal

from .config import CGANConfig


class Generator(nn.Module):
    """``(z, y)`` → image: ``[z, embed(y)]`` → 4×4 → ... → resolution, tanh output."""

    def __init__(self, cfg: CGANConfig):
        super().__init__()
        self.embed = nn.Embedding(cfg.num_classes, cfg.embed_dim)
        ups = int(math.log2(cfg.resolution)) - 2
        width = cfg.gen_width * 2 ** (ups - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(cfg.z_dim + cfg.embed_dim, width, 4, 1, 0, bias=False),
            nn.BatchNorm2d(width), nn.ReLU(True),
        ]
        for _ in range(ups - 1):
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(width // 2), nn.ReLU(True)]
            width //= 2
        layers += [nn.ConvTranspose2d(width, cfg.channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        code = torch.cat([z.flatten(1), self.embed(labels).to(z.dtype)], dim=1)
        return self.net(code[:, :, None, None])


class Discriminator(nn.Module):
    """``(x, y)`` → one logit per image; with ``aux_classifier`` also class logits from ``phi(x)``.

    ``disc(x, y)`` is the adversarial logit; :meth:`heads` returns it with the class logits (or
    ``None``), running the trunk once.
    """

    def __init__(self, cfg: CGANConfig):
        super().__init__()
        self.kind = cfg.discriminator
        label_channels = cfg.embed_dim if self.kind == "concat" else 0
        downs = int(math.log2(cfg.resolution)) - 2
        width = cfg.disc_width
        layers: list[nn.Module] = [
            nn.Conv2d(cfg.channels + label_channels, width, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, True),
        ]
        for _ in range(downs - 1):
            layers += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(width * 2), nn.LeakyReLU(0.2, True)]
            width *= 2
        self.trunk = nn.Sequential(*layers)  # [n, width, 4, 4]; phi(x) for "projection"
        if self.kind == "concat":
            self.embed = nn.Embedding(cfg.num_classes, cfg.embed_dim)
        else:
            self.embed = nn.Embedding(cfg.num_classes, width)
            # Part of the logit layer, so initialised like it (init_normal leaves embeddings).
            nn.init.normal_(self.embed.weight, 0.0, 0.02)
        self.logit = nn.Conv2d(width, 1, 4, 1, 0, bias=False)  # psi
        self.classify_head = (nn.Conv2d(width, cfg.num_classes, 4, 1, 0)
                              if cfg.aux_classifier else None)

    def heads(self, images: torch.Tensor, labels: torch.Tensor
              ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(logits [n], class_logits [n, num_classes] or None)`` for images of class ``labels``."""
        embedded = self.embed(labels).to(images.dtype)
        if self.kind == "concat":
            label_maps = embedded[:, :, None, None].expand(-1, -1, *images.shape[2:])
            return self.logit(self.trunk(torch.cat([images, label_maps], dim=1))).flatten(), None
        features = self.trunk(images)
        pooled = features.sum(dim=(2, 3))  # Miyato & Koyama's global sum pooling
        logits = self.logit(features).flatten() + (embedded * pooled).sum(dim=1)
        classes = None if self.classify_head is None else self.classify_head(features).flatten(1)
        return logits, classes

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.heads(images, labels)[0]

    def classify(self, images: torch.Tensor) -> torch.Tensor:
        """AC-GAN's class logits ``[n, num_classes]``, from the image alone."""
        if self.classify_head is None:
            raise RuntimeError("this discriminator has no classifier head; build it with "
                               "aux_classifier = true")
        return self.classify_head(self.trunk(images)).flatten(1)


class CGAN(ConditionalGenerator):
    architecture = "cgan"
    #: Measured (benchmarks/RESULTS.md, channels_last in training): x1.1-1.2 faster in bf16,
    #: x1.09 in fp32 (AVX2), at the 32x32 standard configuration.
    train_channels_last = True
    generator_components = ("gen",)

    def __init__(self, config: CGANConfig):
        super().__init__(config)
        self.gen = Generator(config)
        self.disc = Discriminator(config)
        self.apply(init_normal)  # DCGAN's N(0, 0.02); embeddings keep N(0, 1)

    @property
    def num_classes(self) -> int:
        return self.config.num_classes

    def sample_latent(self, n: int, *, seed: int | None = None) -> torch.Tensor:
        """``n`` latent vectors z ~ N(0, I), shaped ``[n, z_dim]``."""
        generator = self.seeded(seed, self.device)
        return torch.randn(n, self.config.z_dim, device=self.device, generator=generator)

    def labels_tensor(self, labels: Sequence[int] | torch.Tensor) -> torch.Tensor:
        """``labels`` as a long tensor on the model's device; a ValueError names a bad label."""
        if isinstance(labels, torch.Tensor) and labels.dim() != 1:
            raise ValueError(f"labels must be one-dimensional, got shape {tuple(labels.shape)}")
        values = labels.tolist() if isinstance(labels, torch.Tensor) else list(labels)
        for i, value in enumerate(values):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise ValueError(f"labels must be integers, got {value!r}")
            values[i] = value = int(value)
            if not 0 <= value < self.num_classes:
                raise ValueError(f"label {value} is out of range: valid labels are 0 to "
                                 f"{self.num_classes - 1} (num_classes = {self.num_classes})")
        return torch.tensor(values, dtype=torch.long, device=self.device)

    def generate(self, n: int, *, seed: int | None = None,
                 labels: Sequence[int] | torch.Tensor | None = None,
                 z: torch.Tensor | None = None) -> torch.Tensor:
        """``n`` images of classes ``labels`` (default: 0, 1, ..., num_classes - 1, 0, 1, ...)."""
        if labels is None:
            y = torch.arange(n, device=self.device) % self.num_classes
        else:
            y = self.labels_tensor(labels)
            if len(y) != n:
                raise ValueError(f"got {len(y)} labels for n = {n} images")
        if z is None:
            z = self.sample_latent(n, seed=seed)
        return self.gen(z.to(self.device), y)

    def preview(self, n: int, *, seed: int, batch: dict | None = None) -> torch.Tensor:
        """A grid whose row r shows class ``r % num_classes``; column c shares one z across rows.

        Rows are those of ganzoo's default grid layout (``ceil(sqrt(n))`` images a row), so
        ``sample_count = 100`` shows the ten digits 0-9 top to bottom.
        """
        per_row = max(1, math.ceil(math.sqrt(n)))
        index = torch.arange(n, device=self.device)
        labels = (index // per_row) % self.num_classes
        z = self.sample_latent(per_row, seed=seed)[index % per_row]
        return self.gen(z, labels)

    def example_batch(self, batch_size: int, *, generator: torch.Generator | None = None) -> dict:
        cfg = self.config
        shape = (batch_size, cfg.channels, cfg.resolution, cfg.resolution)
        return {"image": torch.rand(shape, generator=generator) * 2 - 1,
                "label": torch.randint(0, cfg.num_classes, (batch_size,), generator=generator)}
