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


_PREPROCESS = ("resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none")


@attrs.frozen(kw_only=True, slots=False)  # no slots: it is mixed into HubPairedConfig too
class PairedTransforms:
    """The keys every paired dataset (a folder, a Hub repo) shares with pix2pix's loader.

    ``direction = "AtoB"`` translates A into B, ``"BtoA"`` the reverse. ``preprocess`` follows
    the reference code: ``resize_and_crop`` (resize to ``load_size`` squared, random
    ``crop_size`` crop), ``crop`` (random crop only), ``scale_width`` (width to ``crop_size``,
    aspect kept), ``scale_width_and_crop`` (width to ``load_size``, random crop), ``none`` (sizes
    as they are). The test split is cropped at the centre and never flipped. ``input_nc`` and
    ``output_nc`` are 1 (grayscale) or 3 (RGB).
    """

    direction: Literal["AtoB", "BtoA"] = attrs.field(default="AtoB",
                                                     validator=v.in_(("AtoB", "BtoA")))
    preprocess: Literal["resize_and_crop", "crop", "scale_width", "scale_width_and_crop",
                        "none"] = attrs.field(default="resize_and_crop", validator=v.in_(_PREPROCESS))
    load_size: int = attrs.field(default=286, validator=_resolution)
    crop_size: int = attrs.field(default=256, validator=_resolution)
    flip: bool = True
    input_nc: Literal[1, 3] = attrs.field(default=3, validator=v.in_((1, 3)))
    output_nc: Literal[1, 3] = attrs.field(default=3, validator=v.in_((1, 3)))

    @crop_size.validator
    def _crop_fits(self, _attribute, value: int) -> None:
        if self.preprocess in ("resize_and_crop", "scale_width_and_crop") and value > self.load_size:
            raise ValueError(f"crop_size = {value} is larger than load_size = {self.load_size}")


@attrs.frozen(kw_only=True)
class PairedFolderConfig(PairedTransforms):
    """Paired images (pix2pix's datasets) from a folder, in one of two layouts:

    - ``"aligned"``: ``root/train/*.jpg``, ``root/test/*.jpg`` (or ``root/val/`` when there is no
      ``test/``), each file the A image and the B image side by side (A left);
    - ``"separate"``: ``root/A/train/x.jpg`` with its partner ``root/B/train/x.jpg`` (same name);
    - ``"auto"`` picks ``"separate"`` when ``root/A`` and ``root/B`` exist.

    The other keys (``direction``, ``preprocess``, ``load_size``, ``crop_size``, ``flip``,
    ``input_nc``, ``output_nc``) are :class:`PairedTransforms`'.
    """

    root: Path = attrs.field(converter=Path)
    layout: Literal["auto", "aligned", "separate"] = attrs.field(
        default="auto", validator=v.in_(("auto", "aligned", "separate")))


@attrs.frozen(kw_only=True)
class PhotoCropsConfig:
    """Embedded colour images: random ``resolution`` crops of the colour photos shipped with
    scikit-image and scikit-learn (the training photos of ``photo-pairs``), for unconditional
    generators such as the iGAN editing model.

    Each photo is resized so its shorter side is each of ``photo_sizes`` (small sizes show whole
    objects, large ones textures); a training item is a crop of one photo at one size, both drawn
    at random, flipped with ``flip``; ``items`` of them make an epoch. The test split is the tiles
    of the two held-out photos (``chelsea`` the cat and scikit-learn's ``flower``) at the first
    size.
    """

    resolution: int = attrs.field(default=32, validator=[v.instance_of(int), v.ge(8), v.le(256)])
    photo_sizes: tuple[int, ...] = attrs.field(
        default=(48, 96), converter=tuple,
        validator=v.deep_iterable(v.and_(v.instance_of(int), v.ge(8), v.le(1024))))
    items: int = attrs.field(default=4096, validator=[v.instance_of(int), v.ge(1)])
    flip: bool = True

    @photo_sizes.validator
    def _sizes_fit(self, _attribute, value: tuple[int, ...]) -> None:
        if not value:
            raise ValueError("photo_sizes is empty; give at least one size, e.g. [48, 96]")
        small = [size for size in value if size < self.resolution]
        if small:
            raise ValueError(f"photo_sizes {small} are smaller than resolution = {self.resolution}")


@attrs.frozen(kw_only=True)
class PhotoPairsConfig:
    """Embedded paired data: the colour photos shipped with scikit-image and scikit-learn, each
    resized so its shorter side is ``photo_size``, paired with its Canny edge map
    (``task = "edges2photo"``: black edges on white) or its grayscale (``"gray2color"``).

    Training items are random ``resolution`` crops (randomly flipped with ``flip``) of the
    training photos, ``items`` of them an epoch; ``hue_jitter`` rotates each training target's
    hue by up to that fraction of the colour circle, so the few training photos' colours cannot
    simply be memorised; the test split is the tiles of two whole photos
    held out from training (``chelsea`` the cat and scikit-learn's ``flower``).

    ``train_sizes`` adds scale augmentation: the training photos are also resized so their
    shorter side is each of these sizes (edges detected at that size), and every training crop is
    cut from one of the sizes, ``photo_size`` included, drawn at random, so that crops show whole
    object outlines as well as textures. The test tiles are always cut at ``photo_size``.
    """

    task: Literal["edges2photo", "gray2color"] = attrs.field(
        default="edges2photo", validator=v.in_(("edges2photo", "gray2color")))
    resolution: int = attrs.field(default=64, validator=[v.instance_of(int), v.ge(8), v.le(256)])
    photo_size: int = attrs.field(default=192, validator=[v.instance_of(int), v.ge(16), v.le(1024)])
    edge_sigma: float = attrs.field(default=2.0, validator=[v.gt(0.0), v.le(10.0)])
    items: int = attrs.field(default=2048, validator=[v.instance_of(int), v.ge(1)])
    flip: bool = True
    hue_jitter: float = attrs.field(default=0.0, validator=[v.ge(0.0), v.le(0.5)])
    train_sizes: tuple[int, ...] = attrs.field(
        default=(), converter=tuple,
        validator=v.deep_iterable(v.and_(v.instance_of(int), v.ge(16), v.le(1024))))

    @photo_size.validator
    def _fits(self, _attribute, value: int) -> None:
        if value < self.resolution:
            raise ValueError(f"photo_size = {value} is smaller than resolution = {self.resolution}")

    @train_sizes.validator
    def _sizes_fit(self, _attribute, value: tuple[int, ...]) -> None:
        small = [size for size in value if size < self.resolution]
        if small:
            raise ValueError(f"train_sizes {small} are smaller than resolution = {self.resolution}")


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
