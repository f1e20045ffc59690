"""Images from paths, PIL images, tensors and lists all become one [-1, 1] batch."""

from __future__ import annotations

import math

import pytest
import torch
from PIL import Image

from ganzoo.base.errors import DataError
from ganzoo.base.images import as_batch, save_grid


def test_every_input_kind_gives_the_same_batch(tmp_path):
    pixels = torch.arange(48, dtype=torch.uint8).view(4, 4, 3) * 5  # H, W, C
    pil = Image.fromarray(pixels.numpy(), "RGB")
    path = tmp_path / "x.png"
    pil.save(path)
    expected = pixels.permute(2, 0, 1).float().unsqueeze(0) / 127.5 - 1
    for given in (pil, path, str(path), pixels.permute(2, 0, 1), expected[0], expected):
        batch = as_batch(given)
        assert batch.shape == (1, 3, 4, 4) and torch.allclose(batch, expected, atol=1e-6), given
    assert as_batch([pil, path]).shape == (2, 3, 4, 4)


def test_channel_conversion_and_errors(tmp_path):
    rgb = torch.ones(2, 3, 5, 5) * torch.tensor([1.0, -1.0, 0.0]).view(1, 3, 1, 1)
    gray = as_batch(rgb, channels=1)
    assert gray.shape == (2, 1, 5, 5)
    assert torch.allclose(gray, torch.full_like(gray, 0.299 - 0.587))
    assert as_batch(torch.zeros(1, 5, 5), channels=3).shape == (1, 3, 5, 5)
    with pytest.raises(DataError, match="different sizes"):
        as_batch([torch.zeros(3, 4, 4), torch.zeros(3, 5, 5)])
    with pytest.raises(DataError, match="cannot use int as an image"):
        as_batch(3)
    with pytest.raises(DataError, match=str(tmp_path / "missing.png")):
        as_batch(tmp_path / "missing.png")


def test_save_grid_round_trips_pixel_values(tmp_path):
    images = torch.linspace(-1, 1, 16).view(1, 1, 4, 4).repeat(4, 3, 1, 1)
    path = save_grid(images, tmp_path / "g.png", nrow=2)
    grid = as_batch(path)
    assert grid.shape == (1, 3, 2 * 6 + 2, 2 * 6 + 2)  # 2x2 tiles of 4px with 2px padding
    tile = grid[0, :, 2:6, 2:6]
    assert torch.allclose(tile, images[0], atol=1 / 127.5)


def test_one_grayscale_image_without_padding_is_written_as_grayscale(tmp_path):
    from PIL import Image

    from ganzoo.base.images import save_grid

    image = torch.linspace(-1, 1, 12).view(1, 1, 3, 4)
    written = Image.open(save_grid(image, tmp_path / "g.png", nrow=1, padding=0))
    assert written.mode == "L" and written.size == (4, 3)
    assert list(written.tobytes()[:4]) == [0, 23, 46, 70]
    rgb = Image.open(save_grid(image.expand(-1, 3, -1, -1), tmp_path / "c.png", padding=0))
    assert rgb.mode == "RGB"


@pytest.mark.parametrize("count, channels, nrow, padding", [
    (64, 1, None, 2), (7, 3, 3, 2), (1, 1, None, 2), (10, 3, None, 0), (5, 1, 8, 1), (3, 3, 2, 5)])
def test_grid_is_torchvisions_make_grid_pixel_for_pixel(count, channels, nrow, padding):
    from torchvision.utils import make_grid

    from ganzoo.base.images import grid, to_uint8

    images = torch.rand(count, channels, 5, 6, generator=torch.Generator().manual_seed(count)) * 2 - 1
    rows = nrow or math.ceil(math.sqrt(count))
    assert torch.equal(grid(images, nrow=nrow, padding=padding),
                       make_grid(to_uint8(images), nrow=rows, padding=padding))
