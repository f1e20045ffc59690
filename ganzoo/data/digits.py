"""scikit-learn's handwritten digits: 1797 8×8 grayscale images of 0–9, bundled with scikit-learn.

Small enough to train a GAN on a CPU in minutes, and needs no download: the smoke-test dataset.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ganzoo.data.configs import DigitsConfig
from ganzoo.data.images import check_split

MAX_VALUE = 16  # load_digits pixels are counts of set pixels in 4×4 blocks: 0..16


class DigitsDataset(Dataset):
    """One split of the digits, precomputed as a single ``[N, 1, R, R]`` tensor in ``[-1, 1]``.

    Items are ``{"image": [1, R, R] float32, "label": long scalar}``; 0 (background) maps to -1.
    """

    channels = 1
    num_classes = 10

    def __init__(self, *, images: torch.Tensor, labels: torch.Tensor, resolution: int):
        assert images.ndim == 4 and images.shape[1] == 1, f"expected [N, 1, 8, 8], got {tuple(images.shape)}"
        assert len(images) == len(labels), f"{len(images)} images but {len(labels)} labels"
        scaled = images.to(torch.float32) * (2.0 / MAX_VALUE) - 1.0
        if resolution != scaled.shape[-1]:
            scaled = F.interpolate(
                scaled, size=(resolution, resolution), mode="bilinear", align_corners=False, antialias=False
            )
        self.images = scaled.contiguous()
        self.labels = labels.to(torch.long)
        self.resolution = resolution

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"image": self.images[index], "label": self.labels[index]}


def build(cfg: DigitsConfig, split: str) -> DigitsDataset:
    """The ``"train"`` (1437 images) or ``"test"`` (360 images) split, the same on every call.

    The split is scikit-learn's ``train_test_split`` with ``test_size=0.2``, ``random_state=0``,
    stratified by label, so every digit appears in both splits in the same proportions.
    """
    check_split(split)
    from sklearn.datasets import load_digits  # slow to import; only needed here
    from sklearn.model_selection import train_test_split

    pixels, labels = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        pixels, labels, test_size=0.2, random_state=0, stratify=labels
    )
    x, y = (x_train, y_train) if split == "train" else (x_test, y_test)
    images = torch.as_tensor(x, dtype=torch.float32).reshape(-1, 1, 8, 8)
    return DigitsDataset(images=images, labels=torch.as_tensor(y), resolution=cfg.resolution)
