"""Unpaired image datasets for two-domain translation (CycleGAN and its successors).

Items are ``{"a": [input_nc, H, W], "b": [output_nc, H, W]}`` float32 tensors in [-1, 1]: one
image of each domain, unrelated to each other in training.

- :func:`build_folder` (dataset ``unpaired-folder``): CycleGAN's ``trainA/ trainB/ testA/
  testB/`` folders of images.
- :mod:`ganzoo.data.digit_styles` (dataset ``digit-styles``): embedded digits in two styles,
  whose test split knows each A image's true counterpart.

Random choices (which B image, crops, flips) draw from torch's global RNG, which the training
loop seeds per (epoch, index): an item is a function of its step, so resumed runs see the same
data.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import Dataset

from ganzoo.data.folder import EXTENSIONS, find_images
from ganzoo.data.images import check_split, load_image
from ganzoo.data.paired import preprocess
from ganzoo.data.configs import UnpairedFolderConfig
from ganzoo.base.errors import DataError

LAYOUT = "trainA/, trainB/ (training) and testA/, testB/ (test) folders of images"


def pick(index: int, count: int, *, random: bool) -> int:
    """Item ``index``'s image among ``count``: in order (wrapping round) or uniformly at random."""
    if random:
        return int(torch.randint(0, count, ()))
    return index % count


class UnpairedFolderDataset(Dataset):
    """Images decoded on access: A in order, B in order (``serial``, and the test split) or at
    random. Its length is the larger domain's size, as in the reference."""

    def __init__(self, *, files_a: list[Path], files_b: list[Path], cfg: UnpairedFolderConfig,
                 train: bool):
        self.files_a, self.files_b = list(files_a), list(files_b)
        self.cfg = cfg
        self.train = train
        self.input_nc, self.output_nc = cfg.input_nc, cfg.output_nc
        fixed = cfg.preprocess in ("resize_and_crop", "crop", "scale_width_and_crop")
        self.resolution = cfg.crop_size if fixed else None

    def __len__(self) -> int:
        return max(len(self.files_a), len(self.files_b))

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        path_a = self.files_a[index % len(self.files_a)]
        path_b = self.files_b[pick(index, len(self.files_b),
                                   random=self.train and not self.cfg.serial)]
        # Each domain's crop and flip are drawn independently (the reference's unaligned data).
        a, = preprocess((load_image(path_a, self.input_nc),), self.cfg, train=self.train,
                        path=path_a)
        b, = preprocess((load_image(path_b, self.output_nc),), self.cfg, train=self.train,
                        path=path_b)
        return {"a": a, "b": b}


def find_domains(cfg: UnpairedFolderConfig, split: str) -> tuple[list[Path], list[Path]]:
    """The A and B image files of ``split``, each sorted by path."""
    check_split(split)
    root = cfg.root.expanduser()
    if not root.is_dir():
        raise DataError(f"unpaired folder {root} does not exist; expected {LAYOUT}, as the "
                        "CycleGAN datasets unpack (set [data] root, e.g. "
                        "--set data.root=PATH)")
    found = []
    for side in "AB":
        folder = root / f"{split}{side}"
        if not folder.is_dir():
            present = sorted(p.name + "/" for p in root.iterdir() if p.is_dir())
            raise DataError(f"unpaired folder {root} has no {split}{side}/ subfolder; expected "
                            f"{LAYOUT}; found {', '.join(present) or 'no subfolders'}")
        files = find_images(folder)
        if not files:
            raise DataError(f"no images found in {folder} ({', '.join(EXTENSIONS)})")
        found.append(files)
    files_a, files_b = found
    return (files_a, files_b) if cfg.direction == "AtoB" else (files_b, files_a)


def build_folder(cfg: UnpairedFolderConfig, split: str) -> UnpairedFolderDataset:
    """The ``"train"`` or ``"test"`` domains under ``cfg.root`` (see
    :class:`~ganzoo.data.configs.UnpairedFolderConfig`)."""
    files_a, files_b = find_domains(cfg, split)
    return UnpairedFolderDataset(files_a=files_a, files_b=files_b, cfg=cfg, train=split == "train")
