"""Paired image datasets for image-to-image translation (pix2pix and its successors).

Items are ``{"source": [input_nc, H, W], "target": [output_nc, H, W]}`` float32 tensors in
[-1, 1]: the network's input and the image it should produce. Both images of a pair always get
the same crop and flip.

- :func:`build_folder` (dataset ``paired-folder``): pix2pix's aligned A|B files, or separate
  ``A/`` and ``B/`` folders with matching file names.
- :func:`build_photos` (dataset ``photo-pairs``): embedded photos with their edge maps or
  grayscale, so a translation model trains with no download.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from ganzoo.data.configs import PairedFolderConfig, PhotoPairsConfig
from ganzoo.data.folder import find_images
from ganzoo.data.images import check_split, load_image
from ganzoo.base.errors import DataError

# -- preprocessing shared by the pairs ------------------------------------------------------------


def _to_pil(image: torch.Tensor) -> Image.Image:
    """A decoded 8-bit image (``[C, H, W]`` in [-1, 1], as :func:`load_image` gives) back as PIL
    (lossless: its values are k / 127.5 - 1)."""
    pixels = image.add(1.0).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8)
    if pixels.shape[0] == 1:
        return Image.fromarray(pixels[0].numpy(), "L")
    return Image.fromarray(pixels.permute(1, 2, 0).numpy(), "RGB")


def _from_pil(image: Image.Image) -> torch.Tensor:
    return TF.pil_to_tensor(image).to(torch.float32).div_(127.5).sub_(1.0)


def _resize(image: torch.Tensor, size: list[int]) -> torch.Tensor:
    """Bicubic resize of the 8-bit image in PIL, to 8 bits, as the reference's transforms do:
    torch's bicubic uses another kernel (a = -0.75 against PIL's -0.5) and keeps fractions, so
    the same files gave values up to two 8-bit levels apart (tests/test_golden_data.py)."""
    if list(image.shape[-2:]) == size:
        return image
    height, width = size
    return _from_pil(_to_pil(image).resize((width, height), Image.BICUBIC))


def _scale_width(image: torch.Tensor, width: int, min_height: int = 0) -> torch.Tensor:
    h, w = image.shape[-2:]
    return _resize(image, [max(min_height, round(h * width / w)), width])


def preprocess(images: Sequence[torch.Tensor], cfg, *, train: bool,
               path: Path) -> tuple[torch.Tensor, ...]:
    """Resize, crop and flip every image of ``images`` identically, as ``cfg.preprocess`` says
    (the reference's options; ``cfg`` has ``preprocess``, ``load_size``, ``crop_size``, ``flip``).

    Random crops and flips (training only) draw from torch's global RNG; the test split is
    cropped at the centre. One image (unpaired data) or the two of a pair.
    """
    mode, load, crop = cfg.preprocess, cfg.load_size, cfg.crop_size
    if mode == "resize_and_crop":
        images = [_resize(x, [load, load]) for x in images]
    elif mode == "scale_width":
        images = [_scale_width(x, crop) for x in images]
    elif mode == "scale_width_and_crop":
        images = [_scale_width(x, load, crop) for x in images]
    if mode in ("resize_and_crop", "crop", "scale_width_and_crop"):
        h, w = images[0].shape[-2:]
        if h < crop or w < crop:
            raise DataError(f"{path}: image ({w}x{h}) is smaller than crop_size = {crop}")
        if train:
            top = int(torch.randint(0, h - crop + 1, ()))
            left = int(torch.randint(0, w - crop + 1, ()))
        else:
            top, left = (h - crop) // 2, (w - crop) // 2
        images = [x[..., top:top + crop, left:left + crop] for x in images]
    if train and cfg.flip and torch.rand(()).item() < 0.5:
        images = [x.flip(-1) for x in images]
    return tuple(x.contiguous() for x in images)


def preprocess_pair(a: torch.Tensor, b: torch.Tensor, cfg: PairedFolderConfig, *, train: bool,
                    path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`preprocess` for the two images of a pair, which must have the same size."""
    if a.shape[-2:] != b.shape[-2:]:
        raise DataError(f"{path}: the two images of the pair differ in size "
                        f"({tuple(a.shape[-2:])} and {tuple(b.shape[-2:])})")
    return preprocess((a, b), cfg, train=train, path=path)


# -- folders -----------------------------------------------------------------------------------


class PairedFolderDataset(Dataset):
    """Pairs decoded on access; ``pairs`` holds ``(A path, B path or None)`` where ``None``
    means the A file is an aligned A|B image."""

    def __init__(self, *, pairs: list[tuple[Path, Path | None]], cfg: PairedFolderConfig,
                 train: bool):
        self.pairs = list(pairs)
        self.cfg = cfg
        self.train = train
        self.input_nc, self.output_nc = cfg.input_nc, cfg.output_nc
        fixed = cfg.preprocess in ("resize_and_crop", "crop", "scale_width_and_crop")
        self.resolution = cfg.crop_size if fixed else None

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        first, second = self.pairs[index]
        a_nc, b_nc = ((self.input_nc, self.output_nc) if self.cfg.direction == "AtoB"
                      else (self.output_nc, self.input_nc))
        if second is None:
            both = load_image(first, 3)
            width = both.shape[-1]
            if width % 2:
                raise DataError(f"{first}: an aligned pair must be A and B side by side, but its "
                                f"width {width} is odd")
            a, b = both[..., : width // 2], both[..., width // 2:]
            a, b = _channels(a, a_nc), _channels(b, b_nc)
        else:
            a, b = load_image(first, a_nc), load_image(second, b_nc)
        a, b = preprocess_pair(a, b, self.cfg, train=self.train, path=first)
        source, target = (a, b) if self.cfg.direction == "AtoB" else (b, a)
        return {"source": source, "target": target}


def _channels(image: torch.Tensor, channels: int) -> torch.Tensor:
    if channels == 1 and image.shape[0] == 3:
        # PIL's 8-bit luma, as the reference's Grayscale transform and load_image(path, 1) give
        return _from_pil(_to_pil(image).convert("L"))
    return image


def _split_dir(base: Path, split: str) -> Path:
    """``base/train``; for the test split ``base/test``, else ``base/val`` (edges2shoes has no
    test/ folder)."""
    if split == "train":
        folder = base / "train"
        if not folder.is_dir():
            raise DataError(f"paired folder {base} has no train/ subfolder (expected "
                            f"{base / 'train'} holding the training pairs)")
        return folder
    for name in ("test", "val"):
        if (base / name).is_dir():
            return base / name
    raise DataError(f"paired folder {base} has no test/ or val/ subfolder, so it has no test split")


def find_pairs(cfg: PairedFolderConfig, split: str) -> list[tuple[Path, Path | None]]:
    """The pairs of ``split``, sorted by file name."""
    check_split(split)
    root = cfg.root.expanduser()
    if not root.is_dir():
        raise DataError(f"paired folder {root} does not exist; expected train/, val/, test/ "
                        "folders of side-by-side A|B images, or A/ and B/ folders of images with "
                        "matching names (set [data] root, e.g. --set data.root=PATH)")
    layout = cfg.layout
    if layout == "auto":
        layout = "separate" if (root / "A").is_dir() and (root / "B").is_dir() else "aligned"
    if layout == "aligned":
        folder = _split_dir(root, split)
        files = find_images(folder)
        if not files:
            raise DataError(f"no images found in {folder}")
        return [(path, None) for path in files]
    folder_a = _split_dir(root / "A", split)
    folder_b = root / "B" / folder_a.name
    files_a = {p.relative_to(folder_a).as_posix(): p for p in find_images(folder_a)}
    files_b = {p.relative_to(folder_b).as_posix(): p for p in find_images(folder_b)} \
        if folder_b.is_dir() else {}
    if not files_a:
        raise DataError(f"no images found in {folder_a}")
    for name in sorted(files_a):
        if name not in files_b:
            raise DataError(f"{files_a[name]} has no partner {folder_b / name} (separate A/ and "
                            "B/ folders need the same file names)")
    extra = sorted(set(files_b) - set(files_a))
    if extra:
        raise DataError(f"{files_b[extra[0]]} has no partner {folder_a / extra[0]} "
                        f"({len(extra)} B images without an A image)")
    return [(files_a[name], files_b[name]) for name in sorted(files_a)]


def build_folder(cfg: PairedFolderConfig, split: str) -> PairedFolderDataset:
    """The ``"train"`` or ``"test"`` pairs under ``cfg.root`` (see :class:`PairedFolderConfig`)."""
    return PairedFolderDataset(pairs=find_pairs(cfg, split), cfg=cfg, train=split == "train")


# -- embedded photos ---------------------------------------------------------------------------

#: Colour photos shipped with scikit-image (``skimage.data``) and scikit-learn.
TRAIN_PHOTOS = ("astronaut", "coffee", "rocket", "immunohistochemistry", "hubble_deep_field",
                "retina", "sklearn:china.jpg")
TEST_PHOTOS = ("chelsea", "sklearn:flower.jpg")


@functools.lru_cache(maxsize=16)
def _photo(name: str):
    """An ``[H, W, 3]`` uint8 array (read-only; decoded once per process)."""
    if name.startswith("sklearn:"):
        from sklearn.datasets import load_sample_image

        return load_sample_image(name.removeprefix("sklearn:"))
    import skimage.data

    return getattr(skimage.data, name)()


def photo_pair(name: str, cfg: PhotoPairsConfig,
               size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(source, target)`` for one whole photo, its shorter side resized to ``size`` (by default
    ``photo_size``)."""
    import numpy as np
    from skimage.feature import canny

    rgb = torch.from_numpy(np.array(_photo(name), dtype=np.uint8)).permute(2, 0, 1)
    rgb = rgb.to(torch.float32).div_(127.5).sub_(1.0)
    rgb = TF.resize(rgb, size or cfg.photo_size, interpolation=InterpolationMode.BILINEAR,
                    antialias=True).clamp_(-1.0, 1.0)
    gray = (rgb * torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)).sum(0, keepdim=True)
    if cfg.task == "gray2color":
        return gray, rgb
    edges = canny(gray[0].numpy().astype(np.float64), sigma=cfg.edge_sigma)
    source = torch.from_numpy(np.where(edges, -1.0, 1.0).astype(np.float32))[None]
    return source, rgb


def tiles(image: torch.Tensor, size: int) -> list[torch.Tensor]:
    """Non-overlapping ``size`` tiles covering the centred part of ``image`` that they fit."""
    h, w = image.shape[-2:]
    top, left = (h % size) // 2, (w % size) // 2
    return [image[..., top + y:top + y + size, left + x:left + x + size]
            for y in range(0, h - size + 1, size) for x in range(0, w - size + 1, size)]


class PhotoPairsDataset(Dataset):
    """Training: ``items`` random crops of the training photos (photo ``i % count``, at a random
    one of its sizes); test: fixed tiles of the held-out photos.

    ``sizes`` (training only): for every photo of ``pairs``, the same photo at the other sizes of
    ``cfg.train_sizes``.
    """

    input_nc = 1

    def __init__(self, *, pairs: list[tuple[torch.Tensor, torch.Tensor]], cfg: PhotoPairsConfig,
                 train: bool, sizes: list[list[tuple[torch.Tensor, torch.Tensor]]] | None = None):
        self.cfg = cfg
        self.train = train
        self.resolution = cfg.resolution
        self.output_nc = 3
        if train:
            self.pairs = pairs
            self.sizes = [[pair, *more] for pair, more in
                          zip(pairs, sizes or [[] for _ in pairs], strict=True)]
        else:
            self.pairs = [(s, t) for source, target in pairs
                          for s, t in zip(tiles(source, cfg.resolution),
                                          tiles(target, cfg.resolution), strict=True)]

    def __len__(self) -> int:
        return self.cfg.items if self.train else len(self.pairs)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        if not self.train:
            source, target = self.pairs[index]
            return {"source": source.contiguous(), "target": target.contiguous()}
        sizes = self.sizes[index % len(self.pairs)]
        pick = int(torch.randint(0, len(sizes), ())) if len(sizes) > 1 else 0  # one size: no draw
        source, target = sizes[pick]
        size = self.cfg.resolution
        h, w = source.shape[-2:]
        top = int(torch.randint(0, h - size + 1, ()))
        left = int(torch.randint(0, w - size + 1, ()))
        source = source[..., top:top + size, left:left + size]
        target = target[..., top:top + size, left:left + size]
        if self.cfg.flip and torch.rand(()).item() < 0.5:
            source, target = source.flip(-1), target.flip(-1)
        if self.cfg.hue_jitter:
            shift = (torch.rand(()).item() * 2 - 1) * self.cfg.hue_jitter
            target = TF.adjust_hue((target + 1) / 2, shift) * 2 - 1
        return {"source": source.contiguous(), "target": target.contiguous()}


def build_photos(cfg: PhotoPairsConfig, split: str) -> PhotoPairsDataset:
    """Training crops of :data:`TRAIN_PHOTOS`, or test tiles of the held-out :data:`TEST_PHOTOS`."""
    check_split(split)
    train = split == "train"
    names = TRAIN_PHOTOS if train else TEST_PHOTOS
    extra = [size for size in dict.fromkeys(cfg.train_sizes) if size != cfg.photo_size]
    sizes = [[photo_pair(name, cfg, size) for size in extra] for name in names] if train else None
    return PhotoPairsDataset(pairs=[photo_pair(name, cfg) for name in names], cfg=cfg,
                             train=train, sizes=sizes)


# -- held-out comparison metrics ------------------------------------------------------------------
# (registered as paired-l1, psnr and ssim; they live next to the data they read because
# ganzoo.metrics.paired holds the pure functions only)
