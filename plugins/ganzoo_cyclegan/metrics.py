"""Held-out metrics for unpaired translation whose ground truth is known (dataset
``digit-styles``): every test item holds an A image, its true B counterpart and its digit.

- ``counterpart-l1``: mean absolute error of ``translate(a)`` against the true B counterpart
  (details: the same for B -> A, and for the untranslated input, the do-nothing baseline).
- ``digit-identity``: how often ganzoo's digits classifier reads the source digit in
  ``translate(a)`` (details: B -> A, and the classifier on the real A and B images).

A model without a ``direction`` argument to ``translate`` (pix2pix) is scored A -> B only.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch

from ganzoo.base.errors import DataError
from ganzoo.metrics import Metric
from ganzoo.metrics.paired import l1


def _directions(model) -> tuple[str, ...]:
    if "direction" not in inspect.signature(model.translate).parameters:
        return ("ab",)
    return tuple(getattr(model, "directions", ("ab", "ba")))


def _translate(model, images, direction: str):
    if "direction" in inspect.signature(model.translate).parameters:
        return model.translate(images, direction=direction)
    return model.translate(images)


def _describe(data) -> str:
    import attrs

    cfg = getattr(data, "cfg", None)
    fields = attrs.asdict(cfg) if cfg is not None and attrs.has(type(cfg)) else {}
    args = ", ".join(f"{k}={v}" for k, v in fields.items())
    return f"{type(data).__name__}({args}), test split, {len(data)} items"


def _held_out(data, n: int, name: str, batch_size: int = 64):
    """Batches of ``(a, b, label)`` of the first ``min(n, len(data))`` items, in order."""
    if not getattr(data, "counterparts", False):
        raise DataError(f"metric {name!r} needs held-out items whose B image is the true "
                        f"counterpart of their A image (dataset 'digit-styles'); "
                        f"{_describe(data)} has none")
    count = min(n, len(data))
    if not count:
        raise DataError(f"metric {name!r}: the held-out data is empty")
    for start in range(0, count, batch_size):
        items = [data[i] for i in range(start, min(count, start + batch_size))]
        yield (torch.stack([it["a"] for it in items]), torch.stack([it["b"] for it in items]),
               torch.stack([torch.as_tensor(it["label"]) for it in items]))


def _as_target(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor | None:
    """``source`` with ``target``'s channels (gray repeated, RGB to luminance by the ITU-R 601
    weights), or None when they do not compare."""
    if source.shape[1] == target.shape[1]:
        return source
    if source.shape[1] == 1:
        return source.expand_as(target)
    if source.shape[1] == 3 and target.shape[1] == 1:
        weights = source.new_tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        return (source * weights).sum(dim=1, keepdim=True)
    return None


class CounterpartL1(Metric):
    """Mean absolute error (per image, then over images; data range 2) of ``translate(a)``
    against the true counterpart ``b``; ``details["identity"]``: ``a`` itself against ``b``."""

    name = "counterpart-l1"
    needs_data = True

    def compute(self, model: Any, *, n: int, seed: int, device: Any, data=None):
        directions = _directions(model)
        sums = {key: 0.0 for key in ("ab", "ba", "ab_input", "ba_input")}
        comparable = {"ab": True, "ba": True}
        count = 0
        for a, b, _ in _held_out(data, n, self.name):
            k = len(a)
            for direction in directions:
                source, target = (a, b) if direction == "ab" else (b, a)
                out = _translate(model, source.to(device), direction).to("cpu", torch.float32)
                sums[direction] += l1(out, target) * k
                baseline = _as_target(source, target)
                if baseline is None:
                    comparable[direction] = False
                else:
                    sums[f"{direction}_input"] += l1(baseline, target) * k
            count += k
        details = {}
        if comparable["ab"]:
            details["identity"] = sums["ab_input"] / count
        if "ba" in directions:
            details["ba"] = sums["ba"] / count
            if comparable["ba"]:
                details["ba_identity"] = sums["ba_input"] / count
        protocol = self.protocol(n_real=count, n_fake=count * len(directions), seed=seed,
                                 real_data=_describe(data),
                                 extra={"data_range": 2.0, "per": "image, then mean over images",
                                        "directions": list(directions)})
        return self.score(sums["ab"] / count, protocol, details)


class DigitIdentity(Metric):
    """The fraction of held-out ``translate(a)`` that ganzoo's digits classifier reads as the
    source digit. ``details``: the same for B -> A (``"ba"``), the classifier on the real A and
    B images (``"input_a"``, ``"input_b"``: the ceiling) and chance (0.1)."""

    name = "digit-identity"
    needs_data = True

    def compute(self, model: Any, *, n: int, seed: int, device: Any, data=None):
        from ganzoo.metrics import digits_classifier

        net = digits_classifier.load_classifier(device=device)
        config = digits_classifier.classifier_config()
        directions = _directions(model)
        hits = {key: 0 for key in ("ab", "ba", "input_a", "input_b")}
        count = 0

        def right(images: torch.Tensor, labels: torch.Tensor) -> int:
            predicted = net(images.to(device)).argmax(dim=1).cpu()
            return int((predicted == labels).sum())

        for a, b, labels in _held_out(data, n, self.name):
            for direction in directions:
                source = a if direction == "ab" else b
                hits[direction] += right(_translate(model, source.to(device), direction), labels)
            hits["input_a"] += right(a, labels)
            hits["input_b"] += right(b, labels)
            count += len(a)
        details = {"input_a": hits["input_a"] / count, "input_b": hits["input_b"] / count,
                   "chance": 0.1}
        if "ba" in directions:
            details["ba"] = hits["ba"] / count
        protocol = self.protocol(n_real=0, n_fake=count * len(directions), seed=seed,
                                 extractor=config["name"], extractor_sha256=config["sha256"],
                                 resizer=digits_classifier.RESIZER,
                                 real_data=_describe(data),
                                 extra={"classifier_test_accuracy": config["test_accuracy"],
                                        "directions": list(directions)})
        return self.score(hits["ab"] / count, protocol, details)
