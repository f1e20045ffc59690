"""Shapes of a model on PyTorch's ``meta`` device without torch's Python reference kernels.

The memory check of :mod:`ganzoo.nn.budget` builds a model on ``meta`` and runs one preview pass
there. Many meta kernels (elementwise ops, in-place initialisers, seeded draws, ``cat``, batch
norm, matrix products) are written in Python (``torch._refs``), and the first call of any of them
imports ``torch._dynamo``: two of the five seconds of a cold ``ganzoo sample``. :class:`ShapesOnly`
answers those ops from shapes alone, computing the result dtype on one-element CPU tensors; every
other op, and every case it does not recognise, runs torch's own meta kernel, so the shapes it
reports are always torch's (``tests/test_budget.py`` checks the estimates of every architecture
against a run without it).
"""

from __future__ import annotations

import torch
from torch.utils._python_dispatch import TorchDispatchMode

_SAME_SHAPE_AS_INPUT = {"_prelu_kernel"}
_BATCH_NORM = {"native_batch_norm", "_native_batch_norm_legit",
               "_native_batch_norm_legit_no_training"}
_NOT_IN_PLACE = {"resize_", "set_", "resize_as_"}  # in place, but they change the shape


def _one(value):
    """A one-element CPU stand-in of a tensor (same rank and dtype), for dtype probes."""
    if isinstance(value, torch.Tensor):
        return torch.zeros((1,) * value.dim(), dtype=value.dtype)
    return value


def _meta(shape, dtype) -> torch.Tensor:
    return torch.empty(tuple(shape), dtype=dtype, device="meta")


def _all_meta(values) -> bool:
    tensors = [v for v in values if isinstance(v, torch.Tensor)]
    return bool(tensors) and all(t.is_meta for t in tensors)


class ShapesOnly(TorchDispatchMode):
    """Inside ``with ShapesOnly():``, ops on meta tensors skip torch's Python meta kernels."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # TorchDispatchMode wraps __torch_dispatch__ in torch._disable_dynamo, whose first call
        # imports torch._dynamo: the very import this mode exists to avoid. Nothing compiles here.
        return False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        answer = _answer(func, args, kwargs)
        return func(*args, **kwargs) if answer is None else answer


def _answer(func, args, kwargs):
    """The op's meta result from shapes, or None to let torch compute it."""
    schema = func._schema
    name = schema.name.split("::")[-1]
    first = schema.arguments[0] if schema.arguments else None
    if (first is not None and first.alias_info is not None and first.alias_info.is_write
            and args and isinstance(args[0], torch.Tensor) and args[0].is_meta
            and name not in _NOT_IN_PLACE):
        return args[0]  # in place on a meta tensor (initialisers, relu_, add_): nothing to do
    if "out" in kwargs:
        return None
    if torch.Tag.nondeterministic_seeded in func.tags:
        return _seeded_factory(func, schema, args, kwargs)
    if name == "eye" and str(kwargs.get("device")) == "meta":
        n, m = (args[0], args[1] if len(args) > 1 else args[0])
        return _meta((n, m), func(*[1] * len(args), **{**kwargs, "device": "cpu"}).dtype)
    if name in ("cat", "stack"):
        return _concatenate(func, name, args, kwargs)
    if not _all_meta((*args, *kwargs.values())):
        return None
    if name == "convolution":
        return _convolution(*args, **kwargs)
    if name in _BATCH_NORM:
        return _batch_norm(func, args, kwargs)
    if name in ("mm", "addmm", "bmm"):
        a, b = (args[1], args[2]) if name == "addmm" else (args[0], args[1])
        if a.dim() != b.dim() or a.shape[-1] != b.shape[-2]:
            return None
        return _meta((*a.shape[:-1], b.shape[-1]), a.dtype)
    if name in _SAME_SHAPE_AS_INPUT:
        return _meta(args[0].shape, func(*map(_one, args), **kwargs).dtype)
    if torch.Tag.pointwise in func.tags or name in ("floor_divide", "where"):
        tensors = [v for v in (*args, *kwargs.values()) if isinstance(v, torch.Tensor)]
        shape = _broadcast([t.shape for t in tensors])
        if shape is None:
            return None
        probe = func(*map(_one, args), **{k: _one(v) for k, v in kwargs.items()})
        return _meta(shape, probe.dtype) if isinstance(probe, torch.Tensor) else None
    return None


