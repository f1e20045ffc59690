"""A tiny CUB-200-2011 in exactly the layout of the StackGAN authors' release, pickles included.

Each image is blue, with the square the authors crop (1.5 × the box's longer side around its
centre) painted green and the bounding box itself red, so a test can tell a right crop (red and
green, no blue) from a wrong one.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = ("001.Black_footed_Albatross", "002.Laysan_Albatross")
BLUE, GREEN, RED = (0, 0, 255), (0, 255, 0), (255, 0, 0)


def py2_pickle_of_strings(items: list[str]) -> bytes:
    """A list of Python 2 ``str`` as Python 2's pickle protocol 2 writes it (SHORT_BINSTRING
    byte strings, which Python 3 must read with ``encoding="latin1"``)."""
    out = bytearray(b"\x80\x02]q\x00(")  # PROTO 2, EMPTY_LIST, BINPUT 0, MARK
    for text in items:
        data = text.encode("latin-1")
        assert len(data) < 256
        out += b"U" + bytes([len(data)]) + data
    out += b"e."  # APPENDS, STOP
    return bytes(out)


def _image(width: int, height: int, box: tuple[int, int, int, int]) -> Image.Image:
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    pixels[:] = BLUE
    x, y, w, h = box
    r = int(max(w, h) * 0.75)
    cx, cy = int((2 * x + w) / 2), int((2 * y + h) / 2)
    pixels[max(0, cy - r):cy + r, max(0, cx - r):cx + r] = GREEN
    pixels[y:y + h, x:x + w] = RED
    return Image.fromarray(pixels)


def make_cub(root: Path, *, n_train: int = 6, n_test: int = 3, embedding_dim: int = 16,
             descriptions: int = 10, captions: bool = True, seed: int = 0) -> Path:
    """Write the tiny dataset under ``root`` and return ``root``."""
    rng = np.random.default_rng(seed)
    cub = root / "CUB_200_2011"
    names = []
    for i in range(n_train + n_test):
        cls = CLASSES[i % len(CLASSES)]
        names.append(f"{cls}/{cls.split('.')[1]}_{i:04d}_{100 + i}")
    images_txt, boxes_txt = [], []
    for number, name in enumerate(names, 1):
        width, height = int(rng.integers(60, 90)), int(rng.integers(50, 80))
        w, h = int(rng.integers(14, 24)), int(rng.integers(12, 22))
        x, y = int(rng.integers(12, width - w - 12)), int(rng.integers(12, height - h - 12))
        path = cub / "images" / f"{name}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        _image(width, height, (x, y, w, h)).save(path, quality=95)
        images_txt.append(f"{number} {name}.jpg")
        boxes_txt.append(f"{number} {x}.0 {y}.0 {w}.0 {h}.0")
    (cub / "images.txt").write_text("\n".join(images_txt) + "\n")
    (cub / "bounding_boxes.txt").write_text("\n".join(boxes_txt) + "\n")
    splits = {"train": names[:n_train], "test": names[n_train:]}
    for split, files in splits.items():
        folder = root / split
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "filenames.pickle").write_bytes(py2_pickle_of_strings(files))
        classes = [CLASSES.index(f.split("/")[0]) + 1 for f in files]
        (folder / "class_info.pickle").write_bytes(pickle.dumps(classes, protocol=2))
        embeddings = rng.standard_normal((len(files), descriptions, embedding_dim))
        (folder / "char-CNN-RNN-embeddings.pickle").write_bytes(
            pickle.dumps(embeddings.astype(np.float32), protocol=2))
    if captions:
        for name in names:
            path = root / "text_c10" / f"{name}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            colour = "black" if "Black" in name else "white"
            lines = [f"this {colour} bird has a long beak number {k}" for k in range(descriptions)]
            path.write_text("\n".join(lines) + "\n")
    return root
