"""Super-resolution pairs: ``{"source": [C, H, W], "target": [C, H*scale, W*scale]}`` in [-1, 1].

- :func:`build_folder` (dataset ``super-resolution``): any folder of high-resolution images, or
  the DIV2K / Set5 / Set14 / BSD100 release layouts (see ``SuperResolutionConfig``).
- :func:`build_photos` (dataset ``sr-photos``): the photos bundled with scikit-image and
  scikit-learn, two of them held out.

Each dataset knows its whole images (:meth:`SRPairs.whole`): the metrics score those, while a
test item is an image's centre crop, so that sample grids can stack them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.data import Dataset

from ganzoo.data.folder import find_images, split_folder
from ganzoo.data.images import check_split, load_image
from ganzoo.base.errors import DataError

from .config import SRPhotosConfig, SuperResolutionConfig
from .resize import downscale

Pair = tuple[torch.Tensor, torch.Tensor]  # (low-res, high-res)


def cut_to_scale(image: torch.Tensor, scale: int) -> torch.Tensor:
    """``image`` with its bottom and right edges cut so both sides are multiples of ``scale``
    (as the benchmarks' ``modcrop``)."""
    height, width = image.shape[-2:]
    return image[..., :height - height % scale, :width - width % scale]


def make_pair(high: torch.Tensor, scale: int) -> Pair:
    """``(low, high)``: ``high`` cut to a multiple of ``scale`` and its MATLAB-bicubic
    downsampling, rounded to 8 bits."""
    high = cut_to_scale(high, scale)
    return downscale(high, scale), high


class SRPairs(Dataset):
    """Aligned (low-res, high-res) crops of whole image pairs.

    ``loaders`` return one whole pair each (decoded when called: a folder of 2K images is not held
    in memory). Training: ``items`` random crops, image ``i % count``, flipped at random; test:
    the centre crop of each image.
    """

    def __init__(self, *, loaders: list[Callable[[], Pair]], names: list[str], scale: int,
                 crop: int, flip: bool, items: int, train: bool, channels: int = 3):
        if not loaders:
            raise DataError("super-resolution data: no images found")
        self.loaders, self.names = loaders, names
        self.scale, self.crop, self.flip, self.items, self.train = scale, crop, flip, items, train
        self.resolution = crop  # the high-resolution side of an item; [model] resolution
        self.channels = channels

    def __len__(self) -> int:
        return self.items if self.train else len(self.loaders)

    def whole(self, index: int) -> Pair:
        """Image ``index`` whole: ``(low [C, h, w], high [C, h*scale, w*scale])``."""
        return self.loaders[index]()

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        which = index % len(self.loaders)
        low, high = self.whole(which)
        small = self.crop // self.scale
        h, w = low.shape[-2:]
        if h < small or w < small:
            raise DataError(f"{self.names[which]}: image ({w * self.scale}x{h * self.scale}) is "
                            f"smaller than crop = {self.crop}")
        if self.train:
            top = int(torch.randint(0, h - small + 1, ()))
            left = int(torch.randint(0, w - small + 1, ()))
        else:
            top, left = (h - small) // 2, (w - small) // 2
        s = self.scale
        low = low[..., top:top + small, left:left + small]
        high = high[..., top * s:(top + small) * s, left * s:(left + small) * s]
        if self.train and self.flip:
            if torch.rand(()).item() < 0.5:
                low, high = low.flip(-1), high.flip(-1)
            if torch.rand(()).item() < 0.5:
                low, high = low.flip(-2), high.flip(-2)
        return {"source": low.contiguous(), "target": high.contiguous()}


# -- folders ------------------------------------------------------------------------------------

def _check_lr(low: torch.Tensor, high: torch.Tensor, low_path: Path, scale: int) -> Pair:
    high = cut_to_scale(high, scale)
    want = (high.shape[-2] // scale, high.shape[-1] // scale)
    if tuple(low.shape[-2:]) != want:
        raise DataError(f"{low_path}: the low-resolution image is {low.shape[-1]}x"
                        f"{low.shape[-2]} but its high-resolution one divided by scale = {scale} "
                        f"is {want[1]}x{want[0]}; is it made for another scale?")
    return low, high


def _from_files(high_path: Path, low_path: Path | None, scale: int) -> Pair:
    high = load_image(high_path, 3)
    if low_path is None or not low_path.is_file():
        return make_pair(high, scale)
    return _check_lr(load_image(low_path, 3), high, low_path, scale)


def detect_layout(cfg: SuperResolutionConfig) -> str:
    if cfg.layout != "auto":
        return cfg.layout
    if (cfg.root / "DIV2K_train_HR").is_dir() or (cfg.root / "DIV2K_valid_HR").is_dir():
        return "div2k"
    if (cfg.root / f"image_SRF_{cfg.scale}").is_dir():
        return "benchmark"
    return "folder"


def _div2k(cfg: SuperResolutionConfig, split: str) -> list[tuple[Path, Path | None]]:
    part = "train" if split == "train" else "valid"
    high_dir = cfg.root / f"DIV2K_{part}_HR"
    if not high_dir.is_dir():
        raise DataError(f"{cfg.root}: DIV2K layout without {high_dir.name}/ (the {split} split's "
                        f"high-resolution images, e.g. {high_dir.name}/0001.png)")
    low_dir = cfg.root / f"DIV2K_{part}_LR_bicubic" / f"X{cfg.scale}"
    return [(path, low_dir / f"{path.stem}x{cfg.scale}.png") for path in find_images(high_dir)]


_BENCHMARK_HR = re.compile(r"^(?P<stem>.+)_SRF_(?P<scale>\d+)_HR$")


def _benchmark(cfg: SuperResolutionConfig, split: str) -> list[tuple[Path, Path | None]]:
    if split == "train":
        raise DataError(f"{cfg.root}: a benchmark set (Set5, Set14, BSD100 layout) has only a test "
                        "split; train on DIV2K or a folder of images and evaluate on this one")
    folder = cfg.root / f"image_SRF_{cfg.scale}"
    if not folder.is_dir():
        present = sorted(p.name for p in cfg.root.glob("image_SRF_*"))
        raise DataError(f"{cfg.root}: no {folder.name}/ for scale = {cfg.scale}"
                        + (f" (found {', '.join(present)})" if present else ""))
    pairs = []
    for path in find_images(folder):
        match = _BENCHMARK_HR.match(path.stem)
        if match:
            pairs.append((path, path.with_name(f"{match['stem']}_SRF_{match['scale']}_LR"
                                               f"{path.suffix}")))
    if not pairs:
        raise DataError(f"{folder}: no high-resolution images named like img_001_SRF_"
                        f"{cfg.scale}_HR.png")
    return pairs


def find_pairs(cfg: SuperResolutionConfig, split: str) -> list[tuple[Path, Path | None]]:
    """``(high-res path, low-res path or None)`` of every image of ``split``."""
    check_split(split)
    if not cfg.root.is_dir():
        what = "is not a folder" if cfg.root.exists() else "does not exist"
        raise DataError(f"super-resolution data: {cfg.root} {what}")
    layout = detect_layout(cfg)
    if layout == "div2k":
        pairs = _div2k(cfg, split)
    elif layout == "benchmark":
        pairs = _benchmark(cfg, split)
    else:
        pairs = [(path, None) for path in find_images(split_folder(cfg.root, split))]
    if not pairs:
        raise DataError(f"super-resolution data: no images for the {split} split under {cfg.root}")
    return pairs


def build_folder(cfg: SuperResolutionConfig, split: str) -> SRPairs:
    pairs = find_pairs(cfg, split)
    loaders = [functools.partial(_from_files, high, low, cfg.scale) for high, low in pairs]
    return SRPairs(loaders=loaders, names=[str(high) for high, _ in pairs], scale=cfg.scale,
                   crop=cfg.crop, flip=cfg.flip, items=cfg.items, train=split == "train")


# -- embedded photos ----------------------------------------------------------------------------

#: Colour photos bundled with scikit-image (``skimage.data``) and scikit-learn; the last two are
#: held out (the same split as ganzoo's ``photo-pairs``).
TRAIN_PHOTOS = ("astronaut", "coffee", "rocket", "immunohistochemistry", "hubble_deep_field",
                "retina", "sklearn:china.jpg")
TEST_PHOTOS = ("chelsea", "sklearn:flower.jpg")
#: With ``[data] more_photos``: the other bundled photos whose shorter side is at least 256
#: pixels (none is enlarged at the default ``photo_size``; a larger one enlarges these as it does
#: the smaller of the photos above): the two views of ``stereo_motorcycle`` and seven grey photos
#: and textures, their grey value copied to R, G and B.
MORE_TRAIN_PHOTOS = ("stereo_motorcycle:0", "stereo_motorcycle:1", "camera", "brick", "grass",
                     "gravel", "clock", "coins", "moon")


@functools.lru_cache(maxsize=32)
def photo(name: str, size: int, scale: int) -> Pair:
    """One bundled photo, its shorter side resized to ``size`` (antialiased bicubic), as a
    (low-res, high-res) pair."""
    import numpy as np

    if name.startswith("sklearn:"):
        from sklearn.datasets import load_sample_image

        pixels = load_sample_image(name.removeprefix("sklearn:"))
    else:
        import skimage.data

        name, _, view = name.partition(":")  # "stereo_motorcycle:0": one image of a tuple
        pixels = getattr(skimage.data, name)()
        if view:
            pixels = pixels[int(view)]
    pixels = np.array(pixels, dtype=np.uint8)
    if pixels.ndim == 2:  # a grey photo: the same value in R, G and B
        pixels = np.repeat(pixels[..., None], 3, axis=2)
    high = torch.from_numpy(pixels).permute(2, 0, 1)
    high = high.to(torch.float32).div_(127.5).sub_(1.0)
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms.v2 import functional as TF

    high = TF.resize(high, size, interpolation=InterpolationMode.BICUBIC, antialias=True)
    high = ((high.clamp(-1, 1) + 1) * 127.5).round() / 127.5 - 1  # an 8-bit photo again
    return make_pair(high, scale)


def build_photos(cfg: SRPhotosConfig, split: str) -> SRPairs:
    check_split(split)
    names = TRAIN_PHOTOS if split == "train" else TEST_PHOTOS
    if split == "train" and cfg.more_photos:
        names = TRAIN_PHOTOS + MORE_TRAIN_PHOTOS
    loaders = [functools.partial(photo, name, cfg.photo_size, cfg.scale) for name in names]
    return SRPairs(loaders=loaders, names=list(names), scale=cfg.scale, crop=cfg.crop,
                   flip=cfg.flip, items=cfg.items, train=split == "train")
