"""Does a text-to-image model draw what the caption says? Measured on ``digit-captions``.

The held-out captions (cycled to ``n``) are drawn once per evaluation and shared by the metrics:

- ``caption-accuracy``: the shipped digits classifier agrees with the caption's digit;
- ``caption-thickness``, ``caption-slant``, ``caption-size``: the attribute measured on the
  generated digit (as the dataset measures real ones, split at the same training medians) agrees
  with the caption's word. Chance is about 50 %.
"""

from __future__ import annotations

from typing import Any

from ganzoo.base.errors import GanzooError
from ganzoo.metrics import Metric, Score
from ganzoo.metrics.base import GENERATE_BATCH, cached


def _check(model: Any, data: Any, name: str) -> None:
    if not all(hasattr(data, a) for a in ("captions", "labels", "high", "thresholds")):
        raise GanzooError(f"metric {name!r} needs the held-out split of the digit-captions "
                          f"dataset, got {type(data).__name__}")
    if getattr(getattr(model, "config", None), "text_encoder", None) not in ("captions",
                                                                             "sentence"):
        raise GanzooError(f"metric {name!r} draws images from captions; this model does not "
                          "read captions (it needs text_encoder = \"captions\" or \"sentence\")")


def drawn(model: Any, data: Any, n: int, seed: int):
    """``(images [n, C, H, W] on CPU, item indices [n])`` for the held-out captions, cycled."""
    import torch

    def make():
        index = torch.arange(n) % len(data.captions)
        out = []
        for start in range(0, n, GENERATE_BATCH):
            rows = index[start:start + GENERATE_BATCH].tolist()
            # Words the model never saw in training are left out rather than failing.
            images = model.generate(len(rows), seed=seed + start, unknown_words="ignore",
                                    text=[data.captions[i] for i in rows])
            out.append(images.detach().to("cpu", torch.float32))
        return torch.cat(out), index

    return cached(("stackgan-captions", id(model), id(data), n, seed), make)


class CaptionAccuracy(Metric):
    """The digits classifier's agreement with the digit each held-out caption names."""

    name = "caption-accuracy"
    needs_data = True
    real_data = "digit-captions test split (its captions)"

    def compute(self, model: Any, *, n: int, seed: int, device: Any, data: Any = None) -> Score:
        from ganzoo.metrics import digits_classifier

        _check(model, data, self.name)
        images, index = drawn(model, data, n, seed)
        net = digits_classifier.load_classifier(device=device)
        predicted = net(images.to(device)).argmax(dim=1).cpu()
        wanted = data.labels[index]
        hits = predicted == wanted
        per_digit = {str(d): float(hits[wanted == d].double().mean())
                     for d in range(10) if (wanted == d).any()}
        config = digits_classifier.classifier_config()
        protocol = self.protocol(n_real=0, n_fake=n, seed=seed, extractor=config["name"],
                                 extractor_sha256=config["sha256"],
                                 resizer=digits_classifier.RESIZER,
                                 extra={"captions": "test split, item i % len(split)",
                                        "classifier_test_accuracy": config["test_accuracy"]})
        return self.score(float(hits.double().mean()), protocol,
                          {"per_digit": per_digit, "chance": 0.1})


class CaptionAttribute(Metric):
    """Agreement of one measured attribute with the caption's word for it."""

    needs_data = True
    real_data = "digit-captions test split (its captions; thresholds: train-split medians)"
    resizer = "bilinear to 32x32 (antialias), as digit-captions measures real digits"

    def __init__(self, attribute: str):
        self.attribute = attribute
        self.name = f"caption-{attribute}"

    def compute(self, model: Any, *, n: int, seed: int, device: Any, data: Any = None) -> Score:
        from .digit_captions import ORDER, measured

        _check(model, data, self.name)
        if self.attribute not in data.attributes:
            raise GanzooError(f"metric {self.name!r}: the dataset's captions do not mention "
                              f"{self.attribute} ([data] attributes = "
                              f"{list(data.attributes)})")
        images, index = drawn(model, data, n, seed)
        column = ORDER.index(self.attribute)
        high = measured(images)[self.attribute] >= data.thresholds[self.attribute]
        hits = high == data.high[index, column]
        protocol = self.protocol(n_real=0, n_fake=n, seed=seed,
                                 extractor="ganzoo.editing.measure",
                                 extra={"threshold": data.thresholds[self.attribute]})
        return self.score(float(hits.double().mean()), protocol,
                          {"asked_high": float(data.high[index, column].double().mean()),
                           "drawn_high": float(high.double().mean()), "chance": 0.5})


def caption_thickness() -> CaptionAttribute:
    return CaptionAttribute("thickness")


def caption_slant() -> CaptionAttribute:
    return CaptionAttribute("slant")


def caption_size() -> CaptionAttribute:
    return CaptionAttribute("size")
