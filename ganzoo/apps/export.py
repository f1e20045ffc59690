"""Export a model's generator to ONNX, checked against PyTorch with onnxruntime.

:func:`export_onnx` asks the model how its generator exports (:meth:`GANModel.onnx_export_spec`,
an :class:`OnnxSpec`), exports it with ``torch.onnx.export(dynamo=True)`` (the exporter built on
``torch.export``; it needs ``onnxscript``), runs the result in onnxruntime on seeded inputs and
compares it with the model's own PyTorch path (``generate`` / ``translate``). Only a file whose
largest absolute difference is within ``tolerance`` (default :data:`TOLERANCE`) is written, and
atomically; otherwise an :class:`ExportError` names the difference and nothing is written.

Each model kind (:mod:`ganzoo.nn.kinds`) carries its spec, calling its generator directly:

- :class:`~ganzoo.LatentGenerator`: input ``z`` ``[batch, z_dim]`` → ``gen(z viewed as
  sample_latent's shape)`` (:func:`latent_spec`);
- :class:`~ganzoo.ConditionalGenerator`: inputs ``z`` and ``labels`` (int64 ``[batch]``,
  0 .. num_classes-1) → ``gen(z, labels)``;
- :class:`~ganzoo.Translator`: input ``image`` ``[batch, C, height, width]`` in [-1, 1] → output
  ``translated`` = ``model.export_generator(direction)(image)`` (:func:`translator_spec`);
  ``height`` and ``width`` are dynamic multiples of the model's ``multiple`` (``2**depth`` for
  pix2pix); models with several directions export the one asked for.

A plugin whose generator does not fit these overrides ``onnx_export_spec`` and returns its own
:class:`OnnxSpec`; the checks stay the same.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import torch
from torch import nn

from ganzoo.base.errors import GanzooError, WriteError
from ganzoo.base.extras import require

#: Largest absolute difference allowed between onnxruntime's and PyTorch's outputs (images are
#: in [-1, 1]; float32 reorderings give about 1e-6).
TOLERANCE = 1e-4
#: The lowest opset the exporter writes directly; lower ones (down to MIN_OPSET) are converted
#: by onnx afterwards, which can fail for some models (an error then says so).
NATIVE_OPSET = 18
MIN_OPSET = 7


class ExportError(GanzooError):
    """A model that cannot be exported, or an export that does not match PyTorch."""


@attrs.frozen
class DynamicAxis:
    """A dynamic axis of an input: any size (``multiple=1``) or any multiple of ``multiple``."""

    name: str
    multiple: int = attrs.field(default=1, validator=attrs.validators.ge(1))

    def __str__(self) -> str:
        return self.name if self.multiple == 1 else f"{self.name} (a multiple of {self.multiple})"


@attrs.frozen(kw_only=True)
class OnnxSpec:
    """How a generator exports to ONNX.

    ``module(*inputs)`` is what is exported (eval mode, only the generator's weights);
    ``example_inputs`` are traced; ``dynamic_axes`` maps an input name to ``{axis: DynamicAxis}``
    (the batch axis, image sides); ``check_inputs`` are seeded input tuples (varying the dynamic
    axes) on which onnxruntime must match ``reference(*inputs)``: the model's own PyTorch path.
    ``doc`` becomes the ONNX model's ``doc_string``; ``metadata`` its ``metadata_props``.
    """

    module: nn.Module
    input_names: tuple[str, ...]
    output_names: tuple[str, ...] = ("image",)
    example_inputs: tuple[torch.Tensor, ...]
    dynamic_axes: Mapping[str, Mapping[int, DynamicAxis]] = attrs.field(factory=dict)
    check_inputs: tuple[tuple[torch.Tensor, ...], ...]
    reference: Callable[..., torch.Tensor]
    doc: str = ""
    metadata: Mapping[str, str] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        assert len(self.input_names) == len(self.example_inputs), (
            f"{len(self.input_names)} input names for {len(self.example_inputs)} example inputs")
        assert self.check_inputs, "give at least one tuple of check_inputs"
        unknown = set(self.dynamic_axes) - set(self.input_names)
        assert not unknown, f"dynamic_axes names unknown inputs {sorted(unknown)}"


@attrs.frozen(kw_only=True)
class ExportResult:
    """What :func:`export_onnx` wrote and measured."""

    path: Path
    max_abs_diff: float
    tolerance: float
    opset: int
    inputs: dict[str, str]
    checks: int


# -- the default specs --------------------------------------------------------------------------
class _FromLatent(nn.Module):
    """``net(z)`` with ``z [batch, z_dim]`` viewed as the model's latent shape; holds only the
    generator network, so only its weights are exported."""

    def __init__(self, net: nn.Module, latent_shape: tuple[int, ...]):
        super().__init__()
        self.net, self.latent_shape = net, latent_shape

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.reshape(-1, *self.latent_shape))


class _FromLatentAndLabels(_FromLatent):
    """``net(z, labels)``, ``z`` as in :class:`_FromLatent`."""

    def forward(self, z: torch.Tensor, labels: torch.Tensor  # type: ignore[override]
                ) -> torch.Tensor:
        return self.net(z.reshape(-1, *self.latent_shape), labels)


class _FromImage(nn.Module):
    """``net(image)``."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.net(image)


ARROWS = {"ab": "A->B", "ba": "B->A"}


def refuse_direction(model, direction: str | None) -> None:
    """An :class:`ExportError` for a direction given to a model with a single generator."""
    if direction is None:
        return
    if direction not in ("ab", "ba"):
        raise ExportError(f"direction {direction!r}: expected 'ab' (A->B) or 'ba' (B->A)")
    from ganzoo.nn.kinds import task_of

    task = task_of(model)
    article = "an" if task[0] in "aeiou" else "a"
    raise ExportError(f"direction {direction!r}: {model.architecture} is {article} {task} model "
                      "with a single generator; a direction is only for two-way models such as "
                      "CycleGAN")


def _batches(batch: int | None) -> tuple[int, tuple[int, ...]]:
    """(the traced batch size, the batch sizes checked)."""
    if batch is None:  # trace with 2: torch.export specialises a batch of 1
        return 2, (3, 1)
    return batch, (batch,)


def latent_spec(model, batch: int | None, *, labels: bool = False) -> OnnxSpec:
    """A latent generator's spec: z (and, with ``labels``, int64 class labels) -> image through
    its first generator component, compared with ``model.generate(n, z=z[, labels=labels])``."""
    traced, checked = _batches(batch)
    batch_axis = {} if batch is not None else {0: DynamicAxis("batch")}
    rng = torch.Generator().manual_seed(0)
    latent = tuple(model.sample_latent(1, seed=0).shape[1:])
    z_dim = int(torch.Size(latent).numel())
    net = getattr(model, model.generator_components[0])

    def normal(n: int) -> torch.Tensor:
        return torch.randn(n, z_dim, generator=rng).to(model.device)

    if not labels:
        return OnnxSpec(
            module=_FromLatent(net, latent), input_names=("z",),
            example_inputs=(normal(traced),), dynamic_axes={"z": batch_axis},
            check_inputs=tuple((normal(n),) for n in checked),
            reference=lambda z: model.generate(len(z), z=z.reshape(-1, *latent)),
            doc=f"{model.architecture} generator: z [batch, {z_dim}] ~ N(0, I) -> image "
                "[batch, C, H, W] in [-1, 1].",
            metadata={"z_dim": str(z_dim)})
    classes = model.num_classes

    def draw_labels(n: int) -> torch.Tensor:
        return torch.randint(0, classes, (n,), generator=rng).to(model.device)

    return OnnxSpec(
        module=_FromLatentAndLabels(net, latent), input_names=("z", "labels"),
        example_inputs=(normal(traced), draw_labels(traced)),
        dynamic_axes={"z": batch_axis, "labels": batch_axis},
        check_inputs=tuple((normal(n), draw_labels(n)) for n in checked),
        reference=lambda z, y: model.generate(len(z), z=z.reshape(-1, *latent), labels=y),
        doc=f"{model.architecture} generator: z [batch, {z_dim}] ~ N(0, I) and labels [batch] "
            f"(int64, 0 to {classes - 1}) -> image [batch, C, H, W] in [-1, 1].",
        metadata={"z_dim": str(z_dim), "num_classes": str(classes)})


def translator_spec(model, direction: str | None, batch: int | None) -> OnnxSpec:
    """A translator's spec: image -> ``model.export_generator(direction)``, compared with
    ``model.translate(image, direction=)``; sides dynamic multiples of ``model.multiple``."""
    traced, checked = _batches(batch)
    batch_axis = {} if batch is not None else {0: DynamicAxis("batch")}
    rng = torch.Generator().manual_seed(0)
    two_way = len(model.directions) > 1
    if direction is not None and direction not in model.directions:
        if direction not in ("ab", "ba"):
            known = ("ab", "ba") if set(model.directions) <= {"ab", "ba"} else model.directions
            expected = " or ".join(f"{d!r}" + (f" ({ARROWS[d]})" if d in ARROWS else "")
                                   for d in known)
            raise ExportError(f"direction {direction!r}: expected {expected}")
        from ganzoo.base.errors import GanzooError

        try:  # the model says why it lacks this direction (a one-way release ...)
            model.generator(direction)
        except GanzooError as exc:
            message = str(exc)
            if not message.startswith(f"direction {direction!r}"):
                message = f"direction {direction!r}: {message}"
            raise ExportError(message) from None
    direction = model.check_direction(direction)
    net = model.export_generator(direction)
    channels = model.channels(direction)[0]
    multiple = int(model.multiple)
    side = -(-int(getattr(model.config, "resolution", 4 * multiple)) // multiple) * multiple
    side = max(side, -(-int(model.min_side) // multiple) * multiple)
    # Traced at two blocks a side at least: with one, pix2pix's innermost level is 1x1, which
    # torch.export specialises.
    trace_side = max(side, 2 * multiple)
    first, second = checked if len(checked) == 2 else checked * 2  # batch sizes
    sizes = [(first, side, side), (second, side + multiple, side + 2 * multiple)]

    def images(n: int, height: int, width: int) -> torch.Tensor:
        return torch.rand(n, channels, height, width, generator=rng).to(model.device) * 2 - 1

    which = f" ({ARROWS.get(direction, direction)})" if two_way else ""
    return OnnxSpec(
        module=_FromImage(net), input_names=("image",), output_names=("translated",),
        example_inputs=(images(traced, trace_side, trace_side),),
        dynamic_axes={"image": {**batch_axis, 2: DynamicAxis("height", multiple),
                                3: DynamicAxis("width", multiple)}},
        check_inputs=tuple((images(*size),) for size in sizes),
        reference=lambda image: model.translate(image, direction=direction),
        doc=f"{model.architecture} generator{which}: image [batch, {channels}, height, width] in "
            f"[-1, 1] -> image in [-1, 1] of the same height and width; height and width must "
            f"be multiples of {multiple} (pad the input, e.g. by reflection, and crop the "
            "output).",
        metadata={"size_multiple": str(multiple), "input_channels": str(channels),
                  **({"direction": direction} if two_way else {})})


# -- export, check, write -----------------------------------------------------------------------
def _torch_dynamic_shapes(spec: OnnxSpec) -> tuple[dict[int, Any], ...]:
    from torch.export import Dim

    shapes = []
    for name, example in zip(spec.input_names, spec.example_inputs, strict=True):
        axes = {}
        for axis, dynamic in spec.dynamic_axes.get(name, {}).items():
            if dynamic.multiple == 1:
                axes[axis] = Dim(dynamic.name, min=1)
            else:
                blocks = Dim(f"{dynamic.name}_blocks", min=1, max=2**20 // dynamic.multiple)
                axes[axis] = dynamic.multiple * blocks
        shapes.append(axes)
    return tuple(shapes)


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """The exporter reports progress and fallbacks through logging and warnings: keep the
    command's output to what matters (errors are raised, and the opset is checked)."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "onnxscript")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _first_line(exc: BaseException) -> str:
    """The first line of the innermost cause (the exporter wraps torch.export's errors in
    several pages of advice), without terminal colours."""
    import re

    while exc.__cause__ is not None:
        exc = exc.__cause__
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")


def _to_proto(spec: OnnxSpec, opset: int | None):
    onnx = require("onnx", "export", what="ONNX export", error=ExportError)

    if opset is not None and not MIN_OPSET <= opset <= onnx.defs.onnx_opset_version():
        raise ExportError(f"opset {opset}: this onnx {onnx.__version__} writes opsets "
                          f"{MIN_OPSET} to {onnx.defs.onnx_opset_version()} "
                          f"({NATIVE_OPSET} and up directly)")
    try:
        with _quiet_exporter(), torch.no_grad():
            program = torch.onnx.export(
                spec.module, spec.example_inputs, None, dynamo=True, verbose=False,
                input_names=list(spec.input_names), output_names=list(spec.output_names),
                dynamic_shapes=_torch_dynamic_shapes(spec), opset_version=opset)
    except ImportError as exc:
        raise ExportError(f"ONNX export needs the 'export' extra ({exc.name} is missing): "
                          "pip install 'ganzoo[export]'") from None
    except Exception as exc:  # noqa: BLE001 - the exporter raises many types; one line each
        raise ExportError(f"torch.onnx.export failed: {_first_line(exc)}") from exc
    proto = program.model_proto
    made = next(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx"))
    if opset is not None and made != opset:
        raise ExportError(f"opset {opset}: the exporter could not convert this model to it (it "
                          f"made opset {made}); use --opset {NATIVE_OPSET} or higher")
    return proto


def _max_difference(proto, spec: OnnxSpec) -> float:
    import numpy as np
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: shape mismatches are raised below
    try:
        session = ort.InferenceSession(proto.SerializeToString(), options,
                                       providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types
        raise ExportError(f"onnxruntime cannot load the exported model: {_first_line(exc)}"
                          ) from None
    worst = 0.0
    for inputs in spec.check_inputs:
        feed = {name: x.detach().cpu().numpy() for name, x in
                zip(spec.input_names, inputs, strict=True)}
        try:
            got = session.run(None, feed)[0]
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types
            shapes = ", ".join(f"{k} {list(v.shape)}" for k, v in feed.items())
            raise ExportError(f"onnxruntime cannot run the exported model on {shapes}: "
                              f"{_first_line(exc)}") from None
        with torch.no_grad():
            expected = spec.reference(*inputs).detach().float().cpu().numpy()
        if got.shape != expected.shape:
            raise ExportError(f"the ONNX model gives shape {list(got.shape)} where PyTorch "
                              f"gives {list(expected.shape)}; nothing was written")
        worst = max(worst, float(np.max(np.abs(got.astype(np.float64) - expected))))
        if not np.isfinite(worst):
            raise ExportError("the ONNX model's output is not finite; nothing was written")
    return worst


def _describe_inputs(proto) -> dict[str, str]:
    from onnx.helper import tensor_dtype_to_np_dtype

    out = {}
    for value in proto.graph.input:
        tensor = value.type.tensor_type
        dims = [d.dim_param or str(d.dim_value) for d in tensor.shape.dim]
        out[value.name] = f"{tensor_dtype_to_np_dtype(tensor.elem_type)} [{', '.join(dims)}]"
    return out


def check_destination(path: str | Path) -> Path:
    """``path`` if an ONNX file can be written there: its folder exists and it is no folder."""
    path = Path(path)
    if path.is_dir():
        raise WriteError(f"{path}: is a folder; give a file name such as {path / 'model.onnx'}")
    if not path.parent.is_dir():
        raise WriteError(f"{path}: folder {path.parent} does not exist; create it first")
    return path


def export_onnx(model, path: str | Path, *, direction: str | None = None,
                opset: int | None = None, batch: int | None = None,
                tolerance: float = TOLERANCE, name: str | None = None) -> ExportResult:
    """Export ``model``'s generator to the ONNX file ``path`` and check it (module docstring).

    ``direction``: ``"ab"`` or ``"ba"`` for two-way models; ``opset``: the ONNX opset (default:
    the exporter's); ``batch``: a fixed batch size (default: dynamic); ``name``: what the model
    was loaded as, recorded in the file's metadata.
    """
    onnx = require("onnx", "export", what="ONNX export", error=ExportError)
    onnxruntime = require("onnxruntime", "export", what="checking the ONNX file against PyTorch",
                          error=ExportError)

    from ganzoo._version import __version__
    from ganzoo.base.io import atomic_path
    from ganzoo.nn.kinds import kind_of, task_of

    path = check_destination(path)
    if batch is not None and batch < 1:
        raise ExportError(f"batch {batch}: expected a positive batch size (or None: dynamic)")
    if not tolerance >= 0:
        raise ExportError(f"tolerance {tolerance}: expected a number >= 0")
    was_training = model.training
    model.eval()
    try:
        spec = model.onnx_export_spec(direction=direction, batch=batch)
        proto = _to_proto(spec, opset)
        worst = _max_difference(proto, spec)
    finally:
        model.train(was_training)
    if worst > tolerance:
        raise ExportError(f"the ONNX model differs from PyTorch by up to {worst:.3g} (max abs, "
                          f"tolerance {tolerance:g}); nothing was written to {path}")
    made = next(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx"))
    proto.doc_string = spec.doc
    metadata = {"ganzoo_version": __version__, "architecture": model.architecture,
                "task": task_of(model), "kind": kind_of(model), "model": name or "",
                "output_range": "[-1, 1]",
                **spec.metadata, "max_abs_diff": f"{worst:.3g}", "tolerance": f"{tolerance:g}",
                "checked_with": f"onnxruntime {onnxruntime.__version__}"}
    del proto.metadata_props[:]
    onnx.helper.set_model_props(proto, metadata)
    try:
        onnx.checker.check_model(proto)
    except onnx.checker.ValidationError as exc:
        raise ExportError(f"the exported model is not valid ONNX: {str(exc).splitlines()[0]}"
                          ) from None
    with atomic_path(path) as tmp:
        onnx.save_model(proto, str(tmp))
    return ExportResult(path=path, max_abs_diff=worst, tolerance=tolerance, opset=made,
                        inputs=_describe_inputs(proto), checks=len(spec.check_inputs))
