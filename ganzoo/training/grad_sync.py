"""Averaging one optimizer's gradients over the ranks while the backward pass still runs.

What DDP's reducer does, for the update pattern of a GAN step: each parameter gets a
post-accumulate-grad hook; the parameters are grouped into buckets of about ``bucket_mb``
megabytes (whole tensors, in reverse registration order, which is roughly the order backward
finishes them); when the last gradient of a bucket is final, the bucket is flattened and its
all-reduce starts asynchronously, so the exchange of the last layers' gradients overlaps the
backward of the first layers. Right before the optimizer steps, every exchange is waited for and
the averaged gradients are written back.

Why not DDP itself: a GAN step backwards D on real and fake batches, and G through a frozen D,
and the reducer fires on every backward of the wrapped module. Here a sync belongs to one
optimizer and is *armed* only around the backward of that optimizer's update
(:meth:`StepContext.update <ganzoo.training.context.StepContext.update>` does it), so D's
gradients computed during G's update (the reference step, without ``ctx.frozen``) never fire it,
and a parameter used twice in one forward (D on real and on fake) finishes once, as autograd
accumulates both uses before the hook runs.

Buckets are launched strictly in their order, so every rank issues the same collectives in the
same order whatever order its hooks fire in. A parameter that requires a gradient but gets none
in this backward holds its bucket (and every later one) back until the backward ends; then the
rest go out, as the flattened path would (the ranks must agree on which parameters have
gradients, as they always had to).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence

import torch
import torch.distributed as dist
from torch import nn

#: DDP's default bucket size.
DEFAULT_BUCKET_MB = 25.0
#: DDP's first bucket (the last layers) is smaller, so that an exchange starts early in the
#: backward even for networks smaller than one bucket (most GANs' are: DCGAN's 64x64 generator
#: is 14 MB).
FIRST_BUCKET_BYTES = 2**20


class _Bucket:
    __slots__ = ("params", "pending", "flat", "work", "grads")

    def __init__(self) -> None:
        self.params: list[nn.Parameter] = []
        self.pending = 0  # gradients still to be finished in the armed backward
        self.flat: torch.Tensor | None = None
        self.work = None
        self.grads: list[torch.Tensor] = []


def plan_buckets(params: Sequence[nn.Parameter], bucket_bytes: int,
                 first_bucket_bytes: int | None = None) -> list[list[nn.Parameter]]:
    """The buckets of ``params``: whole tensors in reverse order, one device and dtype per
    bucket, each closed once it holds ``bucket_bytes`` or more (a tensor larger than that is a
    bucket of its own); the first bucket of each kind closes at ``first_bucket_bytes`` (default:
    ``bucket_bytes``) when that is smaller."""
    first = min(bucket_bytes, first_bucket_bytes or bucket_bytes)
    buckets: list[list[nn.Parameter]] = []
    open_by_kind: dict[tuple, list[nn.Parameter]] = {}
    sizes: dict[tuple, int] = {}
    started: set[tuple] = set()
    for p in reversed(params):
        kind = (p.device, p.dtype)
        if kind not in open_by_kind:
            open_by_kind[kind] = []
            sizes[kind] = 0
            buckets.append(open_by_kind[kind])
        open_by_kind[kind].append(p)
        sizes[kind] += p.numel() * p.element_size()
        if sizes[kind] >= (bucket_bytes if kind in started else first):
            del open_by_kind[kind]
            started.add(kind)
    return buckets


class GradientSync:
    """Averages the gradients of ``params`` over the ranks of the default process group, each
    bucket's all-reduce started from the backward as soon as its gradients are final.

    ``with sync.overlapping(): loss.backward()`` arms the hooks for that one backward; when the
    block ends, the remaining buckets are sent, every exchange is waited for and each gradient
    is replaced by its mean over the ranks.
    """

    def __init__(self, params: Sequence[nn.Parameter], world_size: int, *,
                 bucket_mb: float = DEFAULT_BUCKET_MB):
        self.params = list(params)
        self.world_size = world_size
        self.buckets: list[_Bucket] = []
        self._bucket_of: dict[int, _Bucket] = {}
        for members in plan_buckets(self.params, max(1, int(bucket_mb * 2**20)),
                                    FIRST_BUCKET_BYTES):
            bucket = _Bucket()
            bucket.params = members
            self.buckets.append(bucket)
            for p in members:
                self._bucket_of[id(p)] = bucket
        self._armed = False
        self._next = 0  # the first bucket not yet launched
        #: How many buckets of the last update started their exchange inside the backward
        #: (the rest went out after it), and the seconds the update then waited for the
        #: exchanges once the backward had ended (what the overlap did not hide).
        self.overlapped = 0
        self.exposed_s = 0.0
        self._hooks = [p.register_post_accumulate_grad_hook(self._finished) for p in self.params]

    def covers(self, params: Sequence[nn.Parameter]) -> bool:
        """Does this sync average exactly ``params`` (the same tensors, in the same order)?"""
        return len(params) == len(self.params) and all(
            a is b for a, b in zip(params, self.params, strict=True))

    def close(self) -> None:
        """Remove the hooks (the sync does nothing any more)."""
        for handle in self._hooks:
            handle.remove()
        self._hooks = []

    @contextlib.contextmanager
    def overlapping(self) -> Iterator[None]:
        """Arm the hooks for the backward inside the block; average when it ends."""
        for bucket in self.buckets:
            # A frozen parameter (``ctx.frozen``, a frozen discriminator) gets no gradient: its
            # bucket does not wait for it.
            bucket.pending = sum(p.requires_grad for p in bucket.params)
            bucket.flat = bucket.work = None
        self._next = self.overlapped = 0
        self._armed = True
        try:
            yield
        except BaseException:
            self._armed = False
            self._drain()  # a launched exchange is finished before the error goes on
            raise
        self._armed = False
        start = time.perf_counter()
        self._launch_ready(final=True)
        self._drain(write_back=True)
        self.exposed_s = time.perf_counter() - start

    # -- inside the backward ----------------------------------------------------------------
    def _finished(self, param: nn.Parameter) -> None:
        if not self._armed:
            return  # another optimizer's backward (or one outside ctx.update)
        bucket = self._bucket_of[id(param)]
        bucket.pending -= 1
        if bucket.pending == 0:
            self._launch_ready()

    def _launch_ready(self, final: bool = False) -> None:
        """Start the all-reduce of each bucket, in order, up to the first one still waiting
        for a gradient (``final``: all of them)."""
        while self._next < len(self.buckets):
            bucket = self.buckets[self._next]
            if bucket.pending > 0 and not final:
                return
            self._next += 1
            bucket.grads = [p.grad for p in bucket.params if p.grad is not None]
            if not bucket.grads:
                continue
            bucket.flat = torch.cat([g.reshape(-1) for g in bucket.grads])
            bucket.work = dist.all_reduce(bucket.flat, async_op=True)
            self.overlapped += not final

    def _drain(self, write_back: bool = False) -> None:
        for bucket in self.buckets:
            if bucket.work is not None:
                bucket.work.wait()
                if write_back:
                    bucket.flat /= self.world_size
                    offset = 0
                    for g in bucket.grads:
                        g.copy_(bucket.flat[offset:offset + g.numel()].view_as(g))
                        offset += g.numel()
            bucket.flat = bucket.work = None
            bucket.grads = []
