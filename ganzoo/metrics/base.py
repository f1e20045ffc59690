"""What every metric shares: the protocol recorded with each score, the ``Metric`` base class, and
:func:`evaluate`, which looks metrics up in the registry by name.

A score is only comparable with another one measured under the same protocol: the same real data
and number of samples, the same feature extractor (down to its weights' hash), the same resizing and
the same seed. So every :class:`Score` carries its :class:`Protocol`.

This module imports no torch at import time.
"""

from __future__ import annotations

import abc
import contextlib
import contextvars
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import attrs

from ganzoo.base.errors import GanzooError, PluginError

#: Images are generated in chunks of at most this many (one call when ``n`` fits).
GENERATE_BATCH = 500


@attrs.frozen(kw_only=True)
class Protocol:
    """How a score was measured.

    ``n_real``/``n_fake``: real and generated samples used (0 when a metric uses none);
    ``extractor``: the feature extractor or classifier (``""`` for none) and ``extractor_sha256``
    the hash of its weights file; ``resizer``: how images were brought to the extractor's input;
    ``seed``: the seed of generation and of any subsampling; ``real_data``: which real images;
    ``extra``: anything else the metric needs to be reproduced (subset sizes, k of k-NN ...).
    """

    n_real: int
    n_fake: int
    extractor: str
    extractor_sha256: str | None
    resizer: str
    seed: int
    real_data: str
    extra: dict[str, Any] = attrs.field(factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen(kw_only=True)
class Score:
    """One metric's value, its protocol, and details (per-class accuracy, a KID's std ...)."""

    name: str
    value: float = attrs.field(converter=float)
    protocol: Protocol
    details: dict[str, Any] = attrs.field(factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "protocol": self.protocol.to_dict(),
                "details": self.details}


class Metric(abc.ABC):
    """Base class of metrics. Subclasses set ``name`` and implement :meth:`compute`.

    The registry's ``compute`` reference points at a subclass (or any callable returning an
    instance): :func:`evaluate` calls it with no arguments, then ``compute(model, n=, seed=,
    device=)``. Use :meth:`protocol` and :meth:`score` to build the result, so that no score goes
    out without its protocol.
    """

    name: ClassVar[str] = ""
    #: Defaults for :meth:`protocol`; a metric may set them per instance instead.
    extractor: str = ""
    extractor_sha256: str | None = None
    resizer: str = "none"
    real_data: str = "none"

    #: Metrics that compare with held-out ground truth set this; they get ``data=`` (a dataset of
    #: the held-out split, as the recipe's dataset builds it) in :meth:`compute`.
    needs_data: ClassVar[bool] = False

    @abc.abstractmethod
    def compute(self, model: Any, *, n: int, seed: int, device: Any) -> Score:
        """Measure ``model`` with ``n`` generated samples drawn with ``seed`` on ``device``."""

    def protocol(self, *, n_real: int, n_fake: int, seed: int, **fields: Any) -> Protocol:
        """A :class:`Protocol` with this metric's extractor, resizer and real data unless given."""
        defaults = {"extractor": self.extractor, "extractor_sha256": self.extractor_sha256,
                    "resizer": self.resizer, "real_data": self.real_data}
        return Protocol(n_real=n_real, n_fake=n_fake, seed=seed, **{**defaults, **fields})

    def score(self, value: float, protocol: Protocol, details: dict[str, Any] | None = None,
              ) -> Score:
        return Score(name=self.name, value=value, protocol=protocol, details=details or {})

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def metric_for(name: str) -> Metric:
    """An instance of the registered metric ``name`` (an :class:`UnknownNameError` if none)."""
    import ganzoo.plugin.manager as plugins
    from ganzoo.plugin.registry import load_ref

    entry = plugins.registry("metrics").get(name)
    metric = load_ref(entry.compute)()
    if not isinstance(metric, Metric):
        raise PluginError(f"metric {name!r} (plugin {entry.plugin}): {entry.compute} must be a "
                          f"ganzoo.metrics.Metric subclass or return an instance of one, "
                          f"not {type(metric).__name__}")
    if metric.name != name:  # one class may serve several names: the registered one wins
        metric.name = name
    return metric


def evaluate(model: Any, names: list[str], *, n: int = 1000, seed: int = 0,
             device: Any = "cpu", data: Any = None) -> dict[str, Score]:
    """Scores of ``model`` for the registered metrics ``names``, by name.

    ``model`` is a :class:`ganzoo.GANModel` (or any object with ``generate(n, seed=...)``), or
    anything :func:`ganzoo.load` accepts. Every name is looked up before anything is computed, so a
    misspelt one fails at once (:class:`ganzoo.UnknownNameError`). ``data`` is the held-out split
    for metrics with ``needs_data`` (paired translation); they fail clearly without it. Generated
    images and features are
    shared between the metrics of one call; a model in training mode is put in eval mode for the
    call and back afterwards.
    """
    if isinstance(names, str):
        names = [names]
    if n < 1:
        raise GanzooError(f"evaluate: n must be at least 1, got {n}")
    metrics = [metric_for(name) for name in dict.fromkeys(names)]
    if isinstance(model, (str, Path)):
        from ganzoo import load

        model = load(str(model), device=str(device))
    import torch

    was_training = getattr(model, "training", None)
    if was_training:
        model.eval()
    try:
        with torch.no_grad(), _shared_cache():
            scores = {}
            for m in metrics:
                if m.needs_data:
                    if data is None:
                        raise GanzooError(f"metric {m.name!r} compares with held-out ground "
                                          "truth: give data= (the test split)")
                    scores[m.name] = m.compute(model, n=n, seed=seed, device=device, data=data)
                else:
                    scores[m.name] = m.compute(model, n=n, seed=seed, device=device)
            return scores
    finally:
        if was_training:
            model.train()


# -- sharing work between the metrics of one evaluate() call ---------------------------------------
_CACHE: contextvars.ContextVar[dict | None] = contextvars.ContextVar("ganzoo_metrics_cache",
                                                                     default=None)


@contextlib.contextmanager
def _shared_cache() -> Iterator[None]:
    token = _CACHE.set({})
    try:
        yield
    finally:
        _CACHE.reset(token)


def cached(key: tuple, make: Callable[[], Any]) -> Any:
    """``make()``, computed once per key within one :func:`evaluate` call (always outside one)."""
    cache = _CACHE.get()
    if cache is None:
        return make()
    if key not in cache:
        cache[key] = make()
    return cache[key]


def generate_images(model: Any, n: int, *, seed: int, labels: list[int] | None = None,
                    batch_size: int | None = None):
    """``n`` images from ``model.generate`` (``labels`` for conditional models), float32 on CPU.

    Up to ``batch_size`` (default :data:`GENERATE_BATCH`) images come from one
    ``generate(n, seed=seed)`` call; more are drawn in
    chunks whose seeds derive from ``seed``. Shared within one :func:`evaluate` call.
    """
    key = ("generated", id(model), n, seed, None if labels is None else tuple(labels))
    return cached(key, lambda: _generate(model, n, seed, labels, batch_size or GENERATE_BATCH))


def _generate(model, n, seed, labels, batch_size):
    import torch

    from ganzoo.nn.kinds import LatentGenerator, Translator, describe
    from ganzoo.nn.model import GANModel

    if isinstance(model, GANModel) and not isinstance(model, LatentGenerator):
        hint = ("; translators are scored against held-out pairs: paired-l1, psnr, ssim"
                if isinstance(model, Translator) else "")
        raise GanzooError(f"this metric scores images drawn from z, but {model.architecture} "
                          f"is {describe(model)}{hint}")

    chunks = math.ceil(n / batch_size)
    seeds = [seed] if chunks == 1 else torch.randint(
        0, 2**62, (chunks,), generator=torch.Generator().manual_seed(seed)).tolist()
    out = []
    for i, chunk_seed in enumerate(seeds):
        start, stop = i * batch_size, min(n, (i + 1) * batch_size)
        kwargs = {} if labels is None else {"labels": list(labels[start:stop])}
        images = model.generate(stop - start, seed=chunk_seed, **kwargs)
        out.append(images.detach().to("cpu", torch.float32))
    images = torch.cat(out)
    if images.ndim != 4 or len(images) != n:
        raise GanzooError(f"{type(model).__name__}.generate({n}) returned shape "
                          f"{tuple(images.shape)}; expected [{n}, C, H, W]")
    if not torch.isfinite(images).all():
        raise GanzooError(f"{type(model).__name__}.generate returned NaN or infinite values")
    return images
