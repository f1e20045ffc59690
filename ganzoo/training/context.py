"""What a trainer's step function receives besides the batch: losses, AMP, updates, devices."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

import attrs
import torch
from torch import nn

from .. import plugins
from . import distributed
from ..registry import load_ref


@attrs.frozen
class AdversarialLoss:
    """A registered adversarial loss: ``d(real_logits, fake_logits)`` and ``g(fake_logits)``."""

    name: str
    d: Any
    g: Any


def pick_device(name: str) -> torch.device:
    """``auto`` picks CUDA, then Apple's MPS, then the CPU."""
    if name != "auto":
        device = torch.device(name)
        if device.type == "cuda" and not torch.cuda.is_available():
            from ..errors import RecipeError

            raise RecipeError(f"[train] device = {name!r} but CUDA is not available here; "
                              "use device = \"auto\" or \"cpu\"")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def native_amp(device: torch.device) -> str:
    """The mixed precision ``device`` runs natively: ``"bf16"``, ``"fp16"`` or ``"none"``."""
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if device.type == "cpu":
        # Native bf16 instructions only: oneDNN also runs bf16 on plain AVX-512 by emulation,
        # which is slower than fp32, so "supports bf16" is not enough for a default.
        checks = (getattr(torch.cpu, "_is_avx512_bf16_supported", None),
                  getattr(torch.cpu, "_is_amx_tile_supported", None))
        if any(check is not None and check() for check in checks):
            return "bf16"
    return "none"


def default_optimizers(model, cfg, ctx) -> dict[str, torch.optim.Optimizer]:
    """Adam for every network of ``model``: ``lr_gen`` for the generator side, ``lr_disc`` for
    the rest (the papers' usual setup; a trainer registers its own function to differ)."""
    return {name: ctx.adam(getattr(model, name).parameters(),
                           cfg.lr_gen if name in model.generator_components else cfg.lr_disc)
            for name in model.components}


class StepContext:
    """Helpers for a step function, so that it reads top to bottom.

    ``ctx.autocast()`` enters mixed precision when the recipe asks for it; ``ctx.update(opt, loss)``
    does zero-grad, (scaled) backward and the optimizer step; ``ctx.frozen(net)`` skips weight
    gradients of a network that is not being updated.
    """

    def __init__(self, cfg, device: torch.device):
        self.cfg = cfg
        self.device = device
        self.step = 0
        amp = getattr(cfg, "amp", "none")
        if amp == "auto":
            amp = native_amp(device)
        #: The precision actually used (``"auto"`` resolved for this device).
        self.amp = amp
        self.amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(amp)
        self.scalers: dict[str, torch.amp.GradScaler] = {}
        self._losses: dict[str, Any] = {}
        #: ``frozen`` skips weight gradients of the network not being updated; the reference
        #: step of the benchmarks turns this and the next two off, to do exactly what the papers'
        #: code does.
        self.freeze = True
        #: The fused Adam kernel where the device has one (off: the per-tensor reference loop).
        self.fused_adam = True
        #: Release each optimizer's gradients right after its step (off: they live until the
        #: next ``zero_grad``, as in the reference code).
        self.release_grads = True
        #: Tensors a trainer keeps between steps (CycleGAN's image pool ...): saved in every
        #: checkpoint and restored on resume, so a resumed run continues exactly. Never part of
        #: the published weights.
        self.state: dict[str, torch.Tensor] = {}
        #: The training processes (torchrun); gradients are averaged over them at each update.
        self.world = distributed.SINGLE

    # -- losses -----------------------------------------------------------------------------
    def loss(self, name: str):
        """The registered loss ``name``: an :class:`AdversarialLoss` or a plain function."""
        if name not in self._losses:
            entry = plugins.registry("losses").get(name)
            if entry.kind == "adversarial":
                self._losses[name] = AdversarialLoss(name, load_ref(entry.fn), load_ref(entry.g_fn))
            else:
                self._losses[name] = load_ref(entry.fn)
        return self._losses[name]

    # -- precision and memory format --------------------------------------------------------
    def autocast(self) -> contextlib.AbstractContextManager:
        """Mixed precision for the block, if the recipe asks for it.

        Low-precision copies of the weights are cached only where autograd keeps them anyway
        (gradients enabled, a weight used twice in one step casts once); under ``no_grad``
        (sample grids, evaluation) each copy is dropped after its operation, so inference needs
        no more memory than in fp32.
        """
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype,
                              cache_enabled=torch.is_grad_enabled())

    def to_device(self, batch: dict[str, Any]) -> dict[str, Any]:
        channels_last = getattr(self.cfg, "channels_last", False)
        out = {}
        for key, value in batch.items():
            if isinstance(value, torch.Tensor):
                value = value.to(self.device, non_blocking=True)
                if channels_last and value.dim() == 4:
                    value = value.contiguous(memory_format=torch.channels_last)
            out[key] = value
        return out

    # -- updates ----------------------------------------------------------------------------
    def adam(self, params: Iterable[nn.Parameter], lr: float) -> torch.optim.Adam:
        """Adam with the recipe's betas; the fused kernel where the device has one."""
        if self.fused_adam and self.device.type in ("cuda", "cpu"):
            return torch.optim.Adam(list(params), lr=lr, betas=tuple(self.cfg.betas), fused=True)
        return torch.optim.Adam(list(params), lr=lr, betas=tuple(self.cfg.betas), foreach=False)

    def update(self, opt: torch.optim.Optimizer, loss: torch.Tensor, *, key: str = "") -> None:
        """Zero the gradients, back-propagate ``loss`` and step ``opt`` (with fp16 loss scaling).

        Under torchrun the gradients are averaged over the ranks between backward and step. The
        gradients are released after the step: a GAN step updates its networks in turn, and one
        network's gradients need not stay alive while the next one computes its own.
        """
        opt.zero_grad(set_to_none=True)
        params = [p for group in opt.param_groups for p in group["params"]]
        if self.amp_dtype is torch.float16:
            scaler = self.scalers.setdefault(key or str(id(opt)),
                                             torch.amp.GradScaler(self.device.type))
            scaler.scale(loss).backward()
            distributed.average_gradients(params, self.world)
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            distributed.average_gradients(params, self.world)
            opt.step()
        if self.release_grads:
            opt.zero_grad(set_to_none=True)

    @contextlib.contextmanager
    def frozen(self, *modules: nn.Module) -> Iterator[None]:
        """Turn off weight gradients of ``modules`` inside the block (inputs still get gradients)."""
        if not self.freeze:
            yield
            return
        params = [p for m in modules for p in m.parameters() if p.requires_grad]
        for p in params:
            p.requires_grad_(False)
        try:
            yield
        finally:
            for p in params:
                p.requires_grad_(True)
