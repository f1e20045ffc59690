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

Each kind carries what the tools need from it: its ONNX export spec (:meth:`onnx_export_spec`),
the usage snippet of its model card (:meth:`usage`), its CLI verb (:attr:`command`) and the
task word of its Hub metadata (:attr:`task`). The demo page draws its controls from what a kind
declares (a latent generator's :meth:`~LatentGenerator.inputs`, a translator's directions).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import attrs
import torch
import torch.nn.functional as F

from ganzoo.nn.model import GANModel


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
    task: ClassVar[str] = "unconditional"
    command: ClassVar[str] = "ganzoo sample {model} -n 64 -o samples.png"
    #: Measured (benchmarks/RESULTS.md, inference): DCGAN's generator runs x1.28 faster with
    #: channels_last weights in bf16, x1.2 in fp32 (AVX2).
    fast_channels_last: ClassVar[bool] = True

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

    def example_batch(self, batch_size: int, *, generator: torch.Generator | None = None) -> dict:
        """``{"image": [batch_size, channels, resolution, resolution]}`` uniform in [-1, 1], from
        ``[model] channels`` and ``resolution``; override it when the data holds more."""
        cfg = self.config
        if not all(isinstance(getattr(cfg, k, None), int) for k in ("channels", "resolution")):
            raise NotImplementedError(f"{type(self).__name__}: the default example_batch needs "
                                      "[model] channels and resolution; override example_batch")
        shape = (batch_size, cfg.channels, cfg.resolution, cfg.resolution)
        return {"image": torch.rand(shape, generator=generator) * 2 - 1}

    def generate(self, n: int, *, seed: int | None = None, z: torch.Tensor | None = None,
                 **inputs: Any) -> torch.Tensor:
        """``n`` images in [-1, 1], ``[n, C, H, W]``. ``z`` (``[n, z_dim]``) overrides the seeded
        draw; ``inputs`` are those :meth:`inputs` declares (defaults drawn or fixed per model)."""
        raise NotImplementedError(f"{type(self).__name__} must implement generate")

    def onnx_export_spec(self, *, direction: str | None = None, batch: int | None = None):
        """z ``[batch, z_dim]`` -> ``gen(z)`` (z viewed as :meth:`sample_latent`'s shape),
        checked against ``generate(n, z=z)``; see :mod:`ganzoo.apps.export`."""
        from ganzoo.apps.export import latent_spec, refuse_direction

        refuse_direction(self, direction)
        return latent_spec(self, batch)

    @classmethod
    def usage(cls, load_name: str, config: Any = None) -> str:
        """Python lines that load ``load_name`` and use it (the model card's "Use it")."""
        return (f'import ganzoo\n\nmodel = ganzoo.load("{load_name}")\n'
                "images = model.generate(16, seed=0)   # [16, C, H, W] in [-1, 1]\n")


class ConditionalGenerator(LatentGenerator):
    """A latent generator with a class label per image (``generate(n, labels=[...])``)."""

    kind: ClassVar[str] = "conditional-generator"
    task: ClassVar[str] = "conditional"
    command: ClassVar[str] = "ganzoo sample {model} --labels 0,1,2,3 -o samples.png"

    @property
    def num_classes(self) -> int:
        return int(self.config.num_classes)

    def inputs(self) -> tuple[ModelInput, ...]:
        return (DiscreteInput(name="labels", count=self.num_classes, summary="class label"),)

    def onnx_export_spec(self, *, direction: str | None = None, batch: int | None = None):
        """z and labels (int64 ``[batch]``) -> ``gen(z, labels)``, checked against
        ``generate(n, z=z, labels=labels)``."""
        from ganzoo.apps.export import latent_spec, refuse_direction

        refuse_direction(self, direction)
        return latent_spec(self, batch, labels=True)

    @classmethod
    def usage(cls, load_name: str, config: Any = None) -> str:
        return (f'import ganzoo\n\nmodel = ganzoo.load("{load_name}")\n'
                "# one image per label: [4, C, H, W] in [-1, 1]\n"
                "images = model.generate(4, seed=0, labels=[0, 1, 0, 1])\n")


class TextToImage(LatentGenerator):
    """A latent generator conditioned on captions (``generate(n, text=[...])``)."""

    kind: ClassVar[str] = "text-to-image"
    task: ClassVar[str] = "text-to-image"
    command: ClassVar[str] = 'ganzoo sample {model} --text "a small bird" -o samples.png'

    @classmethod
    def example_caption(cls, config: Any = None) -> str:
        """A caption the model can draw (the card's snippet uses it)."""
        return "a small bird"

    def onnx_export_spec(self, *, direction: str | None = None, batch: int | None = None):
        from ganzoo.apps.export import ExportError

        raise ExportError(f"{self.architecture} is a text-to-image model, which has no default "
                          "ONNX export; its plugin can provide one with onnx_export_spec")

    @classmethod
    def usage(cls, load_name: str, config: Any = None) -> str:
        caption = cls.example_caption(config)
        return (f'import ganzoo\n\nmodel = ganzoo.load("{load_name}")\n'
                "# one image per caption: [4, C, H, W] in [-1, 1]\n"
                f"images = model.generate(4, seed=0, text=[{caption!r}] * 4)\n")


