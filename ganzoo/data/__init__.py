"""Built-in datasets: handwritten digits, a folder of images, and CelebA.

This package imports no torch: only the config classes are re-exported here. Each dataset lives in
its own module (``ganzoo.data.digits``, ``ganzoo.data.folder``, ``ganzoo.data.celeba``) with a
``build(cfg, split)`` function returning a ``torch.utils.data.Dataset`` of dicts whose ``"image"``
is a float32 ``[C, H, W]`` tensor in ``[-1, 1]``.
"""

from __future__ import annotations

from ganzoo.data.configs import CelebAConfig, DigitsConfig, ImageFolderConfig

__all__ = ["CelebAConfig", "DigitsConfig", "ImageFolderConfig"]
