"""Paired datasets: pix2pix's aligned A|B folders, separate A/ B/ folders, embedded photo pairs."""

from __future__ import annotations

import pytest
import torch
from paired_fixtures import make_aligned, make_separate

import ganzoo
from ganzoo import DataError
from ganzoo.data.configs import PairedFolderConfig, PhotoPairsConfig
from ganzoo.data.paired import TEST_PHOTOS, TRAIN_PHOTOS, build_folder, build_photos, photo_pair


def test_aligned_halves_become_source_and_target(tmp_path):
    root = make_aligned(tmp_path / "pairs", size=(40, 36))
    data = build_folder(PairedFolderConfig(root=root, preprocess="none", flip=False), "train")
    item = data[0]
    assert item["source"].shape == item["target"].shape == (3, 36, 40)
    assert torch.allclose(item["target"], -item["source"], atol=1e-6)  # B = 255 - A
    swapped = build_folder(PairedFolderConfig(root=root, preprocess="none", direction="BtoA",
                                              flip=False),
                           "train")[0]
    assert torch.equal(swapped["source"], item["target"])
    assert torch.equal(swapped["target"], item["source"])


def test_the_test_split_is_test_or_else_val(tmp_path):
    root = make_aligned(tmp_path / "shoes", splits=("train", "val"), n=2)
    assert len(build_folder(PairedFolderConfig(root=root), "test")) == 2
    only_train = make_aligned(tmp_path / "only", splits=("train",))
    with pytest.raises(DataError, match="has no test/ or val/ subfolder"):
        build_folder(PairedFolderConfig(root=only_train), "test")


@pytest.mark.parametrize("preprocess, shape", [("resize_and_crop", (24, 24)), ("crop", (24, 24)),
                                               ("scale_width", (27, 30)),
                                               ("scale_width_and_crop", (24, 24))])
def test_crops_and_flips_keep_the_pair_together(tmp_path, preprocess, shape):
    root = make_aligned(tmp_path / "pairs", size=(40, 36))
    cfg = PairedFolderConfig(root=root, preprocess=preprocess, load_size=32, crop_size=24,
                             flip=True)
    if preprocess == "scale_width":
        cfg = PairedFolderConfig(root=root, preprocess=preprocess, load_size=32, crop_size=30)
    torch.manual_seed(0)
    for split in ("train", "test"):
        data = build_folder(cfg, split)
        for i in range(len(data)):
            item = data[i]
            assert item["source"].shape[1:] == shape
            assert torch.allclose(item["target"], -item["source"], atol=1e-5)
    # the test split is deterministic: centre crops, no flips
    assert torch.equal(build_folder(cfg, "test")[1]["source"], build_folder(cfg, "test")[1]["source"])


def test_random_crops_differ_between_reads_of_the_training_split(tmp_path):
    root = make_aligned(tmp_path / "pairs", size=(40, 36))
    data = build_folder(PairedFolderConfig(root=root, preprocess="crop", crop_size=16,
                                           flip=False), "train")
    torch.manual_seed(0)
    reads = [data[0]["source"] for _ in range(4)]
    assert any(not torch.equal(reads[0], r) for r in reads[1:])


def test_grayscale_sides(tmp_path):
    root = make_aligned(tmp_path / "pairs")
    item = build_folder(PairedFolderConfig(root=root, preprocess="none", input_nc=1), "train")[0]
    assert item["source"].shape[0] == 1 and item["target"].shape[0] == 3


def test_separate_folders_pair_by_name(tmp_path):
    root = make_separate(tmp_path / "ab")
    data = build_folder(PairedFolderConfig(root=root, preprocess="none"), "test")
    assert len(data) == 3 and data.pairs[0][1].parent.parent.name == "B"
    item = data[2]
    assert torch.allclose(item["target"], -item["source"], atol=1e-6)


def test_missing_partner_and_odd_width_name_the_file(tmp_path):
    root = make_separate(tmp_path / "ab")
    (root / "B" / "train" / "img1.png").unlink()
    with pytest.raises(DataError, match=r"A/train/img1.png has no partner .*B/train/img1.png"):
        build_folder(PairedFolderConfig(root=root), "train")
    odd = make_aligned(tmp_path / "odd", size=(40, 36))
    from PIL import Image

    Image.new("RGB", (81, 36)).save(odd / "train" / "9.png")
    data = build_folder(PairedFolderConfig(root=odd, preprocess="none"), "train")
    with pytest.raises(DataError, match=r"9.png: an aligned pair .* width 81 is odd"):
        data[3]


