"""The base class every architecture's model derives from.

A :class:`GANModel` is an ``nn.Module`` holding all networks of one GAN as named children (role
names: ``gen``, ``disc``, ``gen_ab`` ...) and the frozen attrs config that fully describes them.
It is a ``huggingface_hub`` ``ModelHubMixin``: ``save_pretrained``, ``from_pretrained`` and
``push_to_hub`` work on the bundle format of :mod:`ganzoo.hub.bundle`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import torch
from huggingface_hub import ModelCard, ModelHubMixin
from torch import nn


class GANModel(
    nn.Module,
    ModelHubMixin,
    library_name="ganzoo",
    tags=["ganzoo", "gan"],
    repo_url="https://github.com/ganzoo/ganzoo",
):
    """All networks of one GAN plus its config.

    Subclasses set ``architecture`` (the registered name), ``generator_components`` (the children
    needed for inference; the others are only needed for training), and implement
    :meth:`example_batch` and either :meth:`generate` (unconditional models) or their own
    inference methods plus :meth:`preview`.
    """

    architecture: ClassVar[str] = ""
    generator_components: ClassVar[tuple[str, ...]] = ("gen",)
    #: Whether :meth:`fast_path` stores the generator channels_last by default (measured per
    #: kind or architecture in ``benchmarks/``: it pays for some networks, costs for others).
    fast_channels_last: ClassVar[bool] = False
    #: Whether training stores activations and weights channels_last under ``[train]
    #: channels_last = "auto"`` (the default): on where it was measured to pay in training.
    train_channels_last: ClassVar[bool] = False

    def __init__(self, config: Any):
        super().__init__()
        self.config = config

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def components(self) -> tuple[str, ...]:
        """Names of all networks, generator side first."""
        others = tuple(n for n, _ in self.named_children() if n not in self.generator_components)
        return (*self.generator_components, *others)

    def generate(self, n: int, *, seed: int | None = None, **kwargs: Any) -> torch.Tensor:
        """``n`` images in [-1, 1], shape ``[n, C, H, W]``; a given seed makes them reproducible."""
        raise NotImplementedError(f"{type(self).__name__} does not generate unconditionally")

    def preview(self, n: int, *, seed: int, batch: dict | None = None) -> torch.Tensor:
        """Images for the sample grids written during training (fixed inputs for a given seed).

        ``batch`` holds the same ``n`` held-out items every time (from the test split when the
        dataset has one): image-to-image models show their inputs and outputs from it.
        """
        return self.generate(n, seed=seed)

    def example_batch(self, batch_size: int, *, generator: torch.Generator | None = None) -> dict:
        """A synthetic training batch of the right shapes (tests and benchmarks)."""
        raise NotImplementedError

    def onnx_export_spec(self, *, direction: str | None = None, batch: int | None = None):
        """How the generator exports to ONNX (``ganzoo export``): a
        :class:`ganzoo.apps.export.OnnxSpec` (the module, example and check inputs, names, dynamic
        axes, and the PyTorch path it must match). Each model kind (:mod:`ganzoo.nn.kinds`) has
        its own; a model of no kind, or with a generator its kind's spec does not fit,
        overrides this. ``direction`` picks a translator's direction; ``batch`` fixes the batch
        size (``None``: dynamic)."""
        from ganzoo.apps.export import ExportError

        raise ExportError(f"{self.architecture} is a model of no kind (a plain ganzoo.GANModel), "
                          "which has no default ONNX export; its plugin can provide one with "
                          "onnx_export_spec, or derive the model from its kind (ganzoo.nn.kinds)")

    @classmethod
    def usage(cls, load_name: str, config: Any = None) -> str:
        """Python lines that load ``load_name`` and use it (the model card's "Use it")."""
        return f'import ganzoo\n\nmodel = ganzoo.load("{load_name}")\n'

    def fast_path(self, *, precision: str = "auto", channels_last: bool | None = None,
                  compile: bool = False):
        """This model's inference verbs on the fast path its device supports (bf16 autocast
        where native, channels_last where it pays, optionally ``torch.compile``): a
        :class:`ganzoo.nn.inference.FastPath` with the same ``generate`` / ``translate`` /
        ``upscale``; ``precision="fp32"`` is the plain path, bit for bit."""
        from ganzoo.nn.inference import FastPath, plan

        return FastPath(self, plan(self, precision=precision, channels_last=channels_last,
                                   compile=compile))

    def onnx_session(self, onnx: str | Path | None = None, *, direction: str | None = None,
                     cache_dir: str | Path | None = None):
        """This model's inference verbs run by onnxruntime: a
        :class:`ganzoo.apps.onnx_runtime.OnnxSession` on the ``.onnx`` file ``onnx``, or on
        this model's export (made once, cached under ``cache_dir`` by its weights' hash)."""
        from ganzoo.apps.onnx_runtime import OnnxSession

        return OnnxSession(self, onnx, direction=direction, cache_dir=cache_dir)

    @staticmethod
    def seeded(seed: int | None, device: torch.device) -> torch.Generator | None:
        """A generator on ``device`` seeded with ``seed`` (``None``: use torch's global RNG)."""
        if seed is None:
            return None
        return torch.Generator(device=device).manual_seed(seed)

    # -- the Hub mixin: bundles -----------------------------------------------------------------
    def _save_pretrained(self, save_directory: Path) -> None:
        from ganzoo.hub.bundle import write_bundle

        write_bundle(self, save_directory)

    @classmethod
    def _from_pretrained(cls, *, model_id: str, revision: str | None, cache_dir, force_download: bool,
                         local_files_only: bool, token, components: str = "inference",
                         device: str = "cpu", **_ignored: Any) -> GANModel:
        from ganzoo.base.errors import CheckpointError
        from ganzoo.hub.loading import load

        model = load(model_id, revision=revision, components=components, device=device,
                     cache_dir=cache_dir, force_download=force_download,
                     local_files_only=local_files_only, token=token)
        if not isinstance(model, cls):
            raise CheckpointError(f"{model_id}: holds a {type(model).__name__} "
                                  f"({model.architecture}), not a {cls.__name__}")
        return model

    def generate_model_card(self, *args: Any, **kwargs: Any) -> ModelCard:
        from ganzoo.hub.bundle import index_of
        from ganzoo.hub.card import make_card

        kwargs.setdefault("load_name", f"path/to/{self.architecture}")
        return make_card(index_of(self), model_cls=type(self), **kwargs)
