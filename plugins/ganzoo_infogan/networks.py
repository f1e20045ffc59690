"""InfoGAN's networks (Chen et al. 2016, appendix C.1, the MNIST networks).

- generator: ``[z, one_hot(code), c]`` → FC ``hidden`` → FC ``2w × (r/4)²`` → 4×4 up-conv ``w``
  → 4×4 up-conv to the image, batch norm and ReLU between, tanh out;
- discriminator: a trunk shared by two heads, 4×4 conv ``w`` → 4×4 conv ``2w`` (batch norm) →
  FC ``hidden`` (batch norm), LeakyReLU(0.1) throughout; the adversarial head is one linear
  logit, the Q head FC ``q_hidden`` (batch norm, LeakyReLU) → the code logits, the continuous
  codes' means (and log standard deviations with ``q_std = "learned"``). Every output is raw: no
  softmax or sigmoid inside the networks.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import nn

from ganzoo import ContinuousInput, DiscreteInput, GanzooError, LatentGenerator
from ganzoo.nn.blocks import init_normal

from .config import InfoGANConfig


class CodeError(GanzooError, ValueError):
    """A code or continuous input that does not fit the model (value, shape or count)."""


class Generator(nn.Module):
    """``(z, code, c)`` → image; ``code`` (int64 ``[n]``) enters one-hot."""

    def __init__(self, cfg: InfoGANConfig):
        super().__init__()
        self.categories = cfg.categories
        side = cfg.resolution // 4
        width = cfg.gen_width
        self.side, self.width = side, 2 * width
        self.fc = nn.Sequential(
            nn.Linear(cfg.z_dim + cfg.categories + cfg.continuous, cfg.hidden, bias=False),
            nn.BatchNorm1d(cfg.hidden), nn.ReLU(True),
            nn.Linear(cfg.hidden, 2 * width * side * side, bias=False),
            nn.BatchNorm1d(2 * width * side * side), nn.ReLU(True))
        self.up = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False),
            nn.BatchNorm2d(width), nn.ReLU(True),
            nn.ConvTranspose2d(width, cfg.channels, 4, 2, 1), nn.Tanh())
        # The one-hot table as a buffer: an index into it exports to ONNX as a Gather.
        self.register_buffer("one_hot", torch.eye(cfg.categories), persistent=False)

    def forward(self, z: torch.Tensor, code: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        x = torch.cat([z, self.one_hot[code].to(z.dtype), c.to(z.dtype)], dim=1)
        return self.up(self.fc(x).view(-1, self.width, self.side, self.side))


class Heads(NamedTuple):
    """The discriminator's outputs for a batch: ``logits [n]`` (real vs fake), ``code_logits
    [n, K]``, ``c_mean [n, C]`` and ``c_log_std [n, C]`` (``None`` when the std is fixed)."""

    logits: torch.Tensor
    code_logits: torch.Tensor
    c_mean: torch.Tensor
    c_log_std: torch.Tensor | None


class Discriminator(nn.Module):
    """Image → :class:`Heads`; ``disc(images)`` alone is the adversarial logit ``[n]``."""

    def __init__(self, cfg: InfoGANConfig):
        super().__init__()
        width, side = cfg.disc_width, cfg.resolution // 4
        self.categories, self.continuous = cfg.categories, cfg.continuous
        norm = cfg.disc_batch_norm  # without batch norm the layers before it get a bias
        self.trunk = nn.Sequential(
            nn.Conv2d(cfg.channels, width, 4, 2, 1), nn.LeakyReLU(0.1, True),
            nn.Conv2d(width, 2 * width, 4, 2, 1, bias=not norm),
            *([nn.BatchNorm2d(2 * width)] if norm else []), nn.LeakyReLU(0.1, True), nn.Flatten(),
            nn.Linear(2 * width * side * side, cfg.hidden, bias=not norm),
            *([nn.BatchNorm1d(cfg.hidden)] if norm else []), nn.LeakyReLU(0.1, True))
        self.logit = nn.Linear(cfg.hidden, 1)
        outputs = cfg.categories + cfg.continuous * (2 if cfg.q_std == "learned" else 1)
        self.q = nn.Sequential(
            nn.Linear(cfg.hidden, cfg.q_hidden, bias=False),
            nn.BatchNorm1d(cfg.q_hidden), nn.LeakyReLU(0.1, True),
            nn.Linear(cfg.q_hidden, outputs))

    def spectral_norm_trunk(self) -> None:
        """Spectral normalisation on the trunk's conv and linear weights (after their init:
        the parametrization then normalises the initialised weights)."""
        from torch.nn.utils.parametrizations import spectral_norm

        for layer in self.trunk:
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                spectral_norm(layer)

    def heads(self, images: torch.Tensor) -> Heads:
        """Both heads on one pass of the trunk."""
        features = self.trunk(images)
        q = self.q(features)
        k, c = self.categories, self.continuous
        log_std = q[:, k + c:] if q.shape[1] > k + c else None
        return Heads(self.logit(features).flatten(), q[:, :k], q[:, k:k + c], log_std)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.logit(self.trunk(images)).flatten()


class Inputs(NamedTuple):
    """One draw of the generator's inputs: ``z [n, z_dim]``, ``code [n]``, ``c [n, C]``."""

    z: torch.Tensor
    code: torch.Tensor
    c: torch.Tensor


