"""A model's inference verbs run by ONNX Runtime: ``model.onnx_session()``, and
``ganzoo generate|sample|translate|upscale MODEL --backend onnxruntime``.

:class:`OnnxSession` runs the generator's ONNX export (:mod:`ganzoo.apps.export`) and keeps
everything around it the model's own: a latent generator's seeded z (``sample_latent``), a
translator's reading, padding and cropping (``translator_input``), so the images are those of
the PyTorch path within the export's tolerance. Without a file, the model is exported once and
cached under ``$GANZOO_CACHE/onnx`` (default ``~/.cache/ganzoo/onnx``), keyed by the sha256 of
its generator weights, the direction and the ganzoo and torch versions, and written atomically
(only after onnxruntime matched PyTorch); a given ``.onnx`` file must be an export of the same
architecture (its metadata says so).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch

from ganzoo.apps.export import ExportError

MISSING = ("the onnxruntime backend needs the 'export' extra ({name} is missing): "
           "pip install 'ganzoo[export]'")


def weights_hash(model) -> str:
    """sha256 of ``model``'s generator components: every tensor's name, dtype, shape and bytes
    (what the export computes with; the discriminators do not enter it)."""
    digest = hashlib.sha256()
    for component in model.generator_components:
        for name, tensor in sorted(getattr(model, component).state_dict().items()):
            data = tensor.detach().cpu().contiguous()
            digest.update(f"{component}.{name}|{data.dtype}|{tuple(data.shape)}|".encode())
            digest.update(data.view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def cache_dir_default() -> Path:
    from ganzoo.hub.convert import cache_root

    return cache_root() / "onnx"


def cached_export(model, *, direction: str | None = None,
                  cache_dir: str | Path | None = None) -> Path:
    """The ONNX export of ``model`` (in ``direction``) in the cache, made on first use."""
    from ganzoo._version import __version__
    from ganzoo.apps.export import export_onnx

    key = hashlib.sha256(f"{weights_hash(model)}|{model.architecture}|{direction}|"
                         f"ganzoo {__version__}|torch {torch.__version__}".encode()).hexdigest()
    folder = Path(cache_dir) if cache_dir is not None else cache_dir_default()
    path = folder / f"{model.architecture}-{direction or 'default'}-{key[:24]}.onnx"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        export_onnx(model, path, direction=direction, name=model.architecture)
    return path


class OnnxSession:
    """``model``'s ``generate`` / ``translate`` / ``upscale`` through onnxruntime (module
    docstring); returns float32 images in [-1, 1] on the model's device."""

    def __init__(self, model, onnx: str | Path | None = None, *, direction: str | None = None,
                 cache_dir: str | Path | None = None):
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ExportError(MISSING.format(name=exc.name or "onnxruntime")) from None
        from ganzoo.nn.kinds import Translator

        self.model = model
        self.direction = model.check_direction(direction) if isinstance(model, Translator) \
            else direction
        if onnx is None:
            self.path = cached_export(model, direction=direction, cache_dir=cache_dir)
        else:
            self.path = Path(onnx)
            if not self.path.is_file():
                raise ExportError(f"{self.path}: no such ONNX file")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = torch.get_num_threads()  # as torch would run here
        providers = ["CPUExecutionProvider"]
        if model.device.type == "cuda" and "CUDAExecutionProvider" in \
                ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=providers)
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ExportError(f"{self.path}: onnxruntime cannot load it ({first})") from None
        self.inputs = {i.name: i for i in self.session.get_inputs()}
        self._check_metadata()

    def __repr__(self) -> str:
        return f"OnnxSession({self.model.architecture}: {self.path})"

    def _check_metadata(self) -> None:
        meta = self.session.get_modelmeta().custom_metadata_map
        made_for = meta.get("architecture")
        if made_for != self.model.architecture:
            what = f"an export of {made_for}" if made_for else "not a ganzoo export"
            raise ExportError(f"{self.path}: is {what}, not of this {self.model.architecture} "
                              "model; export it with `ganzoo export MODEL --onnx FILE`")
        if "direction" in meta and self.direction is not None and \
                meta["direction"] != self.direction:
            raise ExportError(f"{self.path}: translates in direction {meta['direction']!r}, "
                              f"not {self.direction!r}")

    def _run(self, **feed: torch.Tensor) -> torch.Tensor:
        arrays = {name: value.detach().cpu().numpy() for name, value in feed.items()}
        out = self.session.run(None, arrays)[0]
        return torch.from_numpy(out).float().to(self.model.device)

    def _require(self, kind: type, verb: str) -> None:
        if not isinstance(self.model, kind):
            from ganzoo.base.errors import GanzooError
            from ganzoo.nn.kinds import describe

            raise GanzooError(f"{describe(self.model)} has no {verb}(): it is for "
                              f"ganzoo.{kind.__name__} models")

    def generate(self, n: int, *, seed: int | None = None, z: torch.Tensor | None = None,
                 **inputs: Any) -> torch.Tensor:
        """:meth:`ganzoo.LatentGenerator.generate`: the same seeded z; a conditional
        generator's ``labels`` default to 0, 1, ..., num_classes - 1, 0, 1 ..."""
        from ganzoo.base.errors import GanzooError
        from ganzoo.nn.kinds import LatentGenerator

        self._require(LatentGenerator, "generate")
        z = self.model.sample_latent(n, seed=seed) if z is None else torch.as_tensor(z)
        feed = {"z": z.reshape(n, -1).float()}
        if "labels" in self.inputs:
            feed["labels"] = self._labels(inputs.pop("labels", None), n)
        missing = set(self.inputs) - set(feed)
        if inputs or missing:
            extra = sorted(inputs) or sorted(missing)
            raise GanzooError(f"the ONNX export of {self.model.architecture} takes "
                              f"{', '.join(self.inputs)}; {', '.join(extra)} needs the torch "
                              "backend")
        return self._run(**feed)

    def _labels(self, labels: Any, n: int) -> torch.Tensor:
        classes = int(self.model.num_classes)
        if labels is None:
            return torch.arange(n) % classes
        labels = torch.as_tensor(labels, dtype=torch.int64).reshape(-1)
        if len(labels) != n:
            raise ValueError(f"got {len(labels)} labels for n = {n} images")
        bad = labels[(labels < 0) | (labels >= classes)]
        if len(bad):
            raise ValueError(f"label {int(bad[0])} is outside this model's classes "
                             f"0 to {classes - 1}")
        return labels

    def translate(self, images: Any, direction: str | None = None) -> torch.Tensor:
        """:meth:`ganzoo.Translator.translate`: the same padding and crop."""
        from ganzoo.base.errors import GanzooError
        from ganzoo.nn.kinds import Translator

        self._require(Translator, "translate")
        padded, direction, (height, width) = self.model.translator_input(images, direction)
        if direction != self.direction:
            raise GanzooError(f"this ONNX session translates in direction {self.direction!r}; "
                              f"open one with direction={direction!r}")
        return self._run(**{next(iter(self.inputs)): padded})[..., :height, :width]

    def upscale(self, images: Any, *, tile: int | None = None) -> torch.Tensor:
        """:meth:`ganzoo.Upscaler.upscale` on each image whole (``tile`` is for the torch
        path, which can bound memory tile by tile)."""
        from ganzoo.base.errors import DataError, GanzooError
        from ganzoo.base.images import as_batch
        from ganzoo.nn.kinds import Upscaler

        self._require(Upscaler, "upscale")
        if tile is not None:
            raise GanzooError("onnxruntime upscales each image whole; tiles are for the torch "
                              "backend (model.upscale(images, tile=...))")
        name, spec = next(iter(self.inputs.items()))
        channels = spec.shape[1] if isinstance(spec.shape[1], int) else None
        batch = as_batch(images, channels=channels if channels in (1, 3) else None)
        if channels is not None and batch.shape[1] != channels:
            raise DataError(f"this {self.model.architecture} upscales {channels}-channel images, "
                            f"got {batch.shape[1]} channels")
        return self._run(**{name: batch.float()})
