"""The built-in datasets: digits, image-folder and celeba, on tiny fixtures written to tmp_path."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings

import attrs
import numpy as np
import pytest
import torch
from PIL import Image

import data_fixtures
from ganzoo.data import CelebAConfig, DigitsConfig, ImageFolderConfig
from ganzoo.data import celeba, digits, folder
from ganzoo.base.errors import DataError


def check_image(image: torch.Tensor, channels: int, resolution: int) -> None:
    assert image.dtype == torch.float32
    assert image.shape == (channels, resolution, resolution)
    assert image.min() >= -1.0 and image.max() <= 1.0
    assert image.std() > 0.05, "a random-colour image came out flat"


def test_configs_are_frozen_keyword_only_and_validated(tmp_path):
    cfg = ImageFolderConfig(root=str(tmp_path))
    assert cfg.root == tmp_path and cfg.resolution == 64 and cfg.channels == 3
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        cfg.resolution = 32
    with pytest.raises(TypeError):
        ImageFolderConfig(tmp_path)
    assert CelebAConfig(root=tmp_path).crop == 178
    for bad in [dict(resolution=2), dict(resolution=8192), dict(channels=4), dict(on_bad_image="x")]:
        with pytest.raises(ValueError):
            ImageFolderConfig(root=tmp_path, **bad)
    for make in [lambda: DigitsConfig(resolution=24), lambda: CelebAConfig(root=tmp_path, crop=0)]:
        with pytest.raises(ValueError):
            make()


def test_data_package_imports_without_torch():
    # ``import ganzoo`` is checked elsewhere; ganzoo.data must not add torch or numpy on top of it
    code = (
        "import sys, ganzoo; before = set(sys.modules); import ganzoo.data; "
        "assert not {'torch', 'numpy'} & (set(sys.modules) - before)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("resolution", [8, 16, 32, 64])
def test_digits_shapes_ranges_and_labels(resolution):
    data = digits.build(DigitsConfig(resolution=resolution), "train")
    assert data.channels == 1 and data.resolution == resolution and data.num_classes == 10
    item = data[0]
    assert set(item) == {"image", "label"}
    assert item["image"].shape == (1, resolution, resolution) and item["image"].dtype == torch.float32
    assert item["label"].dtype == torch.long and item["label"].ndim == 0
    assert data.images.min() == -1.0  # background (0) maps to -1
    assert data.images.max() <= 1.0 and data.images.max() > 0.9
    assert torch.equal(item["label"], data.labels[0])


def test_digits_values_match_sklearn():
    from sklearn.datasets import load_digits

    pixels, labels = load_digits(return_X_y=True)
    first = digits.build(DigitsConfig(resolution=8), "test")[0]
    # the sklearn image this item came from, scaled 0..16 -> -1..1, has the same label
    expected = torch.as_tensor(pixels, dtype=torch.float32).reshape(-1, 1, 8, 8) / 8.0 - 1.0
    matches = [i for i in range(len(pixels)) if torch.equal(expected[i], first["image"])]
    assert matches and {labels[i] for i in matches} == {first["label"].item()}


def test_digits_upsampling_is_bilinear_from_the_8x8_image():
    small = digits.build(DigitsConfig(resolution=8), "train")
    large = digits.build(DigitsConfig(resolution=32), "train")
    expected = torch.nn.functional.interpolate(
        small.images[:4], size=(32, 32), mode="bilinear", align_corners=False
    )
    assert torch.allclose(large.images[:4], expected)


def test_digits_split_is_fixed_disjoint_and_stratified():
    cfg = DigitsConfig(resolution=8)
    train, test = digits.build(cfg, "train"), digits.build(cfg, "test")
    assert (len(train), len(test)) == (1437, 360)
    again = digits.build(cfg, "train")
    assert torch.equal(train.images, again.images) and torch.equal(train.labels, again.labels)
    assert set(train.labels.tolist()) == set(test.labels.tolist()) == set(range(10))
    # disjoint: no test image appears among the training images
    train_rows = {tuple(row.tolist()) for row in train.images.flatten(1)}
    assert not any(tuple(row.tolist()) in train_rows for row in test.images.flatten(1))


def test_image_folder_shapes_and_range(tmp_path):
    data_fixtures.make_image_folder(tmp_path, n=5, size=(40, 30))
    data = folder.build(ImageFolderConfig(root=tmp_path, resolution=16), "train")
    assert len(data) == 5 and data.channels == 3 and data.resolution == 16
    names = [p.relative_to(tmp_path).as_posix() for p in data.paths]
    assert names == ["img000.png", "img001.JPG", "img003.JPG", "img004.png", "nested/img002.png"]
    for index in range(len(data)):
        assert set(data[index]) == {"image"}
        check_image(data[index]["image"], 3, 16)


def test_image_folder_center_crop_keeps_the_middle(tmp_path):
    # red | green | blue bands of widths 12, 36, 12: the centre square of this 3:1 image is green
    pixels = np.zeros((20, 60, 3), dtype=np.uint8)
    pixels[:, :12, 0] = pixels[:, 12:48, 1] = pixels[:, 48:, 2] = 255
    Image.fromarray(pixels).save(tmp_path / "stripes.png")
    cropped = folder.build(ImageFolderConfig(root=tmp_path, resolution=8), "train")[0]["image"]
    assert torch.allclose(cropped[1], torch.ones(8, 8)) and torch.allclose(cropped[0], -torch.ones(8, 8))
    squashed = folder.build(ImageFolderConfig(root=tmp_path, resolution=9, center_crop=False), "train")
    image = squashed[0]["image"]
    assert image[0, :, 0].min() > 0.9 and image[1, :, 4].min() > 0.9 and image[2, :, 8].min() > 0.9


def test_image_folder_flip_only_in_train(tmp_path):
    pixels = np.zeros((8, 8, 3), dtype=np.uint8)
    pixels[:, :4] = 255  # white left half
    for split in ("train", "test"):
        (tmp_path / split).mkdir()
        Image.fromarray(pixels).save(tmp_path / split / "half.png")
    cfg = ImageFolderConfig(root=tmp_path, resolution=8, flip=True)
    train, test = folder.build(cfg, "train"), folder.build(cfg, "test")
    torch.manual_seed(0)
    lefts = {train[0]["image"][0, 0, 0].item() for _ in range(20)}
    assert lefts == {-1.0, 1.0}
    assert {test[0]["image"][0, 0, 0].item() for _ in range(20)} == {1.0}


def test_image_folder_grayscale(tmp_path):
    data_fixtures.make_image_folder(tmp_path, n=3)
    data = folder.build(ImageFolderConfig(root=tmp_path, resolution=8, channels=1), "train")
    assert data.channels == 1
    image = data[0]["image"]
    check_image(image, 1, 8)
    # PIL's luma (L = 0.299 R + 0.587 G + 0.114 B) of the RGB item, up to rounding and resizing
    rgb = folder.build(ImageFolderConfig(root=tmp_path, resolution=8), "train")[0]["image"]
    luma = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
    assert torch.allclose(image[0], luma, atol=0.02)


def test_image_folder_splits(tmp_path):
    data_fixtures.make_image_folder(tmp_path, n=4, with_split=True)
    train = folder.build(ImageFolderConfig(root=tmp_path, resolution=8), "train")
    test = folder.build(ImageFolderConfig(root=tmp_path, resolution=8), "test")
    assert len(train) == len(test) == 4
    assert all(p.is_relative_to(tmp_path / "train") for p in train.paths)
    assert all(p.is_relative_to(tmp_path / "test") for p in test.paths)


def test_image_folder_without_test_subfolder(tmp_path):
    data_fixtures.make_image_folder(tmp_path, n=2)
    with pytest.raises(DataError, match=re.escape(f"{tmp_path} has no test/ subfolder")):
        folder.build(ImageFolderConfig(root=tmp_path), "test")


def test_image_folder_missing_root(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError, match=re.escape(f"{missing} does not exist")):
        folder.build(ImageFolderConfig(root=missing), "train")


def test_image_folder_without_images(tmp_path):
    (tmp_path / "notes.txt").write_text("no images here")
    (tmp_path / ".hidden").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / ".hidden" / "ignored.png")
    with pytest.raises(DataError, match=r"no images found") as info:
        folder.build(ImageFolderConfig(root=tmp_path), "train")
    message = str(info.value)
    assert str(tmp_path) in message and ".png" in message and ".webp" in message


def test_image_folder_truncated_png_fails(tmp_path):
    data_fixtures.make_image_folder(tmp_path, n=4)
    bad = data_fixtures.truncate(tmp_path / "img000.png")
    with pytest.raises(DataError, match="cannot read image") as info:
        folder.build(ImageFolderConfig(root=tmp_path), "train")
    assert str(bad) in str(info.value)


def test_image_folder_truncated_png_is_skipped_with_a_warning(tmp_path):
    data_fixtures.make_image_folder(tmp_path, n=4)
    bad = data_fixtures.truncate(tmp_path / "img000.png")
    with pytest.warns(UserWarning, match="skipping") as record:
        data = folder.build(ImageFolderConfig(root=tmp_path, on_bad_image="skip", resolution=8), "train")
    assert len(record) == 1 and str(bad) in str(record[0].message)
    assert len(data) == 3 and bad not in data.paths
    check_image(data[0]["image"], 3, 8)


def test_image_folder_truncated_jpeg_fails_when_read(tmp_path):
    # PIL's header check cannot see a cut JPEG; decoding it must still fail by name, not crash
    data_fixtures.make_image_folder(tmp_path, n=2)
    bad = data_fixtures.truncate(tmp_path / "img001.JPG")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = folder.build(ImageFolderConfig(root=tmp_path), "train")
    index = data.paths.index(bad)
    with pytest.raises(DataError, match="cannot read image") as info:
        data[index]
    assert str(bad) in str(info.value)


def test_celeba_shapes_and_attributes(tmp_path):
    data_fixtures.make_celeba(tmp_path, n=6)
    data = celeba.build(CelebAConfig(root=tmp_path, resolution=32), "train")
    assert data.channels == 3 and data.resolution == 32
    assert data.attribute_names == data_fixtures.CELEBA_ATTRIBUTES
    assert [p.name for p in data.paths] == ["000001.jpg", "000002.jpg", "000005.jpg", "000006.jpg"]
    for index, file_index in enumerate([0, 1, 4, 5]):
        item = data[index]
        assert set(item) == {"image", "attributes"}
        check_image(item["image"], 3, 32)
        expected = [(v + 1) / 2 for v in data_fixtures.celeba_attributes(file_index)]
        assert item["attributes"].dtype == torch.float32
        assert item["attributes"].tolist() == expected


def test_celeba_crop_then_resize_matches_a_manual_pipeline(tmp_path):
    data_fixtures.make_celeba(tmp_path, n=1)
    item = celeba.build(CelebAConfig(root=tmp_path, resolution=178, crop=178), "train")[0]
    with Image.open(tmp_path / "celeba" / "img_align_celeba" / "000001.jpg") as img:
        pixels = np.asarray(img.convert("RGB"), dtype=np.float32)
    top = (218 - 178) // 2
    expected = torch.from_numpy(pixels[top : top + 178]).permute(2, 0, 1) / 127.5 - 1.0
    assert torch.allclose(item["image"], expected)


def test_celeba_partitions(tmp_path):
    data_fixtures.make_celeba(tmp_path, n=9)
    cfg = CelebAConfig(root=tmp_path, resolution=8)
    train, test = celeba.build(cfg, "train"), celeba.build(cfg, "test")
    partitions = [data_fixtures.celeba_partition(i) for i in range(9)]
    assert len(train) == partitions.count(0) == 5
    assert len(test) == partitions.count(2) == 2
    assert [p.name for p in test.paths] == ["000004.jpg", "000008.jpg"]


def test_celeba_accepts_the_celeba_folder_itself(tmp_path):
    data_fixtures.make_celeba(tmp_path, n=4)
    parent = celeba.build(CelebAConfig(root=tmp_path, resolution=8), "test")
    inner = celeba.build(CelebAConfig(root=tmp_path / "celeba", resolution=8), "test")
    assert parent.paths == inner.paths and torch.equal(parent.attributes, inner.attributes)


def test_celeba_missing_attribute_file(tmp_path):
    data_fixtures.make_celeba(tmp_path, n=4)
    missing = tmp_path / "celeba" / "list_attr_celeba.txt"
    missing.unlink()
    with pytest.raises(DataError, match="is missing") as info:
        celeba.build(CelebAConfig(root=tmp_path), "train")
    message = str(info.value)
    assert str(missing) in message and "img_align_celeba" in message and "\n" not in message
    with pytest.raises(DataError, match=re.escape(f"{tmp_path / 'nowhere'} does not exist")):
        celeba.build(CelebAConfig(root=tmp_path / "nowhere"), "train")


def test_celeba_truncated_attribute_file(tmp_path):
    data_fixtures.make_celeba(tmp_path, n=4)
    path = tmp_path / "celeba" / "list_attr_celeba.txt"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:-1]))
    with pytest.raises(DataError, match="line 1 says 4 images but 3 rows"):
        celeba.build(CelebAConfig(root=tmp_path), "train")


@pytest.mark.parametrize("name", ["digits", "folder", "celeba"])
def test_unknown_split_names_the_accepted_ones(tmp_path, name):
    data_fixtures.make_celeba(tmp_path, n=4)  # a valid CelebA root, and a valid image folder too
    module, cfg = {
        "digits": (digits, DigitsConfig()),
        "folder": (folder, ImageFolderConfig(root=tmp_path)),
        "celeba": (celeba, CelebAConfig(root=tmp_path)),
    }[name]
    with pytest.raises(DataError, match=r"unknown split 'valid'.*'train', 'test'"):
        module.build(cfg, "valid")


def test_photo_crops_are_colour_crops_and_the_test_split_is_the_held_out_photos():
    import torch

    from ganzoo.data.configs import PhotoCropsConfig
    from ganzoo.data.photos import build

    cfg = PhotoCropsConfig(resolution=16, photo_sizes=(32, 64), items=10)
    train_split = build(cfg, "train")
    items = [train_split[i]["image"] for i in range(10)]
    assert len(train_split) == 10 and all(x.shape == (3, 16, 16) for x in items)
    assert all(-1 <= float(x.min()) and float(x.max()) <= 1 for x in items)
    assert not torch.equal(items[0], items[7])                      # photos 0 and 0, other crops
    test_split = build(cfg, "test")
    tiles = [test_split[i]["image"] for i in range(len(test_split))]
    assert len(tiles) >= 2 and torch.equal(tiles[0], build(cfg, "test")[0]["image"])  # fixed
    with pytest.raises(ValueError, match=r"photo_sizes \[8\] are smaller than resolution = 16"):
        PhotoCropsConfig(resolution=16, photo_sizes=(8,))