def pad_to_multiple(batch: torch.Tensor, multiple: int, min_side: int = 1) -> torch.Tensor:
    """``batch`` ``[N, C, H, W]`` padded at the bottom and right to sides that are multiples of
    ``multiple`` (and at least ``min_side``): by reflection, or by repeating the edge where the
    image is too small to reflect. Crop the result back with ``[..., :H, :W]``."""
    height, width = batch.shape[-2:]
    pad_h = max(min_side, height + -height % multiple) - height
    pad_w = max(min_side, width + -width % multiple) - width
    if pad_h or pad_w:
        mode = "reflect" if pad_h < height and pad_w < width else "replicate"
        batch = F.pad(batch, (0, pad_w, 0, pad_h), mode=mode)
    return batch


def tile_groups(groups: list[torch.Tensor], channels: int) -> torch.Tensor:
    """Preview tiles of image groups: for each item, its images ``groups[0][i]``,
    ``groups[1][i]`` ... side by side, padded with blank tiles to a square grid whose side is a
    multiple of ``len(groups)`` so that ganzoo's default grid never splits an item's group."""
    from ganzoo.base.images import with_channels

    tiles = torch.stack([with_channels(g, channels) for g in groups], dim=1).flatten(0, 1)
    side = len(groups) * math.ceil(math.sqrt(len(groups[0]) / len(groups)))
    blank = -torch.ones(side * side - len(tiles), *tiles.shape[1:], device=tiles.device)
    return torch.cat([tiles, blank]).clamp(-1, 1)


