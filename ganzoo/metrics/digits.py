"""Metrics on the built-in digits, measured with ganzoo's own digits classifier
(:mod:`ganzoo.metrics.digits_classifier`), so they need no download.

``fd-digits``, ``kid-digits``, ``precision-digits``, ``recall-digits``: generated images against
the digits TRAIN split in the classifier's 64-d penultimate features. ``accuracy``: how often the
classifier recognises the class a conditional model was asked for.
"""

from __future__ import annotations

from typing import Any

from ganzoo.base.errors import GanzooError
from ganzoo.metrics.base import Metric, Score, generate_images
from ganzoo.metrics.features import FrechetDistance, KernelDistance, PrecisionRecall


class DigitsFeatures:
    """The shipped digits classifier's penultimate-layer features (64-d)."""

    def __init__(self):
        from ganzoo.metrics import digits_classifier

        self.name = digits_classifier.NAME
        self.sha256 = digits_classifier.classifier_config()["sha256"]
        self.resizer = digits_classifier.RESIZER

    def extract(self, images, device):
        from ganzoo.metrics.digits_classifier import load_classifier

        net = load_classifier(device=device)
        return _batched(net.features, images, device)


def _batched(fn, images, device, batch_size: int = 512):
    import torch

    with torch.no_grad():
        return torch.cat([fn(chunk.to(device)).cpu() for chunk in images.split(batch_size)])


def fd_digits() -> FrechetDistance:
    return FrechetDistance(extractor=DigitsFeatures)


def kid_digits() -> KernelDistance:
    return KernelDistance(extractor=DigitsFeatures)


def precision_digits() -> PrecisionRecall:
    return PrecisionRecall(which="precision", extractor=DigitsFeatures)


def recall_digits() -> PrecisionRecall:
    return PrecisionRecall(which="recall", extractor=DigitsFeatures)


class ClassAccuracy(Metric):
    """Accuracy of the digits classifier on images a conditional model generated per class.

    ``n`` images are requested with labels cycling ``0, 1, ..., num_classes - 1, 0, ...``; the
    value is the fraction classified as requested, ``details`` has it per class and the chance
    level. Only for conditional models with at most 10 classes (label c means digit c).
    """

    name = "accuracy"
    real_data = "none (the classifier was trained on the digits train split)"

    def compute(self, model: Any, *, n: int, seed: int, device: Any) -> Score:
        import torch

        from ganzoo.metrics import digits_classifier

        from ganzoo.nn.kinds import ConditionalGenerator

        kind = getattr(model, "architecture", "") or type(model).__name__
        num_classes = model.num_classes if isinstance(model, ConditionalGenerator) else None
        if num_classes is None:
            raise GanzooError(f"metric 'accuracy' needs a conditional model (one generating "
                              f"images of a requested class); {kind} is unconditional. Use "
                              f"fd-digits or kid-digits for it")
        if not 2 <= num_classes <= 10:
            raise GanzooError(f"metric 'accuracy' classifies digits 0-9, but {kind} has "
                              f"num_classes = {num_classes}")
        config = digits_classifier.classifier_config()
        labels = [i % num_classes for i in range(n)]
        images = generate_images(model, n, seed=seed, labels=labels)
        net = digits_classifier.load_classifier(device=device)
        predicted = _batched(net, images, device).argmax(dim=1)
        wanted = torch.tensor(labels)
        hits = predicted == wanted
        per_class = {str(c): float(hits[wanted == c].double().mean())
                     for c in range(num_classes) if (wanted == c).any()}
        protocol = self.protocol(n_real=0, n_fake=n, seed=seed, extractor=config["name"],
                                 extractor_sha256=config["sha256"],
                                 resizer=digits_classifier.RESIZER,
                                 extra={"labels": "i % num_classes for i in range(n)",
                                        "num_classes": num_classes,
                                        "classifier_test_accuracy": config["test_accuracy"]})
        return self.score(float(hits.double().mean()), protocol,
                          {"per_class": per_class, "chance": 1.0 / num_classes})
