"""The precision a run computes in, resolved once per run into a frozen record.

``[train] amp = "auto"`` depends on the machine; it is resolved here (and nowhere else) when the
session starts, agreed between torchrun ranks, and recorded in run.json so that a resumed run
keeps the precision it started in. The step's context receives the record.
"""

from __future__ import annotations

import os

import attrs
import torch

from ganzoo.config.train_config import AMP_CHOICES, PRECISIONS
_DTYPES = {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def native_amp(device: torch.device) -> str:
    """The mixed precision ``device`` runs natively: ``"bf16"``, ``"fp16"`` or ``"none"``."""
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if device.type == "cpu":
        # Native bf16 instructions only: oneDNN also runs bf16 on plain AVX-512 by emulation,
        # which is slower than fp32, so "supports bf16" is not enough for a default.
        checks = (getattr(torch.cpu, "_is_avx512_bf16_supported", None),
                  getattr(torch.cpu, "_is_amx_tile_supported", None))
        if _cpu_kernels_capped():
            return "none"
        if any(check is not None and check() for check in checks):
            return "bf16"
    return "none"


def _cpu_kernels_capped() -> bool:
    """True when torch's kernels may not use AVX-512 here although the CPU has it
    (``ATEN_CPU_CAPABILITY=avx2`` or a ``ONEDNN_MAX_CPU_ISA`` below AVX512_CORE_BF16): the CPU
    flags then say bf16 while every bf16 convolution runs emulated (a pix2pix step measured x0.06 of its fp32 speed)."""
    if torch.backends.cpu.get_cpu_capability() not in ("AVX512", "AMX"):
        return True
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "ALL").upper()
    return not (isa == "ALL" or "BF16" in isa or "AMX" in isa or "FP16" in isa
                or isa.startswith("AVX10"))


@attrs.frozen(kw_only=True)
class Precision:
    """How a run computes: ``amp`` is ``"none"`` (fp32), ``"bf16"`` or ``"fp16"`` (with loss
    scaling), never ``"auto"``; ``requested`` is what the recipe said."""

    amp: str = attrs.field(validator=attrs.validators.in_(PRECISIONS))
    requested: str = attrs.field(validator=attrs.validators.in_(AMP_CHOICES))

    @property
    def dtype(self) -> torch.dtype | None:
        """The autocast dtype (None: fp32, no autocast)."""
        return _DTYPES[self.amp]

    @property
    def scaled(self) -> bool:
        """fp16 gradients need loss scaling (bf16 has fp32's range and does not)."""
        return self.amp == "fp16"


def resolve(amp: str, device: torch.device) -> Precision:
    """``amp`` (a ``[train] amp`` value) for ``device``: ``"auto"`` becomes its native one."""
    return Precision(amp=native_amp(device) if amp == "auto" else amp, requested=amp)