class Translator(GANModel):
    """Image-to-image: ``translate(images, direction=None)`` for each of :attr:`directions`.

    A subclass gives :meth:`generator` (the network per direction) and, when its channels are
    not its generator's first convolution's, :meth:`channels`; :meth:`translate` reads, pads,
    runs and crops for every translator alike.
    """

    kind: ClassVar[str] = "translator"
    task: ClassVar[str] = "image-to-image"
    command: ClassVar[str] = "ganzoo translate {model} INPUT... -o OUTPUT_FOLDER"
    #: Input sides are padded to a multiple of this by :meth:`translate`.
    multiple: ClassVar[int] = 1
    #: ... and to at least this many pixels.
    min_side: ClassVar[int] = 1
    #: Shared helpers for subclasses (``self.tile_groups(...)`` in a preview).
    pad_to_multiple = staticmethod(pad_to_multiple)
    tile_groups = staticmethod(tile_groups)

    @property
    def directions(self) -> tuple[str, ...]:
        """The directions this model translates in, the default first (e.g. ``("ab", "ba")``)."""
        return ("ab",)

    def generator(self, direction: str | None = None) -> torch.nn.Module:
        """The generator network for ``direction`` (default: the first)."""
        raise NotImplementedError(f"{type(self).__name__} must implement generator")

    def check_direction(self, direction: str | None) -> str:
        """``direction``, or the default one for ``None``; a :class:`ganzoo.GanzooError` names
        the directions this model has."""
        from ganzoo.base.errors import GanzooError

        if direction is None:
            return self.directions[0]
        if direction not in self.directions:
            raise GanzooError(f"direction {direction!r}: this {self.architecture} model "
                              f"translates in {', '.join(map(repr, self.directions))} only")
        return direction

    def channels(self, direction: str) -> tuple[int, int]:
        """(input, output) channels in ``direction``; by default the input channels of the
        generator's first convolution and the output channels of its last."""
        convs = [m for m in self.generator(direction).modules()
                 if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
        if not convs:
            raise NotImplementedError(f"{type(self).__name__} must implement channels")
        return convs[0].in_channels, convs[-1].out_channels

    def input_error(self, direction: str, got: int) -> str:
        """The message for an input of ``got`` channels (override to name the config key)."""
        return (f"this {self.architecture} model takes {self.channels(direction)[0]}-channel "
                f"inputs, got {got} channels")

    def run_generator(self, batch: torch.Tensor, direction: str) -> torch.Tensor:
        """The generator of ``direction`` on a padded batch (override for test-time quirks)."""
        return self.generator(direction)(batch)

    def export_generator(self, direction: str) -> torch.nn.Module:
        """The network ONNX export traces for ``direction`` (must compute :meth:`run_generator`
        on a padded batch)."""
        return self.generator(direction)

    def translate(self, images: Any, direction: str | None = None) -> torch.Tensor:
        """Translate ``images`` (paths, PIL images, tensors in [-1, 1] or lists of these, as
        :func:`ganzoo.base.images.as_batch` takes them) of any size in ``direction`` (default: the
        first of :attr:`directions`): each side is padded by reflection to a multiple of
        :attr:`multiple` and the output cropped back. Returns ``[N, C, H, W]`` in [-1, 1] on the
        model's device."""
        padded, direction, (height, width) = self.translator_input(images, direction)
        return self.run_generator(padded, direction)[..., :height, :width]

    def translator_input(self, images: Any, direction: str | None = None
                         ) -> tuple[torch.Tensor, str, tuple[int, int]]:
        """What :meth:`translate` feeds its generator: (the padded batch on the model's device,
        the direction, the (height, width) to crop the output back to). Other backends (ONNX
        Runtime) run the same inputs."""
        from ganzoo.base.errors import DataError
        from ganzoo.base.images import as_batch

        self.generator(direction)  # an unknown direction fails here, in the model's words
        direction = self.check_direction(direction)
        want = self.channels(direction)[0]
        batch = as_batch(images, channels=want if want in (1, 3) else None).to(self.device)
        if batch.shape[1] != want:
            raise DataError(self.input_error(direction, batch.shape[1]))
        height, width = batch.shape[-2:]
        return pad_to_multiple(batch, self.multiple, self.min_side), direction, (height, width)

    def onnx_export_spec(self, *, direction: str | None = None, batch: int | None = None):
        """image ``[batch, C, height, width]`` -> the generator of ``direction``, checked
        against :meth:`translate`; sides are dynamic multiples of :attr:`multiple`."""
        from ganzoo.apps.export import translator_spec

        return translator_spec(self, direction, batch)

    @classmethod
    def usage(cls, load_name: str, config: Any = None) -> str:
        return (f'import ganzoo\n\nmodel = ganzoo.load("{load_name}")\n'
                "# any size; paths, PIL images or tensors in [-1, 1]\n"
                'translated = model.translate("input.png")   # [1, C, H, W] in [-1, 1]\n')


class Upscaler(GANModel):
    """Super-resolution: ``upscale(images)`` returns each image ``scale`` times larger."""

    kind: ClassVar[str] = "upscaler"
    task: ClassVar[str] = "super-resolution"
    #: ``ganzoo upscale`` takes any Upscaler (the command ships with the SRGAN plugin)
    command: ClassVar[str] = "ganzoo upscale {model} IMAGE -o OUTPUT.png"
    #: Measured (benchmarks/RESULTS.md, inference): SRGAN x1.8 faster with channels_last in bf16.
    fast_channels_last: ClassVar[bool] = True

    @property
    def scale(self) -> int:
        return int(self.config.scale)

    def upscale(self, images: Any, *, tile: int | None = None) -> torch.Tensor:
        """``images`` (paths, PIL images or tensors in [-1, 1]) ``scale`` times larger, in [-1, 1];
        ``tile`` bounds memory by processing overlapping tiles of that side."""
        raise NotImplementedError(f"{type(self).__name__} must implement upscale")

    @classmethod
    def usage(cls, load_name: str, config: Any = None) -> str:
        return (f'import ganzoo\n\nmodel = ganzoo.load("{load_name}")\n'
                'larger = model.upscale("input.png")   # [1, C, scale*H, scale*W] in [-1, 1]\n')


KINDS: tuple[type[GANModel], ...] = (ConditionalGenerator, TextToImage, LatentGenerator,
                                     Translator, Upscaler)
#: The registry's ``task=`` words and the kind each promises (``task`` is checked against it).
TASKS: dict[str, type[GANModel]] = {"unconditional": LatentGenerator,
                                    "conditional": ConditionalGenerator,
                                    "text-to-image": TextToImage,
                                    "image-to-image": Translator,
                                    "super-resolution": Upscaler}


def kind_of(model: GANModel | type[GANModel]) -> str:
    """The most specific kind name of ``model`` (``"model"`` when it derives from none)."""
    cls = model if isinstance(model, type) else type(model)
    for kind in KINDS:
        if issubclass(cls, kind):
            return kind.kind
    return "model"


def task_of(model: GANModel | type[GANModel]) -> str:
    """The task word of ``model``'s kind (``"unconditional"``, ``"image-to-image"`` ...;
    ``"other"`` for a model of no kind)."""
    return getattr(model, "task", "other")


def describe(model: GANModel) -> str:
    """``"a translator (pix2pix)"``: what a message says ``model`` is."""
    kind = kind_of(model).replace("-", " ")
    article = "an" if kind[:1] in "aeiou" else "a"
    return f"{article} {kind} ({model.architecture})"
