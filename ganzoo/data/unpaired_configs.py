"""The ``[data]`` tables of the unpaired datasets (CycleGAN's), apart from their loaders because
the CLI and the registries import configs at start-up: only attrs, typing and pathlib here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import attrs
from attrs import validators as v

from ganzoo.data.configs import _PREPROCESS, _resolution


@attrs.frozen(kw_only=True)
class UnpairedFolderConfig:
    """Two unpaired image domains in CycleGAN's folder layout: ``root/trainA``, ``root/trainB``
    (training) and ``root/testA``, ``root/testB`` (the test split), any image files, searched
    recursively.

    A training item takes the A images in order (an epoch is the larger domain's size, the
    smaller one wrapping round) and, independently, a random B image; ``serial = true`` takes B
    in order too. The test split always pairs them in order. ``direction = "BtoA"`` swaps the
    domains. ``preprocess``, ``load_size``, ``crop_size`` and ``flip`` are those of
    ``paired-folder`` (the reference's options), drawn independently for the two images; the
    test split is cropped at the centre and never flipped. ``input_nc`` (domain A) and
    ``output_nc`` (domain B) are 1 (grayscale) or 3 (RGB).
    """

    root: Path = attrs.field(converter=Path)
    direction: Literal["AtoB", "BtoA"] = attrs.field(default="AtoB",
                                                     validator=v.in_(("AtoB", "BtoA")))
    serial: bool = attrs.field(default=False, validator=v.instance_of(bool))
    preprocess: Literal["resize_and_crop", "crop", "scale_width", "scale_width_and_crop",
                        "none"] = attrs.field(default="resize_and_crop",
                                              validator=v.in_(_PREPROCESS))
    load_size: int = attrs.field(default=286, validator=_resolution)
    crop_size: int = attrs.field(default=256, validator=_resolution)
    flip: bool = True
    input_nc: Literal[1, 3] = attrs.field(default=3, validator=v.in_((1, 3)))
    output_nc: Literal[1, 3] = attrs.field(default=3, validator=v.in_((1, 3)))

    @crop_size.validator
    def _crop_fits(self, _attribute, value: int) -> None:
        resized = self.preprocess in ("resize_and_crop", "scale_width_and_crop")
        if resized and value > self.load_size:
            raise ValueError(f"crop_size = {value} is larger than load_size = {self.load_size}")


@attrs.frozen(kw_only=True)
class DigitStylesConfig:
    """Embedded unpaired data with known ground truth: scikit-learn's digits in two styles.

    Domain A: the digits as the ``digits`` dataset gives them (grayscale, light thin strokes on
    black, upsampled to ``resolution``). Domain B: the same kind of digit drawn ``bold`` pixels
    bolder on each side (a grey-level dilation), and with ``colour`` in yellow ink on navy paper
    (RGB) instead of grayscale. Training items pair A images and B images rendered from
    *different* digits (the even and the odd halves of the digits train split), so nothing
    pairs them (B is drawn at random for each item; ``serial = true`` takes B in order); every
    test item holds a held-out digit in A style, its true B counterpart and its label, which
    ``counterpart-l1`` and ``digit-identity`` score against.
    """

    resolution: Literal[16, 32, 64] = attrs.field(default=32, validator=v.in_((16, 32, 64)))
    bold: int = attrs.field(default=1, validator=[v.instance_of(int), v.ge(0), v.le(8)])
    colour: bool = attrs.field(default=True, validator=v.instance_of(bool))
    serial: bool = attrs.field(default=False, validator=v.instance_of(bool))
