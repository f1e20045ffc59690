"""CUB-200-2011 in the layout of the StackGAN authors' release (``hanzhanggit/StackGAN-Pytorch``)::

    ROOT/CUB_200_2011/images.txt              "<id> <class>/<file>.jpg"
    ROOT/CUB_200_2011/bounding_boxes.txt      "<id> <x> <y> <width> <height>"
    ROOT/CUB_200_2011/images/<class>/<file>.jpg
    ROOT/train/filenames.pickle               ["<class>/<file>", ...] (no extension)
    ROOT/train/class_info.pickle              [class id, ...]
    ROOT/train/char-CNN-RNN-embeddings.pickle array [N, 10, 1024]
    ROOT/test/...                             the same for the test split
    ROOT/text_c10/<class>/<file>.txt          ten captions, one a line (optional)

The pickles were written by Python 2; they are read with :mod:`ganzoo.base.safe_pickle`, which admits
numpy arrays, lists, strings and numbers only and refuses anything that could run code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

import ganzoo.base.safe_pickle as safe_pickle
from ganzoo.data.images import check_split, load_image
from ganzoo.base.errors import DataError

from .config import CUBConfig

EMBEDDINGS = "char-CNN-RNN-embeddings.pickle"
FILENAMES = "filenames.pickle"
CLASS_INFO = "class_info.pickle"
LAYOUT = ("expected the StackGAN authors' layout: ROOT/CUB_200_2011/{images.txt, "
          "bounding_boxes.txt, images/}, ROOT/train/ and ROOT/test/ with filenames.pickle, "
          "class_info.pickle and char-CNN-RNN-embeddings.pickle (docs/stackgan.md)")


def bird_box(box: tuple[float, float, float, float], width: int, height: int
             ) -> tuple[int, int, int, int]:
    """The authors' crop ``(x1, y1, x2, y2)``: a square of 1.5 × the box's longer side around its
    centre, clipped to the image (as ``get_img`` in their ``datasets.py``)."""
    x, y, w, h = box
    r = int(max(w, h) * 0.75)
    cx, cy = int((2 * x + w) / 2), int((2 * y + h) / 2)
    return max(0, cx - r), max(0, cy - r), min(width, cx + r), min(height, cy + r)


def _read_boxes(folder: Path) -> dict[str, tuple[float, float, float, float]]:
    """``{"<class>/<file>" (no extension): (x, y, w, h)}`` from images.txt + bounding_boxes.txt."""
    paths: dict[str, str] = {}
    boxes: dict[str, tuple[float, ...]] = {}
    for name, target, parse in (("images.txt", paths, lambda p: p[0]),
                                ("bounding_boxes.txt", boxes, lambda p: tuple(map(float, p)))):
        path = folder / name
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            raise DataError(f"{path}: missing; {LAYOUT}") from None
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            parts = line.split()
            want = 2 if name == "images.txt" else 5
            try:
                if len(parts) != want:
                    raise ValueError(f"expected {want} fields")
                target[parts[0]] = parse(parts[1:])
            except ValueError as exc:
                raise DataError(f"{path}:{number}: cannot read {line!r} ({exc})") from None
    out = {}
    for image_id, rel in paths.items():
        if image_id not in boxes:
            raise DataError(f"{folder / 'bounding_boxes.txt'}: no box for image {image_id} ({rel})")
        out[rel.rsplit(".", 1)[0]] = boxes[image_id]
    return out


def _load_split(root: Path, split: str) -> tuple[list[str], list[int], np.ndarray | None]:
    folder = root / split
    if not folder.is_dir():
        raise DataError(f"{folder}: missing; {LAYOUT}")
    filenames = safe_pickle.load(folder / FILENAMES)
    if not isinstance(filenames, list) or not all(isinstance(f, str) for f in filenames):
        raise DataError(f"{folder / FILENAMES}: expected a list of 'class/file' strings")
    classes = safe_pickle.load(folder / CLASS_INFO) if (folder / CLASS_INFO).is_file() else None
    classes = [0] * len(filenames) if classes is None else _class_ids(classes,
                                                                        folder / CLASS_INFO)
    if len(classes) != len(filenames):
        raise DataError(f"{folder / CLASS_INFO}: {len(classes)} classes for {len(filenames)} "
                        f"files in {FILENAMES}")
    return filenames, classes, folder


def _class_ids(value, path: Path) -> list[int]:
    """The class ids of ``class_info.pickle``: a flat list (or integer array) of ids >= 0."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "iu" and value.ndim == 1:
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        raise DataError(f"{path}: expected a list of integer class ids, got a "
                        f"{type(value).__name__}")
    for index, item in enumerate(value):
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, (int, np.integer)) \
                or not 0 <= item < 2**31:
            shown = repr(item) if len(repr(item)) <= 40 else f"{repr(item)[:40]}..."
            raise DataError(f"{path}: expected a list of integer class ids >= 0, got {shown} "
                            f"at [{index}]")
    return [int(item) for item in value]