def _broadcast(shapes) -> tuple[int, ...] | None:
    """NumPy broadcasting of ``shapes``, or None where they do not broadcast (torch's own
    ``broadcast_shapes`` imports the symbolic-shapes machinery, half a second)."""
    rank = max(len(shape) for shape in shapes)
    out = []
    for axis in range(-rank, 0):
        sizes = {shape[axis] for shape in shapes if len(shape) >= -axis} - {1}
        if len(sizes) > 1:
            return None
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def _seeded_factory(func, schema, args, kwargs):
    """``randn``/``rand``/``randint`` of a ``size`` on meta: an empty tensor of that size."""
    names = [a.name for a in schema.arguments]
    if ("size" not in names or str(kwargs.get("device")) != "meta"
            or any(isinstance(v, torch.Tensor) for v in (*args, *kwargs.values()))):
        return None
    where = names.index("size")
    size = args[where] if where < len(args) else kwargs["size"]
    probe_args = [[0] * len(size) if i == where else a for i, a in enumerate(args)]
    probe_kwargs = {**kwargs, "device": "cpu"}
    if where >= len(args):
        probe_kwargs["size"] = [0] * len(size)
    if "generator" in names:  # the caller's generator lives on meta; the probe draws nothing
        g = names.index("generator")
        if g < len(probe_args):
            probe_args[g] = None
        else:
            probe_kwargs["generator"] = None
    return _meta(size, func(*probe_args, **probe_kwargs).dtype)


def _concatenate(func, name, args, kwargs):
    tensors = list(args[0])
    dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
    if not tensors or not all(t.is_meta for t in tensors) or len({t.dim() for t in tensors}) != 1:
        return None
    shape = list(tensors[0].shape)
    if name == "stack":
        if len({t.shape for t in tensors}) != 1:
            return None
        shape.insert(dim % (len(shape) + 1), len(tensors))
    else:
        d = dim % len(shape)
        if len({t.shape[:d] + t.shape[d + 1:] for t in tensors}) != 1:
            return None
        shape[d] = sum(t.shape[d] for t in tensors)
    return _meta(shape, func([_one(t) for t in tensors], dim).dtype)


def _convolution(input, weight, bias, stride, padding, dilation, transposed,  # noqa: A002
                 output_padding, groups):
    """``aten.convolution``'s output (its schema's argument names): PyTorch's documented size
    formulas for Conv and ConvTranspose."""
    x = input
    spatial = x.dim() - 2
    if weight.dim() != x.dim() or spatial < 1:
        return None

    def per_axis(values):
        values = list(values)
        return values * spatial if len(values) == 1 else values

    stride, padding, dilation, output_padding = map(per_axis, (stride, padding, dilation,
                                                               output_padding))
    sizes = []
    for i in range(spatial):
        size, kernel = x.shape[2 + i], weight.shape[2 + i]
        reach = dilation[i] * (kernel - 1)
        if transposed:
            sizes.append((size - 1) * stride[i] - 2 * padding[i] + reach + output_padding[i] + 1)
        else:
            sizes.append((size + 2 * padding[i] - reach - 1) // stride[i] + 1)
    if min(sizes) < 1:
        return None  # torch's kernel says why
    channels = weight.shape[1] * groups if transposed else weight.shape[0]
    return _meta((x.shape[0], channels, *sizes), x.dtype)


def _batch_norm(func, args, kwargs):
    """Batch norm's output has the input's shape; the saved statistics are per channel."""
    x = args[0]
    if x.dim() < 2 or not x.numel():
        return None
    probe_x = torch.zeros((2, x.shape[1]) + (1,) * (x.dim() - 2), dtype=x.dtype)
    rest = [torch.zeros(a.shape, dtype=a.dtype) if isinstance(a, torch.Tensor) else a
            for a in args[1:]]
    out = func(probe_x, *rest, **kwargs)
    return (_meta(x.shape, out[0].dtype), *(_meta(o.shape, o.dtype) for o in out[1:]))
