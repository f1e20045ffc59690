"""Tiny on-disk datasets for tests, in the exact layouts the real ones use."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

CELEBA_ATTRIBUTES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose "
    "Black_Hair Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee "
    "Gray_Hair Heavy_Makeup High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard "
    "Oval_Face Pale_Skin Pointy_Nose Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair "
    "Wavy_Hair Wearing_Earrings Wearing_Hat Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young"
).split()


def celeba_partition(index: int) -> int:
    """The partition the fixture gives image ``index`` (0-based): 0, 0, 1, 2, 0, 0, 1, 2, ..."""
    return (0, 0, 1, 2)[index % 4]


def celeba_attributes(index: int) -> list[int]:
    """The -1/1 attributes the fixture writes for image ``index`` (0-based), distinct per image."""
    rng = np.random.default_rng(1000 + index)
    return [int(v) for v in rng.choice([-1, 1], size=len(CELEBA_ATTRIBUTES))]


def make_celeba(root: Path, n: int = 6) -> Path:
    """Write ``n`` CelebA images in torchvision's layout under ``root/celeba``; returns ``root``.

    Images are 178×218 JPEGs of random colour blocks; partitions follow :func:`celeba_partition`
    and attributes :func:`celeba_attributes`. The text files copy the real files' formats: a
    right-aligned ``-1``/`` 1`` table after a count line and a names line.
    """
    base = Path(root) / "celeba"
    images = base / "img_align_celeba"
    images.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    partition_lines, attribute_lines = [], []
    for index in range(n):
        name = f"{index + 1:06d}.jpg"
        blocks = rng.integers(0, 256, size=(218 // 2 + 1, 178 // 2 + 1, 3), dtype=np.uint8)
        pixels = blocks.repeat(2, axis=0).repeat(2, axis=1)[:218, :178]
        Image.fromarray(pixels, "RGB").save(images / name, quality=95)
        partition_lines.append(f"{name} {celeba_partition(index)}\n")
        attribute_lines.append(name + "".join(f"{v:>3d}" for v in celeba_attributes(index)) + "\n")
    (base / "list_eval_partition.txt").write_text("".join(partition_lines))
    header = f"{n}\n" + " ".join(CELEBA_ATTRIBUTES) + " \n"
    (base / "list_attr_celeba.txt").write_text(header + "".join(attribute_lines))
    return Path(root)


def make_image_folder(
    root: Path, n: int = 5, size: tuple[int, int] = (40, 30), with_split: bool = False
) -> Path:
    """Write ``n`` images of ``size`` (width, height), alternately PNG and JPEG; returns ``root``.

    Some go in a nested subfolder and some have upper-case extensions. With ``with_split`` the
    images are written to both ``root/train`` and ``root/test`` (``n`` each).
    """
    root = Path(root)
    folders = [root / "train", root / "test"] if with_split else [root]
    rng = np.random.default_rng(1)
    for folder in folders:
        for index in range(n):
            target = folder / "nested" if index % 3 == 2 else folder
            target.mkdir(parents=True, exist_ok=True)
            pixels = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
            suffix = (".png", ".JPG")[index % 2]
            Image.fromarray(pixels, "RGB").save(target / f"img{index:03d}{suffix}")
    return root


def truncate(path: Path) -> Path:
    """Cut ``path`` to half its bytes, as an interrupted download would."""
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: len(data) // 2])
    return Path(path)
