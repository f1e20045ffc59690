"""A folder of images, searched recursively; ``train/`` and ``test/`` subfolders become the splits."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch.utils.data import Dataset

from ganzoo.data.configs import ImageFolderConfig
from ganzoo.data.images import check_split, load_image, random_hflip, resize_square, verify_image
from ganzoo.base.errors import DataError

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


class ImageFolderDataset(Dataset):
    """Images decoded on access, resized to ``resolution``×``resolution``: items are ``{"image": ...}``.

    With ``flip`` each item is mirrored left-right with probability 1/2 (torch's global RNG).
    """

    def __init__(
        self, *, paths: list[Path], resolution: int, channels: int, center_crop: bool, flip: bool
    ):
        assert channels in (1, 3), f"channels must be 1 or 3, got {channels}"
        self.paths = list(paths)
        self.resolution = resolution
        self.channels = channels
        self.center_crop = center_crop
        self.flip = flip

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        image = load_image(self.paths[index], self.channels)
        image = resize_square(image, self.resolution, center_crop=self.center_crop)
        if self.flip:
            image = random_hflip(image)
        return {"image": image}


def find_images(folder: Path) -> list[Path]:
    """Image files under ``folder`` (any depth), sorted by their path relative to it.

    Hidden files and folders (names starting with ``.``, e.g. ``.ipynb_checkpoints`` or macOS
    ``._name.jpg`` resource forks) are ignored.
    """
    found = []
    for path in folder.rglob("*"):
        relative = path.relative_to(folder)
        if path.suffix.lower() in EXTENSIONS and not any(p.startswith(".") for p in relative.parts):
            if path.is_file():
                found.append(path)
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def split_folder(root: Path, split: str) -> Path:
    """The folder holding ``split``: ``root/train`` or ``root/test`` if both exist, else ``root``."""
    check_split(split)
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise DataError(f"image folder {root} {what}")
    if (root / "train").is_dir() and (root / "test").is_dir():
        return root / split
    if split == "test":
        raise DataError(
            f"image folder {root} has no test/ subfolder, so it has no test split; "
            f"put the images in {root / 'train'} and {root / 'test'} to have one"
        )
    return root


def _decode_problem(path: Path) -> str | None:
    """Why ``path`` cannot be fully decoded, or None."""
    problem = verify_image(path)
    if problem is not None:
        return problem
    try:
        load_image(path, 3)
    except DataError as exc:
        return str(exc)
    return None


def build(cfg: ImageFolderConfig, split: str) -> ImageFolderDataset:
    """The images of ``split`` under ``cfg.root``, after a header check of every file.

    A file that fails the check raises :class:`DataError` naming it (``on_bad_image = "fail"``) or is
    left out with a warning naming it (``"skip"``). With ``"fail"`` the check reads headers only, and
    a file that passes it but cannot be decoded raises :class:`DataError` when its item is read;
    with ``"skip"`` every file is decoded once up front, so nothing bad is left in.
    """
    root = cfg.root.expanduser()
    folder = split_folder(root, split)
    paths = find_images(folder)
    if not paths:
        raise DataError(f"no images found in {folder} (searched recursively for {', '.join(EXTENSIONS)})")

    good = []
    for path in paths:
        problem = verify_image(path) if cfg.on_bad_image == "fail" else _decode_problem(path)
        if problem is None:
            good.append(path)
        elif cfg.on_bad_image == "fail":
            raise DataError(
                f"cannot read image {path}: {problem} "
                f"(set on_bad_image = \"skip\" in [data] to leave bad images out)"
            )
        else:
            warnings.warn(f"skipping unreadable image {path}: {problem}", stacklevel=2)
    if not good:
        raise DataError(f"none of the {len(paths)} images in {folder} can be read")

    return ImageFolderDataset(
        paths=good,
        resolution=cfg.resolution,
        channels=cfg.channels,
        center_crop=cfg.center_crop,
        flip=cfg.flip and split == "train",
    )
