"""The built-in feature extractors (registry ``features``) for digits: stroke thickness, slant
and size as measured by :mod:`ganzoo.editing.measure`, and the shipped digits classifier's class
probabilities. Each takes ``[N, C, H, W]`` images in [-1, 1] and is differentiable in them, so
editors can hold a feature fixed by its local gradient."""

from __future__ import annotations

import torch


def thickness(images: torch.Tensor) -> torch.Tensor:
    from ganzoo.editing.measure import thickness as measured

    return measured(images)


def slant(images: torch.Tensor) -> torch.Tensor:
    from ganzoo.editing.measure import slant as measured

    return measured(images)


def size(images: torch.Tensor) -> torch.Tensor:
    from ganzoo.editing.measure import size as measured

    return measured(images)


def digit_class(images: torch.Tensor) -> torch.Tensor:
    """``[N, 10]`` class probabilities of the shipped digits classifier."""
    from ganzoo.metrics.digits_classifier import load_classifier

    return load_classifier(device=images.device)(images).softmax(dim=1)
