"""Inference on the fast path the device supports: one place that decides how a model's
``generate`` / ``translate`` / ``upscale`` compute, resolved once into a frozen record.

:func:`plan` resolves what was asked (``precision="auto"``, ``channels_last=None``,
``compile=False``) for a model on its device into an :class:`InferencePlan`;
:class:`FastPath` runs the model's own inference verbs under it (``model.fast_path()`` makes
one). Every kind goes through the same path, so a plugin gets it without writing anything:

- **precision**: ``"auto"`` is bf16 autocast where the device runs bf16 natively (CUDA; CPUs
  with AVX512-BF16 or AMX), fp32 elsewhere; ``"fp32"`` is the model's plain path, bit for bit
  (what ``model.generate`` gives; a seed draws the same images on every machine);
  ``"bf16"`` / ``"fp16"`` force an autocast dtype. Outputs are always float32.
- **channels_last**: ``None`` takes the model class's :attr:`GANModel.fast_channels_last`
  (measured per kind or architecture: it pays for some networks and costs for others) on the
  fast path, and stays off with ``precision="fp32"``.
- **compile**: ``torch.compile`` on the generator components (opt-in: the first call of each
  input shape compiles, which takes seconds to minutes).

The model itself is never changed: channels_last and compiled generators are copies the
:class:`FastPath` swaps in for the length of a call (so a bundle saved afterwards is the same,
and ``model.generate`` stays fp32). Make a new :class:`FastPath` after changing the weights.
"""

from __future__ import annotations

import contextlib
import copy
import os
from collections.abc import Iterator
from typing import Any

import attrs
import torch

#: What ``precision=`` accepts.
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def native_amp(device: torch.device) -> str:
    """The mixed precision ``device`` runs natively: ``"bf16"``, ``"fp16"`` or ``"none"``."""
    device = torch.device(device)
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if device.type == "cpu":
        # Native bf16 instructions only: oneDNN also runs bf16 on plain AVX-512 by emulation,
        # which is slower than fp32, so "supports bf16" is not enough for a default. Nor are
        # the CPU's flags when torch's kernels were capped below AVX-512 (to emulate an older
        # CPU): every bf16 convolution then runs emulated (a pix2pix step measured x0.06).
        if _cpu_kernels_capped():
            return "none"
        checks = (getattr(torch.cpu, "_is_avx512_bf16_supported", None),
                  getattr(torch.cpu, "_is_amx_tile_supported", None))
        if any(check is not None and check() for check in checks):
            return "bf16"
    return "none"


def _cpu_kernels_capped() -> bool:
    """True when ``ATEN_CPU_CAPABILITY`` holds torch below AVX-512, or ``ONEDNN_MAX_CPU_ISA``
    holds oneDNN below AVX512_CORE_BF16, although the CPU's flags may say bf16."""
    if os.environ.get("ATEN_CPU_CAPABILITY") and \
            torch.backends.cpu.get_cpu_capability() not in ("AVX512", "AMX"):
        return True
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "ALL").upper()
    return not (isa == "ALL" or "BF16" in isa or "AMX" in isa or "FP16" in isa
                or isa.startswith("AVX10"))


def capability(device: torch.device) -> str:
    """What a benchmark row records about ``device``: the CPU's ATen capability (``AVX512``,
    ``AVX2`` ...) or the GPU's name."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return torch.backends.cpu.get_cpu_capability()


@attrs.frozen(kw_only=True)
class InferencePlan:
    """How inference computes on ``device``: ``precision`` is ``"fp32"``, ``"bf16"`` or
    ``"fp16"`` (never ``"auto"``; ``requested`` is what was asked)."""

    precision: str = attrs.field(validator=attrs.validators.in_(("fp32", "bf16", "fp16")))
    requested: str = attrs.field(validator=attrs.validators.in_(PRECISIONS))
    channels_last: bool
    compile: bool
    device: str

    @property
    def dtype(self) -> torch.dtype | None:
        """The autocast dtype (None: fp32, no autocast)."""
        return _DTYPES[self.precision]

    @property
    def exact(self) -> bool:
        """The model's plain fp32 path, nothing changed."""
        return self.precision == "fp32" and not self.channels_last and not self.compile

    def describe(self) -> str:
        """``"bf16 autocast, channels_last (cpu)"``: one line for a log or a benchmark row."""
        parts = ["fp32" if self.dtype is None else f"{self.precision} autocast"]
        parts += ["channels_last"] * self.channels_last + ["torch.compile"] * self.compile
        return f"{', '.join(parts)} ({self.device})"


