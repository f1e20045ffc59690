"""The built-in feature extractors (registry ``features``) for digits: stroke thickness, slant
and size as measured by :mod:`ganzoo.editing.measure`, and the shipped digits classifier's class
probabilities. Each takes ``[N, C, H, W]`` images in [-1, 1]."""

from __future__ import annotations

import torch


def thickness(images: torch.Tensor) -> torch.Tensor:
    from .measure import measure

    return measure(images, ("thickness",))["thickness"]


def slant(images: torch.Tensor) -> torch.Tensor:
    from .measure import measure

    return measure(images, ("slant",))["slant"]


def size(images: torch.Tensor) -> torch.Tensor:
    from .measure import measure

    return measure(images, ("size",))["size"]


def digit_class(images: torch.Tensor) -> torch.Tensor:
    """``[N, 10]`` class probabilities of the shipped digits classifier."""
    from ..metrics.digits_classifier import predict

    return predict(images).softmax(dim=1)
