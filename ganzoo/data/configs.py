"""The ``[data]`` tables of the built-in datasets.

Only attrs, typing and pathlib are imported here: the CLI imports this module at start-up, so
torch and numpy stay out until a dataset is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import attrs
from attrs import validators as v

_resolution = [v.instance_of(int), v.ge(4), v.le(4096)]


@attrs.frozen(kw_only=True)
class DigitsConfig:
    """scikit-learn's 8×8 handwritten digits (1797 images, bundled with scikit-learn).

    The images are upsampled bilinearly to ``resolution``; no download is needed.
    """

    resolution: Literal[8, 16, 32, 64] = attrs.field(default=32, validator=v.in_((8, 16, 32, 64)))


@attrs.frozen(kw_only=True)
class ImageFolderConfig:
    """Every image under ``root`` (recursively), or under ``root/train`` and ``root/test``.

    ``center_crop`` resizes the shorter side to ``resolution`` and crops the centre square; without
    it the image is resized to a square, changing its aspect ratio. ``on_bad_image = "skip"`` drops
    unreadable files with a warning instead of failing.
    """

    root: Path = attrs.field(converter=Path)
    resolution: int = attrs.field(default=64, validator=_resolution)
    channels: Literal[1, 3] = attrs.field(default=3, validator=v.in_((1, 3)))
    center_crop: bool = True
    flip: bool = False
    on_bad_image: Literal["fail", "skip"] = attrs.field(default="fail", validator=v.in_(("fail", "skip")))


@attrs.frozen(kw_only=True)
class CelebAConfig:
    """CelebA aligned faces in torchvision's folder layout (``root/celeba/img_align_celeba/...``).

    Each 178×218 image is centre-cropped to ``crop``×``crop`` (the DCGAN practice) and then resized
    to ``resolution``.
    """

    root: Path = attrs.field(converter=Path)
    resolution: int = attrs.field(default=64, validator=_resolution)
    crop: int = attrs.field(default=178, validator=[v.instance_of(int), v.ge(1), v.le(4096)])
    flip: bool = False
