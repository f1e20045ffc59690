"""What a trainer's step function receives besides the batch: losses, AMP, updates, devices."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

import attrs
import torch
from torch import nn

import ganzoo.plugin.manager as plugins
from ganzoo.training import distributed
from ganzoo.training.grad_sync import DEFAULT_BUCKET_MB, GradientSync
from ganzoo.plugin.registry import load_ref
from ganzoo.training.precision import Precision, native_amp, resolve
from ganzoo.training.schedules import lr_factor

__all__ = ["AdversarialLoss", "StepContext", "default_optimizers", "native_amp", "pick_device"]


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
            from ganzoo.base.errors import RecipeError

            raise RecipeError(f"[train] device = {name!r} but CUDA is not available here; "
                              "use device = \"auto\" or \"cpu\"")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


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

    def __init__(self, cfg, device: torch.device, precision: Precision | None = None):
        self.cfg = cfg
        self.device = device
        self.step = 0
        #: The run's precision, resolved once (the loop passes the record it agreed on).
        self.precision = precision or resolve(getattr(cfg, "amp", "none"), device)
        #: The precision actually used (``"auto"`` resolved for this device).
        self.amp = self.precision.amp
        self.amp_dtype = self.precision.dtype
        #: fp16 loss scalers by optimizer name: saved in checkpoints, so a resumed run
        #: continues with the scale it had.
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
        #: Batches moved to the device channels_last (the loop resolves ``"auto"`` with the model).
        self.channels_last = getattr(cfg, "channels_last", False) is True
        #: Tensors a trainer keeps between steps (CycleGAN's image pool ...): saved in every
        #: checkpoint and restored on resume, so a resumed run continues exactly. Never part of
        #: the published weights.
        self.state: dict[str, torch.Tensor] = {}
        #: The training processes (torchrun); gradients are averaged over them at each update.
        self.world = distributed.SINGLE
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        #: Each optimizer's gradient averaging over the ranks (by ``id``), made at its first
        #: update under torchrun.
        self._syncs: dict[int, GradientSync] = {}
        self._names: dict[int, str] = {}
        self._base_lrs: dict[str, list[float]] = {}
        self._disc_optimizers: set[int] = set()
        self._disc_params: list[nn.Parameter] = []
        #: True once ``[train] freeze_disc_after`` is reached: the discriminators no longer learn.
        self.disc_frozen = False

    # -- the lifecycle (called by the loop, not by steps) -----------------------------------
    def bind(self, optimizers: dict[str, torch.optim.Optimizer], model) -> None:
        """Learn the trainer's optimizers: their names (scalers and checkpoints are keyed by
        them), their initial learning rates (the schedule scales those) and which of them
        update a discriminator (a component outside ``model.generator_components``)."""
        self.optimizers = dict(optimizers)
        self._names = {id(opt): name for name, opt in self.optimizers.items()}
        self._base_lrs = {name: [group["lr"] for group in opt.param_groups]
                          for name, opt in self.optimizers.items()}
        discs = [getattr(model, name) for name in model.components
                 if name not in model.generator_components]
        self._disc_params = [p for d in discs for p in d.parameters()]
        disc_ids = {id(p) for p in self._disc_params}
        self._disc_optimizers = {
            id(opt) for opt in self.optimizers.values()
            if any(id(p) in disc_ids for group in opt.param_groups for p in group["params"])}

    def begin_step(self, step: int) -> None:
        """Before step ``step``: set every optimizer's learning rate from ``[train]
        lr_schedule`` and, from ``freeze_disc_after`` on, freeze the discriminators."""
        self.step = step
        factor = lr_factor(self.cfg, step)
        for name, opt in self.optimizers.items():
            for group, base in zip(opt.param_groups, self._base_lrs[name], strict=True):
                group["lr"] = base * factor
        freeze_after = getattr(self.cfg, "freeze_disc_after", None)
        if freeze_after is not None and step >= freeze_after and not self.disc_frozen:
            for p in self._disc_params:
                p.requires_grad_(False)
            self.disc_frozen = True

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

    def use_channels_last(self, model, *, started_in: bool | None = None) -> bool:
        """Resolve ``[train] channels_last`` for ``model`` (``"auto"``: its class's measured
        ``train_channels_last``, or ``started_in``, the layout a resumed run started in),
        remember it for the batches, and return it."""
        asked = getattr(self.cfg, "channels_last", False)
        if asked == "auto":
            measured = bool(getattr(model, "train_channels_last", False))
            self.channels_last = measured if started_in is None else started_in
        else:
            self.channels_last = asked is True
        return self.channels_last

    def to_device(self, batch: dict[str, Any]) -> dict[str, Any]:
        channels_last = self.channels_last
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

    def update(self, opt: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        """Zero the gradients, back-propagate ``loss`` and step ``opt`` (with fp16 loss scaling).

        One optimizer per call. Under torchrun the gradients are averaged over the ranks between
        backward and step, bucket by bucket while the backward still runs. The gradients are
        released after the step: a GAN step updates its networks in turn, and one network's
        gradients need not stay alive while the next one computes its own. Once the
        discriminators are frozen (``[train] freeze_disc_after``), an update of a discriminator
        optimizer does nothing.
        """
        if self.disc_frozen and id(opt) in self._disc_optimizers:
            return
        opt.zero_grad(set_to_none=True)
        if self.precision.scaled:
            # Keyed by the optimizer's name, so that the checkpoint's scale finds its optimizer
            # again in a resumed run (an optimizer not made by the loop gets a private key).
            key = self._names.get(id(opt)) or f"unnamed-{id(opt)}"
            scaler = self.scalers.setdefault(key, torch.amp.GradScaler(self.device.type))
            with self._averaging(opt):
                scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            with self._averaging(opt):
                loss.backward()
            opt.step()
        if self.release_grads:
            opt.zero_grad(set_to_none=True)

    def _averaging(self, opt: torch.optim.Optimizer) -> contextlib.AbstractContextManager:
        """Around the backward of ``opt``'s update: under torchrun, its gradients averaged over
        the ranks by the time the block ends (in buckets sent during the backward, or in one
        flattened exchange after it with ``[train] grad_bucket_mb = 0``)."""
        if not self.world.enabled:
            return contextlib.nullcontext()
        params = [p for group in opt.param_groups for p in group["params"]]
        bucket_mb = getattr(self.cfg, "grad_bucket_mb", DEFAULT_BUCKET_MB)
        if not bucket_mb:
            return _after(distributed.average_gradients, params, self.world)
        sync = self._syncs.get(id(opt))
        if sync is None or not sync.covers(params):  # a new optimizer, or new parameter groups
            if sync is not None:
                sync.close()
            sync = self._syncs[id(opt)] = GradientSync(params, self.world.size,
                                                       bucket_mb=bucket_mb)
        return sync.overlapping()

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


@contextlib.contextmanager
def _after(fn, *args) -> Iterator[None]:
    """Run ``fn(*args)`` when the block ends without an error."""
    yield
    fn(*args)