def _load_embeddings(path: Path, count: int) -> np.ndarray:
    array = safe_pickle.load(path)
    try:
        if isinstance(array, np.ndarray) and array.dtype.kind not in "iuf":
            raise TypeError(array.dtype)
        array = np.asarray(array, dtype=np.float32)
    except (TypeError, ValueError, OverflowError):
        raise DataError(f"{path}: expected an array of embeddings [N, 10, D] of numbers") from None
    if not np.isfinite(array).all():
        raise DataError(f"{path}: embeddings hold NaN or infinite values")
    if array.ndim == 2:
        array = array[:, None, :]
    if array.ndim != 3 or len(array) != count:
        raise DataError(f"{path}: embeddings of shape {list(array.shape)}; expected [{count}, "
                        "10, D] (one row per file in filenames.pickle)")
    return array


class CUBBirds(Dataset):
    """Items ``{"image": [3, R, R], "embedding": [D] (with embeddings), "caption": str (with
    captions), "label": class id}``; one of each image's descriptions drawn per item and epoch
    (under the loop's seeded RNG, so resuming draws the same)."""

    channels = 3

    def __init__(self, cfg: CUBConfig, split: str):
        check_split(split)
        root = cfg.root
        if not root.is_dir():
            raise DataError(f"{root}: no such folder; {LAYOUT}")
        self.cfg = cfg
        self.train = split == "train"
        self.resolution = cfg.resolution
        self.filenames, self.labels, folder = _load_split(root, split)
        boxes = _read_boxes(root / "CUB_200_2011")
        missing = [f for f in self.filenames if f not in boxes]
        if missing:
            raise DataError(f"{root / 'CUB_200_2011' / 'images.txt'}: no entry for {missing[0]!r} "
                            f"(listed in {folder / FILENAMES})")
        self.boxes = [boxes[f] for f in self.filenames]
        self.images = root / "CUB_200_2011" / "images"
        self.embeddings = (_load_embeddings(folder / EMBEDDINGS, len(self.filenames))
                           if cfg.embeddings else None)
        self.captions = self._load_captions(root / "text_c10") if cfg.captions else None
        if self.embeddings is None and self.captions is None:
            raise DataError(f"{root}: [data] embeddings = false and captions = false leaves no "
                            "text; enable at least one")

    def _load_captions(self, folder: Path) -> list[list[str]]:
        captions = []
        for name in self.filenames:
            path = folder / f"{name}.txt"
            try:
                lines = [t.strip() for t in path.read_text(encoding="utf-8").splitlines()]
            except FileNotFoundError:
                raise DataError(f"{path}: missing; [data] captions = true needs the raw captions "
                                "in ROOT/text_c10/<class>/<file>.txt") from None
            lines = [t for t in lines if t]
            if not lines:
                raise DataError(f"{path}: holds no caption")
            captions.append(lines)
        return captions

    def __len__(self) -> int:
        return len(self.filenames)

    def image(self, index: int) -> torch.Tensor:
        """The bird cropped by its box, at ``load_size``, before the random crop."""
        import torchvision.transforms.functional as TF
        from torchvision.transforms import InterpolationMode

        image = load_image(self.images / f"{self.filenames[index]}.jpg", 3)
        height, width = image.shape[-2:]
        x1, y1, x2, y2 = bird_box(self.boxes[index], width, height)
        image = image[:, y1:y2, x1:x2]
        size = self.cfg.scaled_size
        return TF.resize(image, [size, size], interpolation=InterpolationMode.BILINEAR,
                         antialias=True).clamp_(-1, 1)

    def __getitem__(self, index: int) -> dict:
        image = self.image(index)
        size, res = image.shape[-1], self.resolution
        if self.train:
            top, left = (int(v) for v in torch.randint(0, size - res + 1, (2,)))
        else:
            top = left = (size - res) // 2
        image = image[:, top:top + res, left:left + res]
        if self.train and self.cfg.flip and torch.rand(()).item() < 0.5:
            image = image.flip(-1)
        count = (len(self.embeddings[index]) if self.embeddings is not None
                 else len(self.captions[index]))
        pick = int(torch.randint(0, count, ())) if self.train else 0
        item = {"image": image.contiguous(), "label": self.labels[index]}
        if self.embeddings is not None:
            item["embedding"] = torch.from_numpy(self.embeddings[index, pick].copy())
        if self.captions is not None:
            item["caption"] = self.captions[index][pick % len(self.captions[index])]
        return item


def build(cfg: CUBConfig, split: str) -> CUBBirds:
    return CUBBirds(cfg, split)