def test_crop_larger_than_load_size_is_refused(tmp_path):
    with pytest.raises(ganzoo.RecipeError, match="crop_size = 300 is larger than load_size"):
        ganzoo.Recipe.from_dict({"architecture": "pix2pix", "data": {
            "dataset": "paired-folder", "root": str(tmp_path), "crop_size": 300},
            "model": {}}, source="test")


@pytest.fixture(scope="module")
def photos():
    cfg = PhotoPairsConfig(resolution=32, photo_size=64, items=10)
    return cfg, build_photos(cfg, "train"), build_photos(cfg, "test")


def test_photo_pairs_edges_and_held_out_whole_photos(photos):
    cfg, train, test = photos
    assert not set(TRAIN_PHOTOS) & set(TEST_PHOTOS)
    assert len(train) == 10
    item = train[3]
    assert item["source"].shape == (1, 32, 32) and item["target"].shape == (3, 32, 32)
    assert set(item["source"].unique().tolist()) <= {-1.0, 1.0}  # black edges on white
    # the test split is made of tiles of the held-out photos, in order
    shapes = [photo_pair(name, cfg)[1].shape[-2:] for name in TEST_PHOTOS]
    assert len(test) == sum((h // 32) * (w // 32) for h, w in shapes)
    source, target = photo_pair("chelsea", cfg)  # TEST_PHOTOS[0], shorter side 64
    h, w = target.shape[-2:]
    top, left = (h % 32) // 2, (w % 32) // 2
    assert torch.equal(test[1]["target"], target[:, top:top + 32, left + 32:left + 64])
    assert torch.equal(test[1]["source"], source[:, top:top + 32, left + 32:left + 64])


def test_gray2color_source_is_the_targets_luma():
    cfg = PhotoPairsConfig(task="gray2color", resolution=16, photo_size=32, items=4, flip=False)
    item = build_photos(cfg, "test")[0]
    luma = (item["target"] * torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)).sum(0)
    assert torch.allclose(item["source"][0], luma, atol=1e-6)


def test_hue_jitter_changes_target_colours_only():
    plain = PhotoPairsConfig(resolution=16, photo_size=32, items=4, flip=False)
    jittered = PhotoPairsConfig(resolution=16, photo_size=32, items=4, flip=False, hue_jitter=0.5)
    torch.manual_seed(0)
    a = build_photos(plain, "train")[1]
    torch.manual_seed(0)
    b = build_photos(jittered, "train")[1]
    assert torch.equal(a["source"], b["source"])
    assert not torch.allclose(a["target"], b["target"], atol=1e-3)
    assert b["target"].min() >= -1 and b["target"].max() <= 1


def test_a_missing_paired_folder_names_it_and_the_layout(tmp_path):
    with pytest.raises(DataError, match=f"paired folder {tmp_path / 'nope'} does not exist; "
                                        "expected train/, val/, test/ .*--set data.root=PATH"):
        build_folder(PairedFolderConfig(root=tmp_path / "nope"), "train")


def test_photo_pairs_train_sizes_add_scales_for_training_crops_only():
    cfg = PhotoPairsConfig(resolution=16, photo_size=32, items=64, train_sizes=[16, 48])
    train = build_photos(cfg, "train")
    # astronaut is square: the photo at photo_size, then at each extra size
    assert [tuple(s.shape[-2:]) for s, _ in train.sizes[0]] == [(32, 32), (16, 16), (48, 48)]
    assert all(train[i]["source"].shape == (1, 16, 16) for i in range(len(train)))
    plain = PhotoPairsConfig(resolution=16, photo_size=32, items=64)
    test, plain_test = build_photos(cfg, "test"), build_photos(plain, "test")
    assert len(test) == len(plain_test)  # held-out tiles stay at photo_size
    assert all(torch.equal(test[i]["target"], plain_test[i]["target"]) for i in range(len(test)))
    with pytest.raises(ValueError, match=r"train_sizes \[24\] are smaller than resolution = 32"):
        PhotoPairsConfig(resolution=32, photo_size=64, train_sizes=[24, 64])
