"""The precision a run computes in, resolved once per run into a frozen record.

``[train] amp = "auto"`` depends on the machine; it is resolved here (and nowhere else) when the
session starts, agreed between torchrun ranks, and recorded in run.json so that a resumed run
keeps the precision it started in. The step's context receives the record.
"""

from __future__ import annotations

import attrs
import torch

from ganzoo.config.train_config import AMP_CHOICES, PRECISIONS
from ganzoo.nn.inference import native_amp  # one answer to "what runs natively", for both

_DTYPES = {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}


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
