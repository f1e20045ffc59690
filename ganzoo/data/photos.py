"""Dataset ``photo-crops``: colour crops of the photos bundled with scikit-image and
scikit-learn, for unconditional generators (no download).

Items are ``{"image": [3, R, R]}`` float32 tensors in [-1, 1]. The photos are those of
``photo-pairs`` (:data:`ganzoo.data.paired.TRAIN_PHOTOS`; the same two are held out).
"""

from __future__ import annotations

import torch
from torch.utils.data import Dataset
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from ganzoo.data.configs import PhotoCropsConfig
from ganzoo.data.images import check_split
from ganzoo.data.paired import TEST_PHOTOS, TRAIN_PHOTOS, _photo, tiles


def photo(name: str, size: int) -> torch.Tensor:
    """``[3, H, W]`` in [-1, 1]: the bundled photo ``name``, shorter side resized to ``size``."""
    import numpy as np

    rgb = torch.from_numpy(np.array(_photo(name), dtype=np.uint8)).permute(2, 0, 1)
    rgb = rgb.to(torch.float32).div_(127.5).sub_(1.0)
    return TF.resize(rgb, size, interpolation=InterpolationMode.BILINEAR,
                     antialias=True).clamp_(-1.0, 1.0)


class PhotoCropsDataset(Dataset):
    """Training: ``items`` random crops (photo ``i % count``, a random size); test: fixed tiles."""

    def __init__(self, *, cfg: PhotoCropsConfig, train: bool):
        self.cfg = cfg
        self.train = train
        self.resolution = cfg.resolution
        if train:
            self.photos = [[photo(name, size) for size in cfg.photo_sizes] for name in TRAIN_PHOTOS]
        else:
            self.tiles = [t for name in TEST_PHOTOS
                          for t in tiles(photo(name, cfg.photo_sizes[0]), cfg.resolution)]

    def __len__(self) -> int:
        return self.cfg.items if self.train else len(self.tiles)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        if not self.train:
            return {"image": self.tiles[index].contiguous()}
        sizes = self.photos[index % len(self.photos)]
        image = sizes[int(torch.randint(0, len(sizes), ()))]
        size = self.resolution
        h, w = image.shape[-2:]
        top = int(torch.randint(0, h - size + 1, ()))
        left = int(torch.randint(0, w - size + 1, ()))
        crop = image[:, top:top + size, left:left + size]
        if self.cfg.flip and torch.rand(()).item() < 0.5:
            crop = crop.flip(-1)
        return {"image": crop.contiguous()}


def build(cfg: PhotoCropsConfig, split: str) -> PhotoCropsDataset:
    check_split(split)
    return PhotoCropsDataset(cfg=cfg, train=split == "train")
