"""CelebA aligned faces with their 40 binary attributes, in torchvision's folder layout.

The files are read as they are: no md5 check and no download (torchvision's ``CelebA`` insists on
the md5 sums of the official files).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import Dataset

from ganzoo.data.configs import CelebAConfig
from ganzoo.data.images import check_split, crop_and_resize, load_image, random_hflip
from ganzoo.base.errors import DataError

IMAGES = "img_align_celeba"
PARTITIONS = "list_eval_partition.txt"
ATTRIBUTES = "list_attr_celeba.txt"
NUM_ATTRIBUTES = 40
PARTITION_OF_SPLIT = {"train": 0, "test": 2}  # 1 is CelebA's validation partition, unused here

LAYOUT = (
    f"expected ROOT/celeba/{IMAGES}/000001.jpg ..., ROOT/celeba/{PARTITIONS} and "
    f"ROOT/celeba/{ATTRIBUTES} (torchvision's layout; ROOT may also be the celeba/ folder itself)"
)


class CelebADataset(Dataset):
    """Items are ``{"image": [3, R, R] float32 in [-1, 1], "attributes": [40] float32 of 0/1}``.

    Each image is centre-cropped to ``crop``×``crop`` and then resized to ``resolution``; with
    ``flip`` it is mirrored left-right with probability 1/2 (torch's global RNG).
    """

    channels = 3

    def __init__(
        self,
        *,
        paths: list[Path],
        attributes: torch.Tensor,
        attribute_names: list[str],
        resolution: int,
        crop: int,
        flip: bool,
    ):
        assert attributes.shape == (len(paths), len(attribute_names)), (
            f"attributes {tuple(attributes.shape)} do not match {len(paths)} images "
            f"and {len(attribute_names)} names"
        )
        self.paths = list(paths)
        self.attributes = attributes.to(torch.float32)
        self.attribute_names = list(attribute_names)
        self.resolution = resolution
        self.crop = crop
        self.flip = flip

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        path = self.paths[index]
        image = load_image(path, 3)
        height, width = image.shape[-2:]
        if self.crop > min(height, width):
            raise DataError(f"crop = {self.crop} is larger than image {path} ({width}×{height})")
        image = crop_and_resize(image, self.crop, self.resolution)
        if self.flip:
            image = random_hflip(image)
        return {"image": image, "attributes": self.attributes[index]}


def find_base(root: Path) -> Path:
    """The folder holding the CelebA files: ``root/celeba``, or ``root`` when it is that folder."""
    if not root.is_dir():
        raise DataError(f"CelebA folder {root} does not exist; {LAYOUT}")
    if any((root / name).exists() for name in (IMAGES, PARTITIONS, ATTRIBUTES)):
        base = root
    else:
        base = root / "celeba"
    for path in (base / IMAGES, base / PARTITIONS, base / ATTRIBUTES):
        if not path.exists():
            raise DataError(f"CelebA file {path} is missing; {LAYOUT}")
    return base


def read_partitions(path: Path) -> dict[str, int]:
    """``{"000001.jpg": 0, ...}`` from ``list_eval_partition.txt`` (0 train, 1 valid, 2 test)."""
    partitions = {}
    for number, line in enumerate(_lines(path), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2 or fields[1] not in ("0", "1", "2"):
            raise DataError(f"{path}:{number}: expected '<file name> <0, 1 or 2>', got {line.strip()!r}")
        partitions[fields[0]] = int(fields[1])
    return partitions


def read_attributes(path: Path) -> tuple[list[str], dict[str, list[bool]]]:
    """The 40 attribute names and ``{"000001.jpg": [False, True, ...]}`` from ``list_attr_celeba.txt``.

    The file holds the row count, then the names, then one ``<file name> <40 × -1 or 1>`` row per
    image, with fields separated by one or more spaces.
    """
    lines = _lines(path)
    if len(lines) < 2 or not lines[0].strip().isdigit():
        raise DataError(f"{path}: expected the image count on line 1 and the attribute names on line 2")
    count = int(lines[0])
    names = lines[1].split()
    if len(names) != NUM_ATTRIBUTES:
        raise DataError(f"{path}:2: expected {NUM_ATTRIBUTES} attribute names, found {len(names)}")
    rows = {}
    for number, line in enumerate(lines[2:], start=3):
        fields = line.split()
        if not fields:
            continue
        values = fields[1:]
        if len(values) != NUM_ATTRIBUTES or any(value not in ("-1", "1") for value in values):
            raise DataError(
                f"{path}:{number}: expected a file name and {NUM_ATTRIBUTES} values of -1 or 1, "
                f"got {line.strip()[:80]!r}"
            )
        rows[fields[0]] = [value == "1" for value in values]
    if len(rows) != count:
        raise DataError(f"{path}: line 1 says {count} images but {len(rows)} rows follow (truncated file?)")
    return names, rows


def build(cfg: CelebAConfig, split: str) -> CelebADataset:
    """CelebA's official ``"train"`` (partition 0) or ``"test"`` (partition 2) images, in file order."""
    check_split(split)
    base = find_base(cfg.root.expanduser())
    partitions = read_partitions(base / PARTITIONS)
    names, rows = read_attributes(base / ATTRIBUTES)

    wanted = PARTITION_OF_SPLIT[split]
    files = sorted(name for name, partition in partitions.items() if partition == wanted)
    if not files:
        raise DataError(f"{base / PARTITIONS} lists no images in partition {wanted} ({split})")
    missing = [name for name in files if name not in rows]
    if missing:
        raise DataError(f"{base / ATTRIBUTES} has no row for {missing[0]} ({len(missing)} images lack one)")
    first = base / IMAGES / files[0]
    if not first.is_file():  # one check up front; the rest fail by name when read
        raise DataError(f"CelebA image {first} is missing; {LAYOUT}")

    return CelebADataset(
        paths=[base / IMAGES / name for name in files],
        attributes=torch.tensor([rows[name] for name in files], dtype=torch.float32),
        attribute_names=names,
        resolution=cfg.resolution,
        crop=cfg.crop,
        flip=cfg.flip and split == "train",
    )


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