class InfoGAN(LatentGenerator):
    architecture = "infogan"
    generator_components = ("gen",)
    #: The model card's command: the paper's traversal figure (a row per z, a column per code).
    command = "ganzoo sample {model} --vary code -n 100 -o code-traversal.png"

    def __init__(self, config: InfoGANConfig):
        super().__init__(config)
        self.gen = Generator(config)
        self.disc = Discriminator(config)
        self.apply(init_normal)
        if config.disc_spectral_norm:
            self.disc.spectral_norm_trunk()

    # -- the declared inputs ------------------------------------------------------------------
    def inputs(self) -> tuple:
        cfg = self.config
        declared = [DiscreteInput(name="code", count=cfg.categories,
                                  summary="categorical code (unsupervised; on digits, the class)")]
        if cfg.continuous:
            declared.append(ContinuousInput(
                name="c", size=cfg.continuous, low=-2.0, high=2.0,
                summary="continuous codes, drawn from U(-1, 1) in training"))
        return tuple(declared)

    def _draw_z(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        shape, device = (n, self.config.z_dim), self.device
        if self.config.z_prior == "uniform":
            return torch.rand(shape, device=device, generator=generator) * 2 - 1
        return torch.randn(shape, device=device, generator=generator)

    def sample_latent(self, n: int, *, seed: int | None = None) -> torch.Tensor:
        """``n`` draws of z from ``[model] z_prior``: N(0, I) or U(-1, 1)."""
        return self._draw_z(n, self.seeded(seed, self.device))

    def sample_inputs(self, n: int, *, seed: int | None = None) -> Inputs:
        """z ~ ``z_prior`` (N(0, I) or U(-1, 1)), code ~ uniform over the categories,
        c ~ U(-1, 1): the paper's priors.

        z comes first from the seeded generator, so ``sample_inputs(n, seed=s).z`` equals
        ``sample_latent(n, seed=s)``."""
        cfg, device = self.config, self.device
        generator = self.seeded(seed, device)
        z = self._draw_z(n, generator)
        code = torch.randint(0, cfg.categories, (n,), device=device, generator=generator)
        c = torch.rand(n, cfg.continuous, device=device, generator=generator) * 2 - 1
        return Inputs(z, code, c)

    def code_tensor(self, code: Sequence[int] | torch.Tensor, n: int) -> torch.Tensor:
        """``code`` as int64 ``[n]`` on the model's device; a :class:`CodeError` names a bad one."""
        if isinstance(code, torch.Tensor) and code.dim() != 1:
            raise CodeError(f"code must be one-dimensional, got shape {tuple(code.shape)}")
        values = code.tolist() if isinstance(code, torch.Tensor) else list(code)
        for value in values:
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise CodeError(f"code values must be integers, got {value!r}")
            if not 0 <= value < self.config.categories:
                raise CodeError(f"code {value} is out of range: valid codes are 0 to "
                                f"{self.config.categories - 1} (categories = "
                                f"{self.config.categories})")
        if len(values) != n:
            raise CodeError(f"got {len(values)} code values for n = {n} images")
        return torch.tensor(values, dtype=torch.long, device=self.device)

    def continuous_tensor(self, c: Sequence | torch.Tensor, n: int) -> torch.Tensor:
        """``c`` as float ``[n, C]`` on the model's device; a :class:`CodeError` names the shape."""
        size = self.config.continuous
        c = torch.as_tensor(c, dtype=torch.float32, device=self.device)
        if tuple(c.shape) != (n, size):
            raise CodeError(f"c must have shape [n, {size}] = [{n}, {size}] (continuous = "
                            f"{size}), got {list(c.shape)}")
        if not torch.isfinite(c).all():
            raise CodeError("c must be finite numbers")
        return c

    # -- generation ---------------------------------------------------------------------------
    def generate(self, n: int, *, seed: int | None = None, z: torch.Tensor | None = None,
                 code: Sequence[int] | torch.Tensor | None = None,
                 c: Sequence | torch.Tensor | None = None) -> torch.Tensor:
        """``n`` images; each of ``z``, ``code``, ``c`` not given is drawn from its prior with
        ``seed`` (so fixing one and leaving the others to the seed varies only that one)."""
        drawn = self.sample_inputs(n, seed=seed)
        if z is not None and tuple(z.shape[:1]) + (z[0].numel() if len(z) else 0,) != (
                n, self.config.z_dim):
            raise CodeError(f"z must have shape [n, z_dim] = [{n}, {self.config.z_dim}], got "
                            f"{list(z.shape)}")
        z = drawn.z if z is None else z.to(self.device).reshape(n, self.config.z_dim)
        code = drawn.code if code is None else self.code_tensor(code, n)
        c = drawn.c if c is None else self.continuous_tensor(c, n)
        return self.gen(z, code, c)

    def preview(self, n: int, *, seed: int, batch: dict | None = None) -> torch.Tensor:
        """Row r shows code ``r % categories``; column j shares one z across rows; c = 0.

        With ``sample_count = 100`` and 10 categories, a 10×10 grid of the ten code values."""
        per_row = max(1, math.ceil(math.sqrt(n)))
        index = torch.arange(n, device=self.device)
        code = (index // per_row) % self.config.categories
        z = self.sample_latent(per_row, seed=seed)[index % per_row]
        c = torch.zeros(n, self.config.continuous, device=self.device)
        return self.gen(z, code, c)

    def example_batch(self, batch_size: int, *, generator: torch.Generator | None = None) -> dict:
        cfg = self.config
        shape = (batch_size, cfg.channels, cfg.resolution, cfg.resolution)
        return {"image": torch.rand(shape, generator=generator) * 2 - 1}

    @classmethod
    def usage(cls, load_name: str, config: InfoGANConfig | None = None) -> str:
        """The card's snippet: one image per value of the categorical code, then one code value
        with a continuous code stepped through its range."""
        cfg = config or InfoGANConfig()
        k = cfg.categories
        lines = ["import torch", "", "import ganzoo", "", f'model = ganzoo.load("{load_name}")',
                 "# One image per value of the categorical code (on digits it learns the class,",
                 "# without labels; docs/infogan.md has the measured matching accuracy).",
                 f"images = model.generate({k}, seed=0, code=list(range({k})))"
                 f"   # [{k}, C, H, W] in [-1, 1]"]
        if cfg.continuous:
            lines += ["# Code 0 with one z, continuous code c1 from -2 to 2 (trained on U(-1, 1)):",
                      f"c = torch.zeros(8, {cfg.continuous})",
                      "c[:, 0] = torch.linspace(-2, 2, 8)",
                      "z = model.sample_latent(1, seed=0).expand(8, -1)",
                      "steps = model.generate(8, z=z, code=[0] * 8, c=c)"]
        return "\n".join(lines) + "\n"

    # -- export -------------------------------------------------------------------------------
    def onnx_export_spec(self, *, direction: str | None = None, batch: int | None = None):
        """Inputs ``z`` ``[batch, z_dim]`` (from ``z_prior``), ``code`` int64 ``[batch]`` (0 to
        K-1) and (with continuous codes) ``c`` ``[batch, C]``; output the image in [-1, 1]."""
        from ganzoo.apps.export import DynamicAxis, ExportError, OnnxSpec

        if direction is not None:
            raise ExportError(f"direction {direction!r}: InfoGAN has a single generator; a "
                              "direction is only for two-way models such as CycleGAN")
        cfg = self.config
        traced, checked = (2, (3, 1)) if batch is None else (batch, (batch,))
        axis = {} if batch is not None else {0: DynamicAxis("batch")}
        rng = torch.Generator().manual_seed(0)
        has_c = cfg.continuous > 0
        names = ("z", "code", *(("c",) if has_c else ()))

        def inputs(n: int) -> tuple[torch.Tensor, ...]:
            z = torch.randn(n, cfg.z_dim, generator=rng)
            code = torch.randint(0, cfg.categories, (n,), generator=rng)
            c = torch.rand(n, cfg.continuous, generator=rng) * 4 - 2
            return tuple(t.to(self.device) for t in (z, code, *((c,) if has_c else ())))

        def reference(z, code, c=None):
            return self.generate(len(z), z=z, code=code, **({"c": c} if has_c else {}))

        prior = "U(-1, 1)" if cfg.z_prior == "uniform" else "N(0, I)"
        c_doc = f", c [batch, {cfg.continuous}] (trained on U(-1, 1))" if has_c else ""
        return OnnxSpec(
            module=_CodeExport(self.gen, cfg.continuous), input_names=names,
            example_inputs=inputs(traced), dynamic_axes={name: axis for name in names},
            check_inputs=tuple(inputs(n) for n in checked), reference=reference,
            doc=f"InfoGAN generator: z [batch, {cfg.z_dim}] ~ {prior}, code [batch] (int64, 0 "
                f"to {cfg.categories - 1}){c_doc} -> image [batch, {cfg.channels}, "
                f"{cfg.resolution}, {cfg.resolution}] in [-1, 1].",
            metadata={"z_dim": str(cfg.z_dim), "categories": str(cfg.categories),
                      "continuous": str(cfg.continuous)})


class _CodeExport(nn.Module):
    """``gen(z, code, c)``, with an empty ``c`` made inside when the model has no continuous
    codes; holds only the generator, so only its weights are exported."""

    def __init__(self, gen: Generator, continuous: int):
        super().__init__()
        self.gen, self.continuous = gen, continuous

    def forward(self, z: torch.Tensor, code: torch.Tensor, c: torch.Tensor | None = None
                ) -> torch.Tensor:
        if c is None:
            c = z.new_zeros(z.shape[0], 0)
        return self.gen(z, code, c)
