"""How much memory a config asks for, measured before anything is allocated.

Every field of a config has its own cap, but a tiny file can still set every field at its cap and
ask for tens of GiB (a 403-byte DCGAN ``config.json`` builds a 25 GiB model). So before a model is
built for real, :func:`check` builds it on PyTorch's ``meta`` device (shapes, no storage), counts
its parameter and buffer bytes, runs one preview forward pass there with hooks that add up every
layer's output (the activations a training step keeps for backward), and refuses what exceeds a
cap tied to this machine's memory, in one line that states the estimate and how to raise the cap.

The cap is half the machine's physical memory, or ``GANZOO_MAX_MODEL_GIB`` (GiB) when set.
"""

from __future__ import annotations

import os
from typing import Any

import attrs

from ganzoo.base.errors import GanzooError

ENV_CAP = "GANZOO_MAX_MODEL_GIB"
GIB = 1 << 30
# A training step holds parameters, gradients and two Adam moments: four copies.
TRAINING_COPIES = 4


class TooLargeError(GanzooError):
    """A config, file or recipe asks for more memory than ganzoo's cap allows."""


@attrs.frozen(kw_only=True)
class Estimate:
    """Sizes in bytes of a model built from a config (batch of one for activations)."""

    parameters: int  # count
    weight_bytes: int  # parameters and buffers
    activation_bytes: int  # per item of a batch; 0 when the meta forward pass was not possible

    def total(self, *, batch_size: int = 1, training: bool = False) -> int:
        copies = TRAINING_COPIES if training else 1
        return self.weight_bytes * copies + self.activation_bytes * batch_size


def machine_memory() -> int | None:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def cap_bytes() -> tuple[int, str]:
    """The cap in bytes and where it comes from (for the message)."""
    raw = os.environ.get(ENV_CAP)
    if raw:
        try:
            gib = float(raw)
            if not gib > 0 or gib == float("inf"):
                raise ValueError
        except ValueError:
            raise TooLargeError(f"{ENV_CAP}={raw!r}: expected a positive number of GiB, "
                                "e.g. 64") from None
        return int(gib * GIB), f"{ENV_CAP}={raw}"
    memory = machine_memory() or 16 * GIB
    return memory // 2, f"half of this machine's {memory / GIB:.0f} GiB"


def estimate(architecture: str, config: Any, *, measure_activations: bool = True) -> Estimate:
    """Build ``architecture`` from ``config`` on the meta device and measure it."""
    import torch

    import ganzoo.plugin.manager as plugins
    from ganzoo.nn.meta_shapes import ShapesOnly
    from ganzoo.plugin.registry import load_ref

    entry = plugins.registry("architectures").get(architecture)
    # Nothing here may move the caller's random stream (an example batch made on the CPU draws).
    with torch.random.fork_rng(devices=[]), ShapesOnly():
        with torch.device("meta"):
            model = load_ref(entry.build)(config)
        tensors = [*model.parameters(), *model.buffers()]
        weight_bytes = sum(t.numel() * t.element_size() for t in tensors)
        parameters = sum(p.numel() for p in model.parameters())
        activations = _activation_bytes(model) if measure_activations else 0
    return Estimate(parameters=parameters, weight_bytes=weight_bytes,
                    activation_bytes=activations)


def _activation_bytes(model) -> int:
    """Bytes of all layer outputs of one preview pass of one item, on the meta device."""
    import torch

    total = [0]

    def count(_module, _inputs, output) -> None:
        if isinstance(output, torch.Tensor):
            total[0] += output.numel() * output.element_size()

    hooks = [m.register_forward_hook(count) for m in model.modules() if not list(m.children())]
    model.seeded = lambda seed, device: None  # a seeded generator cannot live on meta
    model.eval()  # the preview samples: batch norm of one item needs the running statistics
    try:
        with torch.no_grad():
            batch = _example_batch(model)
            with torch.device("meta"):
                model.preview(1, seed=0, batch=batch)
    except Exception:  # noqa: BLE001 - a model whose preview cannot run on meta: weights only
        return 0
    finally:
        for hook in hooks:
            hook.remove()
    return total[0]


def _example_batch(model) -> dict:
    """One item of the model's example batch on meta: made there (its images may be huge), or,
    for a batch drawn from data such as a caption's words, made on the CPU and moved."""
    import torch

    try:
        with torch.device("meta"):
            batch = model.example_batch(1)
    except NotImplementedError:  # "Cannot copy out of meta tensor": it looks at the values
        batch = model.example_batch(1)
    return {k: v.to("meta") if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def check(architecture: str, config: Any, *, source: str, batch_size: int = 1,
          training: bool = False) -> Estimate:
    """Refuse a config whose model would need more than the cap; return the estimate."""
    cap, why = cap_bytes()
    found = estimate(architecture, config, measure_activations=False)
    if found.total(batch_size=batch_size, training=training) <= cap:  # else: refused already
        found = estimate(architecture, config)
    need = found.total(batch_size=batch_size, training=training)
    if need > cap:
        what = (f"training at batch_size {batch_size}" if training
                else "loading it")
        raise TooLargeError(
            f"{source}: this {architecture} config needs about {need / GIB:.1f} GiB for {what} "
            f"({found.parameters / 1e6:.0f} M parameters, {found.weight_bytes / GIB:.1f} GiB of "
            f"weights, {found.activation_bytes * batch_size / GIB:.1f} GiB of activations), "
            f"over the {cap / GIB:.1f} GiB cap ({why}); use smaller sizes, or raise the cap "
            f"with {ENV_CAP}=N")
    return found
