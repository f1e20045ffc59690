"""Model kinds: what a tool may ask of a model, by its class rather than by strings.

Every architecture's model derives from one of these (all are :class:`ganzoo.GANModel`):

- :class:`LatentGenerator`: images from a latent vector z (DCGAN, the MLP GAN, InfoGAN ...).
  Extra inputs beside z (a class, an InfoGAN code) are declared by :meth:`~LatentGenerator.inputs`
  so tools can vary them without knowing the architecture (traversal grids, the demo page).
- :class:`ConditionalGenerator`: a latent generator with one class label per image.
- :class:`TextToImage`: a latent generator conditioned on captions.
- :class:`Translator`: image-to-image models, one or more directions.
- :class:`Upscaler`: super-resolution models.

Tools (the CLI, export, the demo page, the model card, editors, metrics) dispatch with
``isinstance`` on these classes; a plugin whose model fits none derives from
:class:`ganzoo.GANModel` directly and gets only what every model has.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import torch

from .model import GANModel


@attrs.frozen(kw_only=True)
class DiscreteInput:
    """A generator input that takes one of ``count`` values per image (a class, a categorical
    code), passed to ``generate`` as a keyword argument named ``name`` (ints ``[n]``)."""

    name: str
    count: int
    summary: str = ""


@attrs.frozen(kw_only=True)
class ContinuousInput:
    """A generator input of ``size`` real values per image (InfoGAN's continuous codes), passed to
    ``generate`` as ``name`` (floats ``[n, size]``); ``low``/``high`` bound a traversal."""

    name: str
    size: int = 1
    low: float = -2.0
    high: float = 2.0
    summary: str = ""


ModelInput = DiscreteInput | ContinuousInput


class LatentGenerator(GANModel):
    """Draws images from z ~ the prior (``sample_latent``)."""

    kind: ClassVar[str] = "latent-generator"

    @property
    def z_dim(self) -> int:
        """Number of latent dimensions (``[model] z_dim`` by default)."""
        return int(self.config.z_dim)

    def sample_latent(self, n: int, *, seed: int | None = None) -> torch.Tensor:
        """``n`` latent vectors from the prior, ``[n, z_dim]`` (N(0, I) by default)."""
        generator = self.seeded(seed, self.device)
        return torch.randn(n, self.z_dim, device=self.device, generator=generator)

    def inputs(self) -> tuple[ModelInput, ...]:
        """The generator's inputs beside z, each a keyword argument of :meth:`generate`."""
        return ()

    def generate(self, n: int, *, seed: int | None = None, z: torch.Tensor | None = None,
                 **inputs: Any) -> torch.Tensor:
        """``n`` images in [-1, 1], ``[n, C, H, W]``. ``z`` (``[n, z_dim]``) overrides the seeded
        draw; ``inputs`` are those :meth:`inputs` declares (defaults drawn or fixed per model)."""
        raise NotImplementedError(f"{type(self).__name__} must implement generate")


class ConditionalGenerator(LatentGenerator):
    """A latent generator with a class label per image (``generate(n, labels=[...])``)."""

    kind: ClassVar[str] = "conditional-generator"

    @property
    def num_classes(self) -> int:
        return int(self.config.num_classes)

    def inputs(self) -> tuple[ModelInput, ...]:
        return (DiscreteInput(name="labels", count=self.num_classes, summary="class label"),)


class TextToImage(LatentGenerator):
    """A latent generator conditioned on captions (``generate(n, text=[...])``)."""

    kind: ClassVar[str] = "text-to-image"


class Translator(GANModel):
    """Image-to-image: ``translate(images, direction=None)`` for each of :attr:`directions`."""

    kind: ClassVar[str] = "translator"
    #: Input sides are padded to a multiple of this by :meth:`translate`.
    multiple: ClassVar[int] = 1

    @property
    def directions(self) -> tuple[str, ...]:
        """The directions this model translates in, the default first (e.g. ``("ab", "ba")``)."""
        return ("ab",)

    def generator(self, direction: str | None = None) -> torch.nn.Module:
        """The generator network for ``direction`` (default: the first)."""
        raise NotImplementedError(f"{type(self).__name__} must implement generator")

    def translate(self, images: Any, direction: str | None = None) -> torch.Tensor:
        """Translate ``images`` (paths, PIL images or tensors in [-1, 1], any size)."""
        raise NotImplementedError(f"{type(self).__name__} must implement translate")


class Upscaler(GANModel):
    """Super-resolution: ``upscale(images)`` returns each image ``scale`` times larger."""

    kind: ClassVar[str] = "upscaler"

    @property
    def scale(self) -> int:
        return int(self.config.scale)

    def upscale(self, images: Any, *, tile: int | None = None) -> torch.Tensor:
        """``images`` (paths, PIL images or tensors in [-1, 1]) ``scale`` times larger, in [-1, 1];
        ``tile`` bounds memory by processing overlapping tiles of that side."""
        raise NotImplementedError(f"{type(self).__name__} must implement upscale")


KINDS: tuple[type[GANModel], ...] = (ConditionalGenerator, TextToImage, LatentGenerator,
                                     Translator, Upscaler)


def kind_of(model: GANModel) -> str:
    """The most specific kind name of ``model`` (``"model"`` when it derives from none)."""
    for cls in KINDS:
        if isinstance(model, cls):
            return cls.kind
    return "model"

