"""SRGAN's data: MATLAB-style bicubic, the DIV2K / Set5 / folder / embedded layouts, and the
metrics under both protocols."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from conftest import RECIPES
from PIL import Image

import ganzoo
from ganzoo.testing import tiny_model

pytest.importorskip("ganzoo_srgan")

from ganzoo_srgan.config import SRPhotosConfig, SuperResolutionConfig  # noqa: E402
from ganzoo_srgan.data import build_folder, build_photos, make_pair  # noqa: E402
from ganzoo_srgan.metrics import luma, measure, sharpness  # noqa: E402
from ganzoo_srgan.resize import downscale, imresize, upscale_bicubic  # noqa: E402


# -- MATLAB bicubic ------------------------------------------------------------------------------

def test_matlab_bicubic_matches_antialiased_bicubic_inside_and_mirrors_at_the_borders():
    torch.manual_seed(0)
    image = torch.rand(1, 3, 64, 48, dtype=torch.float64)
    small = imresize(image, (16, 12))
    torch_bicubic = F.interpolate(image, size=(16, 12), mode="bicubic", antialias=True)
    assert (small - torch_bicubic)[..., 2:-2, 2:-2].abs().max() < 1e-6  # same kernel, a = -0.5
    assert (small - torch_bicubic).abs().max() > 1e-3  # but not torch's border handling
    # MATLAB's "symmetric" padding: the edge pixel repeated. Resizing a mirrored extension and
    # cropping gives the same pixels.
    pad = 8
    rows = torch.cat([image[..., :pad, :].flip(-2), image, image[..., -pad:, :].flip(-2)], -2)
    padded = torch.cat([rows[..., :pad].flip(-1), rows, rows[..., -pad:].flip(-1)], -1)
    bigger = imresize(padded, (16 + 4, 12 + 4))
    assert torch.allclose(bigger[..., 2:-2, 2:-2], small, atol=1e-12)
    flat = torch.full((1, 1, 40, 40), 0.3, dtype=torch.float64)
    assert torch.allclose(imresize(flat, (10, 10)), flat[..., :10, :10])
    assert upscale_bicubic(downscale(torch.zeros(1, 3, 8, 8), 4), 4).shape == (1, 3, 8, 8)


def test_downscale_rounds_to_8_bits_and_needs_sides_that_divide():
    low = downscale(torch.rand(3, 16, 24) * 2 - 1, 4)
    assert low.shape == (3, 4, 6)
    levels = (low + 1) * 127.5
    assert torch.allclose(levels, levels.round(), atol=1e-4)
    with pytest.raises(ValueError, match="not multiples of scale 4"):
        downscale(torch.zeros(3, 10, 8), 4)


# -- data ----------------------------------------------------------------------------------------

def _photo(path, width, height, seed):
    g = torch.Generator().manual_seed(seed)
    pixels = (torch.rand(height, width, 3, generator=g) * 255).to(torch.uint8).numpy()
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def _lr_file(high_path, low_path, scale):
    from ganzoo.data.images import load_image
    from ganzoo.base.images import save_grid

    low, _ = make_pair(load_image(high_path, 3), scale)
    low_path.parent.mkdir(parents=True, exist_ok=True)
    save_grid(low[None], low_path, nrow=1, padding=0)


def test_div2k_layout_reads_the_provided_low_res_files_and_crops_aligned_pairs(tmp_path):
    root = tmp_path / "DIV2K"
    for i, split in ((1, "train"), (2, "train"), (801, "valid")):
        high = _photo(root / f"DIV2K_{split}_HR" / f"{i:04d}.png", 70, 50, i)
        _lr_file(high, root / f"DIV2K_{split}_LR_bicubic" / "X4" / f"{i:04d}x4.png", 4)
    cfg = SuperResolutionConfig(root=root, crop=32, items=6)
    train_set, test_set = build_folder(cfg, "train"), build_folder(cfg, "test")
    assert len(train_set) == 6 and len(test_set) == 1
    assert [n.rsplit("/", 1)[-1] for n in train_set.names] == ["0001.png", "0002.png"]
    torch.manual_seed(0)
    item = train_set[0]
    assert item["source"].shape == (3, 8, 8) and item["target"].shape == (3, 32, 32)
    # aligned: the low-res crop is the downscaled high-res crop (inside, away from crop borders)
    again = downscale(item["target"], 4)
    assert (again - item["source"])[:, 2:-2, 2:-2].abs().max() < 2 / 255 + 1e-6
    low, high = test_set.whole(0)
    assert high.shape == (3, 48, 68) and low.shape == (3, 12, 17)  # cut to multiples of 4


def test_a_low_res_file_of_the_wrong_size_is_named(tmp_path):
    root = tmp_path / "DIV2K"
    _photo(root / "DIV2K_train_HR" / "0001.png", 64, 64, 0)
    _photo(root / "DIV2K_train_LR_bicubic" / "X4" / "0001x4.png", 32, 32, 1)  # an X2 file
    dataset = build_folder(SuperResolutionConfig(root=root, crop=32, items=2), "train")
    with pytest.raises(ganzoo.DataError, match=r"0001x4\.png: .* 32x32 .* is 16x16; is it made "
                                               "for another scale"):
        dataset[0]


def test_set5_layout_is_a_test_set_and_pairs_hr_with_lr_by_name(tmp_path):
    root = tmp_path / "Set5"
    for i in (1, 2):
        high = _photo(root / "image_SRF_4" / f"img_00{i}_SRF_4_HR.png", 40 + 4 * i, 36, i)
        _lr_file(high, root / "image_SRF_4" / f"img_00{i}_SRF_4_LR.png", 4)
    _photo(root / "image_SRF_2" / "img_001_SRF_2_HR.png", 40, 36, 9)
    cfg = SuperResolutionConfig(root=root, crop=16)
    test_set = build_folder(cfg, "test")
    assert len(test_set) == 2 and test_set.whole(1)[0].shape == (3, 9, 12)
    assert test_set[0]["target"].shape == (3, 16, 16)  # centre crops, for sample grids
    with pytest.raises(ganzoo.DataError, match="has only a test split"):
        build_folder(cfg, "train")
    with pytest.raises(ganzoo.DataError, match=r"no image_SRF_8/ .*image_SRF_2, image_SRF_4"):
        build_folder(SuperResolutionConfig(root=root, crop=16, scale=8, layout="benchmark"),
                     "test")


def test_a_plain_folder_makes_its_low_res_inputs(tmp_path):
    for i in range(3):
        _photo(tmp_path / "photos" / f"{i}.jpg", 41, 30, i)
    dataset = build_folder(SuperResolutionConfig(root=tmp_path / "photos", crop=16, items=3),
                           "train")
    low, high = dataset.whole(0)
    assert high.shape == (3, 28, 40) and torch.equal(low, downscale(high, 4))
    with pytest.raises(ganzoo.DataError, match="does not exist"):
        build_folder(SuperResolutionConfig(root=tmp_path / "nope", crop=16), "train")


def test_the_embedded_photos_hold_out_two_whole_photos():
    cfg = SRPhotosConfig(crop=32, photo_size=64, items=5)
    train_set, test_set = build_photos(cfg, "train"), build_photos(cfg, "test")
    assert test_set.names == ["chelsea", "sklearn:flower.jpg"]
    assert not set(test_set.names) & set(train_set.names)
    low, high = test_set.whole(0)
    assert high.shape[-2] == 64 and low.shape[-2] == 16
    assert len(train_set) == 5 and train_set[4]["source"].shape == (3, 8, 8)


def test_more_photos_adds_training_photos_and_keeps_the_test_split():
    """``more_photos`` trains on 16 photos instead of 7; the held-out pair is the same, none of
    the added ones is the held-out cat (``skimage.data.cat`` is ``chelsea``), a grey photo has
    R = G = B, and a view of the stereo pair is a colour photo."""
    plain, more = (SRPhotosConfig(crop=32, photo_size=64, items=5, more_photos=flag)
                   for flag in (False, True))
    assert len(build_photos(more, "train").names) == len(build_photos(plain, "train").names) + 9
    assert build_photos(more, "test").names == build_photos(plain, "test").names
    train = build_photos(more, "train")
    assert not {"cat", "chelsea"} & set(train.names)
    _, grey = train.whole(train.names.index("camera"))
    assert torch.equal(grey[0], grey[1]) and torch.equal(grey[1], grey[2])
    _, colour = train.whole(train.names.index("stereo_motorcycle:0"))
    assert colour.shape[0] == 3 and not torch.equal(colour[0], colour[2])
    with pytest.raises(ganzoo.GanzooError, match="more_photos"):
        ganzoo.Recipe.from_toml(RECIPES / "srresnet_photos.toml", ["data.more_photos='yes'"])


# -- metrics -------------------------------------------------------------------------------------

def test_luma_is_bt601_and_the_psnr_protocols_differ_as_documented():
    white = torch.full((1, 3, 2, 2), 255.0, dtype=torch.float64)
    assert torch.allclose(luma(white), torch.full((1, 1, 2, 2), 235.0, dtype=torch.float64))
    assert torch.allclose(luma(white * 0), torch.full((1, 1, 2, 2), 16.0, dtype=torch.float64))
    torch.manual_seed(0)
    truth = torch.rand(1, 3, 32, 32) * 1.6 - 0.8
    assert measure(truth, truth, 4)["psnr_paper"] == math.inf
    # A pure-blue error of 10 levels: invisible to most of Y (weight 24.966/255) but not to RGB.
    shifted = truth.clone()
    shifted[:, 2] += 10 / 127.5
    scores = measure(shifted, truth, 4)
    assert scores["psnr_rgb"] == pytest.approx(10 * math.log10(255**2 / (100 / 3)), abs=0.05)
    y_error = 10 * 24.966 / 255
    assert scores["psnr_paper"] == pytest.approx(10 * math.log10(255**2 / y_error**2), abs=0.05)
    # The border is cropped: an error only in the outer 4 pixels leaves the score perfect.
    framed = truth.clone()
    framed[..., :4, :] = 1
    assert measure(framed, truth, 4)["psnr_paper"] == math.inf


def test_sharpness_is_one_for_the_truth_and_lower_for_bicubic():
    torch.manual_seed(0)
    truth = torch.rand(1, 3, 64, 64) * 2 - 1
    blurred = upscale_bicubic(downscale(truth, 4), 4)
    assert sharpness(truth, truth) == pytest.approx(1.0)
    assert sharpness(blurred, truth) < 0.6


def test_the_registered_metrics_record_both_protocols_and_the_bicubic_baseline():
    from ganzoo.metrics import evaluate

    data = build_photos(SRPhotosConfig(crop=16, photo_size=32), "test")
    model = tiny_model("srgan")
    scores = evaluate(model, ["sr-psnr", "sr-ssim", "sr-sharpness"], data=data, n=10)
    psnr = scores["sr-psnr"]
    assert set(psnr.details) == {"rgb", "bicubic", "bicubic_rgb"}
    assert psnr.details["bicubic"] > psnr.value  # an untrained network is worse than bicubic
    assert "Y channel" in psnr.protocol.extra["protocol"] and psnr.protocol.n_real == 2
    assert 0 < scores["sr-ssim"].value < 1 and "bicubic" in scores["sr-sharpness"].details


def test_more_photos_is_a_key_of_the_embedded_photos_only():
    """A folder of photos has no bundled extras: the key is refused there, naming it."""
    with pytest.raises(ganzoo.GanzooError, match="has no key 'more_photos'"):
        ganzoo.Recipe.from_toml(RECIPES / "srresnet_photos.toml",
                                ["data.dataset=super-resolution", "data.root=/tmp",
                                 "data.more_photos=true"])
