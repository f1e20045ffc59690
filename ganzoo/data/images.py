"""Helpers shared by the image datasets: split names, decoding, resizing and flipping.

Every image is a float32 ``[C, H, W]`` tensor in ``[-1, 1]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import torch
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from ganzoo.base.errors import DataError

SPLITS = ("train", "test")

# What PIL raises for a file it cannot decode: OSError covers truncated and unidentified files,
# SyntaxError and ValueError come from some broken PNG/GIF headers.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)


MAX_PIXELS = 64 * 10**6  # a 150 KB PNG can claim 144 Mpixels; no dataset image is near this


def eight_bit(img: Image.Image) -> Image.Image:
    """16-bit (and 32-bit integer) grayscale scaled to 8 bits; ``convert("L")`` would clip it,
    turning 99.5 % of a 0-65535 gradient white. Other modes pass through."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        import numpy as np

        array = np.asarray(img).astype(np.float64)
        top = 65535.0 if img.mode != "I" or array.max(initial=0) > 255 else 255.0
        array = np.clip(array, 0, top) * (255.0 / top)
        return Image.fromarray(np.rint(array).astype(np.uint8), mode="L")
    return img


def check_split(split: str) -> None:
    """Raise :class:`DataError` unless ``split`` is one of :data:`SPLITS`."""
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; accepted splits are {', '.join(map(repr, SPLITS))}")


def verify_image(path: Path) -> str | None:
    """A cheap check of the file's header and structure: the reason it is bad, or None if it looks fine.

    PIL's ``verify`` does not decode the pixels, so a file that passes may still fail in
    :func:`load_image`.
    """
    try:
        with Image.open(path) as img:
            img.verify()
    except _DECODE_ERRORS as exc:
        return str(exc) or type(exc).__name__
    return None


def load_image(path: Path, channels: int) -> torch.Tensor:
    """Decode ``path`` fully into a float32 ``[channels, H, W]`` tensor in ``[-1, 1]``.

    ``channels`` is 1 (grayscale) or 3 (RGB). Raises :class:`DataError` naming the path when the file
    is missing, not an image, or truncated.
    """
    return decode_image(path, channels, name=str(path))


def decode_image(source: Path | BinaryIO, channels: int, *, name: str) -> torch.Tensor:
    """:func:`load_image` for a path or an open binary file (an image held in a parquet cell,
    say); errors name ``name``."""
    mode = {1: "L", 3: "RGB"}[channels]
    try:
        with Image.open(source) as img:
            width, height = img.size  # from the header: check before decoding
            if width * height > MAX_PIXELS:
                raise DataError(f"cannot read image {name}: {width} x {height} is "
                                f"{width * height / 1e6:.0f} Mpixels, over the "
                                f"{MAX_PIXELS // 10**6} Mpixel limit for one image")
            img.load()  # decode every pixel now, so a truncated file fails here and not later
            img = eight_bit(img)
            if img.mode == "P" and "transparency" in img.info:
                img = img.convert("RGBA")  # PIL warns when palette transparency goes straight to RGB
            img = img.convert(mode)
    except _DECODE_ERRORS as exc:
        raise DataError(f"cannot read image {name}: {exc or type(exc).__name__}") from exc
    pixels = TF.pil_to_tensor(img)  # uint8 [C, H, W]
    return pixels.to(torch.float32).div_(127.5).sub_(1.0)


def resize_square(image: torch.Tensor, resolution: int, *, center_crop: bool) -> torch.Tensor:
    """Resize to ``resolution``×``resolution``.

    With ``center_crop`` the shorter side becomes ``resolution`` and the centre square is kept;
    without it both sides are resized, which changes the aspect ratio.
    """
    if center_crop:
        image = _resize(image, resolution)
        image = TF.center_crop(image, [resolution, resolution])
    else:
        image = _resize(image, [resolution, resolution])
    return image


def crop_and_resize(image: torch.Tensor, crop: int, resolution: int) -> torch.Tensor:
    """Keep the centre ``crop``×``crop`` square, then resize it to ``resolution``×``resolution``."""
    image = TF.center_crop(image, [crop, crop])
    return _resize(image, [resolution, resolution])


def random_hflip(image: torch.Tensor) -> torch.Tensor:
    """Mirror left-right with probability 1/2, drawn from torch's global RNG."""
    return image.flip(-1) if torch.rand(()).item() < 0.5 else image


def _resize(image: torch.Tensor, size: int | list[int]) -> torch.Tensor:
    """Bilinear, antialiased resize; an int resizes the shorter side and keeps the aspect ratio."""
    height, width = image.shape[-2:]
    if (min(height, width) == size) if isinstance(size, int) else ([height, width] == size):
        return image
    out = TF.resize(image, size, interpolation=InterpolationMode.BILINEAR, antialias=True)
    # bilinear weights are non-negative, so the clamp only removes float rounding past the ends
    return out.clamp_(-1.0, 1.0)