def plan(model, *, precision: str = "auto", channels_last: bool | None = None,
         compile: bool = False) -> InferencePlan:
    """Resolve ``precision`` / ``channels_last`` / ``compile`` for ``model`` on its device
    (module docstring); a :class:`ganzoo.GanzooError` names a precision it does not know."""
    from ganzoo.base.errors import GanzooError

    if precision not in PRECISIONS:
        raise GanzooError(f"precision {precision!r}: expected one of "
                          f"{', '.join(map(repr, PRECISIONS))}")
    device = model.device
    if precision == "auto":
        native = native_amp(device)
        resolved = "fp32" if native == "none" else native
    else:
        resolved = precision
    if channels_last is None:
        channels_last = precision != "fp32" and bool(getattr(model, "fast_channels_last", False))
    return InferencePlan(precision=resolved, requested=precision, channels_last=channels_last,
                         compile=bool(compile), device=str(device))


class FastPath:
    """``model``'s inference verbs under ``plan`` (an :class:`InferencePlan`): the same
    methods and arguments as the model's kind (``generate``, ``translate``, ``upscale``), run
    in eval mode without gradients, returning float32 images in [-1, 1]. A call swaps the
    model's generator components for their copies, so one model's fast path is for one thread
    at a time."""

    def __init__(self, model, plan: InferencePlan):
        self.model, self.plan = model, plan
        self._swaps: dict[str, torch.nn.Module] = {}
        if plan.channels_last or plan.compile:
            for name in model.generator_components:
                module = getattr(model, name)
                if plan.channels_last:  # a copy: the model's own weights stay contiguous
                    module = copy.deepcopy(module).to(memory_format=torch.channels_last)
                if plan.compile:
                    module = torch.compile(module)
                self._swaps[name] = module

    def __repr__(self) -> str:
        return f"FastPath({self.model.architecture}: {self.plan.describe()})"

    @contextlib.contextmanager
    def applied(self) -> Iterator[None]:
        """Within it, the model computes under the plan (its own methods, any of them)."""
        model = self.model
        originals = {name: getattr(model, name) for name in self._swaps}
        was_training = model.training
        autocast = (torch.autocast(torch.device(self.plan.device).type, dtype=self.plan.dtype)
                    if self.plan.dtype is not None else contextlib.nullcontext())
        try:
            for name, module in self._swaps.items():
                setattr(model, name, module)
            model.eval()  # after the swap: the copies too
            with torch.no_grad(), autocast:
                yield
        finally:
            for name, module in originals.items():
                setattr(model, name, module)
            model.train(was_training)

    def _run(self, kind: type, verb: str, *args: Any, **kwargs: Any) -> torch.Tensor:
        if not isinstance(self.model, kind):
            from ganzoo.base.errors import GanzooError
            from ganzoo.nn.kinds import describe

            raise GanzooError(f"{describe(self.model)} has no {verb}(): it is for "
                              f"ganzoo.{kind.__name__} models")
        with self.applied():
            out = getattr(self.model, verb)(*args, **kwargs)
        return out.float().contiguous()

    def generate(self, n: int, **kwargs: Any) -> torch.Tensor:
        """:meth:`ganzoo.LatentGenerator.generate` under the plan."""
        from ganzoo.nn.kinds import LatentGenerator

        return self._run(LatentGenerator, "generate", n, **kwargs)

    def translate(self, images: Any, direction: str | None = None) -> torch.Tensor:
        """:meth:`ganzoo.Translator.translate` under the plan."""
        from ganzoo.nn.kinds import Translator

        return self._run(Translator, "translate", images, direction=direction)

    def upscale(self, images: Any, **kwargs: Any) -> torch.Tensor:
        """:meth:`ganzoo.Upscaler.upscale` under the plan."""
        from ganzoo.nn.kinds import Upscaler

        return self._run(Upscaler, "upscale", images, **kwargs)
