"""SRGAN / SRResNet: networks, tiling, MATLAB bicubic, data layouts, metrics, the two training
stages, resume, ONNX, the CLI and the conversion of Lornatang/SRGAN-PyTorch weights."""

from __future__ import annotations

import math
import os
import signal

import pytest
import torch
import torch.nn.functional as F
from conftest import RECIPES, write_recipe
from PIL import Image
from torch import nn

import ganzoo
from ganzoo import Recipe
from ganzoo.bundle import state_tensors
from ganzoo.testing import check_architecture, tiny_model, train_steps
from ganzoo.training.checkpoint import CHECKPOINT_NAME, checkpoint_step
from ganzoo.training.loop import resume, train

pytest.importorskip("ganzoo_srgan")

from ganzoo_srgan.data import build_folder, build_photos, make_pair  # noqa: E402
from ganzoo_srgan.config import SRPhotosConfig, SuperResolutionConfig  # noqa: E402
from ganzoo_srgan.metrics import luma, measure, sharpness  # noqa: E402
from ganzoo_srgan.resize import downscale, imresize, upscale_bicubic  # noqa: E402


def test_the_architecture_passes_ganzoos_conformance_check(tmp_path):
    check_architecture("srgan", tmp_path)


def test_it_is_an_upscaler_and_its_generator_has_the_papers_layout():
    model = ganzoo.create("srgan")
    assert isinstance(model, ganzoo.Upscaler) and model.scale == 4
    gen = model.gen
    assert len(gen.blocks) == 16 and len(gen.upsample) == 2  # 16 blocks, two sub-pixel x2
    assert gen.head[0].kernel_size == (9, 9) and gen.tail.kernel_size == (9, 9)
    assert isinstance(gen.blocks[0].body[1], nn.BatchNorm2d)
    assert isinstance(gen.blocks[0].body[2], nn.PReLU)
    assert gen.upsample[0].conv.out_channels == 4 * 64
    convs = [m for m in model.disc.features if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 64, 128, 128, 256, 256, 512, 512]
    assert [c.stride[0] for c in convs] == [1, 2, 1, 2, 1, 2, 1, 2]
    assert model.disc.classifier[1].in_features == 512 * 6 * 6  # 96x96 crops, as in the paper
    with torch.no_grad():
        out = model.upscale(torch.zeros(1, 3, 5, 7), tile=None)
    assert out.shape == (1, 3, 20, 28)
    for scale, ups in ((2, 1), (8, 3)):
        assert len(ganzoo.create("srgan", scale=scale, blocks=1, width=4).gen.upsample) == ups
    with pytest.raises(ganzoo.RecipeError, match="scale = 3: expected 2, 4 or 8"):
        ganzoo.create("srgan", scale=3)


def test_the_discriminator_names_the_crop_size_it_needs():
    model = tiny_model("srgan")
    with pytest.raises(ganzoo.DataError, match=r"judges 16x16 crops .*\[data\] crop"):
        model.disc(torch.zeros(1, 3, 32, 32))


# -- tiling ------------------------------------------------------------------------------------

@pytest.mark.parametrize("bicubic_skip", [False, True])
def test_tiled_upscaling_equals_untiled_and_bounds_what_each_call_sees(bicubic_skip):
    torch.manual_seed(0)
    model = tiny_model("srgan", blocks=2, width=8, bicubic_skip=bicubic_skip).eval()
    for p in model.gen.parameters():  # trained-looking, not near zero, weights
        p.data.normal_(0, 0.3)
    image = torch.rand(2, 3, 37, 53) * 2 - 1
    with torch.no_grad():
        whole = model.upscale(image, tile=None)
        seen = []
        forward = model.gen.forward

        def spy(x):
            seen.append(tuple(x.shape[-2:]))
            return forward(x)

        model.gen.forward = spy
        tiled = model.upscale(image, tile=16)
        del model.gen.forward
        rough = model.upscale(image, tile=16, overlap=2)
    assert tiled.shape == whole.shape == (2, 3, 148, 212)
    assert (tiled - whole).abs().max() < 1e-4  # overlap = receptive radius: no seams
    radius = model.receptive_radius
    assert len(seen) == 3 * 4 and max(max(s) for s in seen) <= 16 + 2 * radius
    assert (rough - whole).abs().max() > 1e-3  # too little context does show (the test can fail)


def test_upscale_takes_files_and_rejects_the_wrong_number_of_channels(tmp_path):
    model = tiny_model("srgan").eval()
    Image.new("RGB", (10, 6), (200, 30, 30)).save(tmp_path / "a.png")
    with torch.no_grad():
        assert model.upscale(tmp_path / "a.png").shape == (1, 3, 24, 40)
        with pytest.raises(ganzoo.DataError, match="cannot convert 2 channels to 3"):
            model.upscale(torch.zeros(1, 2, 8, 8))


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
    from ganzoo.images import save_grid

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


# -- training ------------------------------------------------------------------------------------

def test_srresnet_lowers_its_mse_on_a_fixed_batch():
    torch.manual_seed(0)
    model = tiny_model("srgan", blocks=2, width=8)
    batch = model.example_batch(4, generator=torch.Generator().manual_seed(0))
    batch["target"] = upscale_bicubic(batch["source"], 4)  # a learnable target
    history = train_steps(model, "srresnet", batch, steps=30, lr_gen=3e-3)
    assert history[-1]["loss_content"] < 0.5 * history[0]["loss_content"]
    assert set(history[0]) == {"loss_content"}


def test_the_srgan_step_updates_the_discriminator_then_the_generator():
    torch.manual_seed(0)
    model = tiny_model("srgan")
    batch = model.example_batch(2, generator=torch.Generator().manual_seed(0))
    disc_before = [p.clone() for p in model.disc.parameters()]
    gen_before = [p.clone() for p in model.gen.parameters()]
    losses = train_steps(model, "srgan", batch, steps=1)[0]
    assert set(losses) == {"loss_d", "loss_g_content", "loss_g_gan"}
    assert any(not torch.equal(a, b) for a, b in zip(disc_before, model.disc.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(gen_before, model.gen.parameters()))


TINY = {
    "architecture": "srgan", "trainer": "srresnet", "seed": 0,
    "data": {"dataset": "sr-photos", "crop": 16, "photo_size": 32, "items": 16},
    "model": {"blocks": 1, "width": 4, "disc_width": 2, "resolution": 16},
    "train": {"steps": 6, "batch_size": 2, "device": "cpu", "amp": "none", "log_every": 2,
              "sample_every": 6, "checkpoint_every": 3, "sample_count": 2,
              "eval_metrics": ["sr-psnr"]},
}


def test_the_gan_stage_starts_from_the_srresnet_run_and_checks_it_fits(tmp_path):
    train(Recipe.from_toml(write_recipe(tmp_path / "pre.toml", TINY)), tmp_path / "pre",
          progress=False)
    pretrained = ganzoo.load(str(tmp_path / "pre"))
    gan = {**TINY, "trainer": "srgan",
           "model": {**TINY["model"], "srresnet": str(tmp_path / "pre")},
           "train": {**TINY["train"], "steps": 1}}
    from ganzoo.training.loop import _Session

    session = _Session(Recipe.from_toml(write_recipe(tmp_path / "gan.toml", gan)), None)
    for key, value in pretrained.gen.state_dict().items():
        assert torch.equal(session.model.gen.state_dict()[key], value), key
    wider = {**gan, "model": {**gan["model"], "width": 8}}
    with pytest.raises(ganzoo.CheckpointError, match=r"trained with width = 4 but \[model\] "
                                                     "width = 8; set"):
        _Session(Recipe.from_toml(write_recipe(tmp_path / "wide.toml", wider)), None)


def test_resume_after_ctrl_c_equals_an_uninterrupted_run(tmp_path, monkeypatch):
    recipe = Recipe.from_toml(write_recipe(tmp_path / "t.toml", {**TINY, "trainer": "srgan"}))
    train(recipe, tmp_path / "straight", progress=False)
    import ganzoo_srgan.train as trainer

    original = trainer.srgan_step

    def interrupted(batch, model, opt, ctx):
        if ctx.step == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return original(batch, model, opt, ctx)

    monkeypatch.setattr(trainer, "srgan_step", interrupted)
    result = train(recipe, tmp_path / "broken", progress=False)
    monkeypatch.setattr(trainer, "srgan_step", original)
    assert result.status == "interrupted" and checkpoint_step(tmp_path / "broken") == 4
    assert resume(tmp_path / "broken", progress=False).step == 6
    straight = state_tensors(ganzoo.load(str(tmp_path / "straight"), components="all"))
    broken = state_tensors(ganzoo.load(str(tmp_path / "broken"), components="all"))
    assert straight.keys() == broken.keys() and any(k.startswith("disc.") for k in straight)
    for key in straight:
        assert torch.equal(straight[key], broken[key]), key
    from safetensors.torch import load_file

    final = load_file(tmp_path / "straight" / CHECKPOINT_NAME)
    again = load_file(tmp_path / "broken" / CHECKPOINT_NAME)
    assert final.keys() == again.keys()
    for key in final:
        assert torch.equal(final[key], again[key]), key


def test_the_shipped_recipes_train_in_turn(tmp_path):
    few = ["train.steps=2", "train.log_every=1", "train.sample_every=2", "train.sample_count=2",
           "train.checkpoint_every=2", "model.blocks=1", "model.width=4", "model.disc_width=2",
           "data.photo_size=128", "train.batch_size=2"]
    pre = train(Recipe.from_toml(RECIPES / "srresnet_photos.toml", few), tmp_path / "pre",
                progress=False)
    assert pre.status == "finished"
    gan = train(Recipe.from_toml(RECIPES / "srgan_photos.toml",
                                 [*few, f"model.srresnet='{tmp_path / 'pre'}'"]),
                tmp_path / "gan", progress=False)
    assert gan.status == "finished"
    model = ganzoo.load(str(tmp_path / "gan"))
    assert model.upscale(torch.zeros(1, 3, 8, 8)).shape == (1, 3, 32, 32)


def test_a_missing_srresnet_run_is_one_clear_line(tmp_path):
    gan = {**TINY, "trainer": "srgan", "model": {**TINY["model"], "srresnet": "runs/nowhere"}}
    recipe = Recipe.from_toml(write_recipe(tmp_path / "gan.toml", gan))
    with pytest.raises(ganzoo.CheckpointError, match=r"\[model\] srresnet = 'runs/nowhere': "
                                                     "cannot load the SRResNet model"):
        train(recipe, tmp_path / "run", progress=False)


# -- ONNX ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("bicubic_skip", [False, True])
def test_the_generator_exports_to_onnx_for_any_size(tmp_path, bicubic_skip):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    import onnxruntime as ort

    from ganzoo.export import TOLERANCE, export_onnx

    torch.manual_seed(0)
    model = tiny_model("srgan", blocks=2, width=8, bicubic_skip=bicubic_skip).eval()
    result = export_onnx(model, tmp_path / "sr.onnx")
    assert result.max_abs_diff <= TOLERANCE and result.checks >= 2
    session = ort.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    image = torch.rand(1, 3, 13, 21) * 2 - 1
    got = session.run(None, {"image": image.numpy()})[0]
    with torch.no_grad():
        expected = model.upscale(image, tile=None).numpy()
    assert got.shape == (1, 3, 52, 84) and abs(got - expected).max() <= TOLERANCE


# -- the CLI -------------------------------------------------------------------------------------

def test_ganzoo_upscale_writes_a_4x_image_and_refuses_other_models(tmp_path, cli):
    model = tiny_model("srgan").eval()
    model.save_pretrained(tmp_path / "bundle")
    Image.new("RGB", (45, 30), (10, 200, 90)).save(tmp_path / "photo.png")
    result = cli("upscale", tmp_path / "bundle", tmp_path / "photo.png", "-o",
                 tmp_path / "big.png", "--tile", "16")
    assert result.exit_code == 0, result.output
    assert "upscaled 4x" in result.output
    with Image.open(tmp_path / "big.png") as big:
        assert big.size == (180, 120)
    (tmp_path / "many" / "sub").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(tmp_path / "many" / "sub" / "a.jpg")
    result = cli("upscale", tmp_path / "bundle", tmp_path / "many", "-o", tmp_path / "out")
    assert result.exit_code == 0 and (tmp_path / "out" / "sub" / "a.png").is_file()
    tiny_model("dcgan").save_pretrained(tmp_path / "dcgan")
    from click.testing import CliRunner

    from ganzoo.cli import cli as command

    refused = CliRunner().invoke(command, ["upscale", str(tmp_path / "dcgan"),
                                           str(tmp_path / "photo.png"), "-o",
                                           str(tmp_path / "x.png")])
    assert refused.exit_code != 0
    assert "is a dcgan model, not a super-resolution one" in refused.output
    assert "Traceback" not in refused.output


# -- Lornatang/SRGAN-PyTorch weights -------------------------------------------------------------

class _TheirResidual(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.rcb = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c),
                                 nn.PReLU(), nn.Conv2d(c, c, 3, 1, 1, bias=False),
                                 nn.BatchNorm2d(c))

    def forward(self, x):
        return x + self.rcb(x)


class _TheirUpsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.upsample_block = nn.Sequential(nn.Conv2d(c, c * 4, 3, 1, 1), nn.PixelShuffle(2),
                                            nn.PReLU())

    def forward(self, x):
        return self.upsample_block(x)


class TheirSRResNet(nn.Module):
    """Lornatang/SRGAN-PyTorch's ``SRResNet`` as its model.py lays it out (same attribute
    names, so the same state-dict keys and shapes), on RGB in [0, 1]."""

    def __init__(self, channels=64, num_rcb=16, upscale_factor=4):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, channels, 9, 1, 4), nn.PReLU())
        self.trunk = nn.Sequential(*[_TheirResidual(channels) for _ in range(num_rcb)])
        self.conv2 = nn.Sequential(nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
                                   nn.BatchNorm2d(channels))
        self.upsampling = nn.Sequential(*[_TheirUpsample(channels)
                                          for _ in range(int(math.log2(upscale_factor)))])
        self.conv3 = nn.Conv2d(channels, 3, 9, 1, 4)

    def forward(self, x):
        out1 = self.conv1(x)
        out = out1 + self.conv2(self.trunk(out1))
        return torch.clamp_(self.conv3(self.upsampling(out)), 0.0, 1.0)


def _randomised(net):
    torch.manual_seed(0)
    for name, tensor in net.state_dict().items():
        if tensor.is_floating_point():
            if name.endswith("running_var"):
                tensor.uniform_(0.5, 1.5)
            else:
                tensor.normal_(0, 0.05).add_(0.25 if name.endswith("1.weight") else 0)
    return net.eval()


def test_their_full_x4_generator_has_the_keys_we_map():
    keys = TheirSRResNet().state_dict()
    # per block: two convolutions (1 tensor each), two batch norms (5), one PReLU (1)
    assert len([k for k in keys if k.startswith("trunk.")]) == 16 * 13
    assert keys["upsampling.1.upsample_block.0.weight"].shape == (256, 64, 3, 3)
    from ganzoo_srgan.convert import rename

    renamed = rename(keys)
    assert set(renamed) == set(ganzoo.create("srgan", io_range="[0,1]").gen.state_dict())


def test_converted_weights_upscale_like_the_original(tmp_path):
    from ganzoo.convert import convert_file, read_state_dict

    theirs = _randomised(TheirSRResNet(channels=8, num_rcb=2))
    checkpoint = {"epoch": 7, "best_psnr": 31.2, "state_dict": theirs.state_dict()}
    torch.save(checkpoint, tmp_path / "SRResNet_x4-SRGAN_ImageNet.pth.tar")
    model = convert_file("ganzoo_srgan.convert:convert",
                         tmp_path / "SRResNet_x4-SRGAN_ImageNet.pth.tar", tmp_path / "bundle")
    assert model.config.io_range == "[0,1]" and model.config.width == 8
    loaded = ganzoo.load(str(tmp_path / "bundle"))
    image = torch.rand(1, 3, 11, 9)
    with torch.no_grad():
        expected = theirs(image) * 2 - 1
        got = loaded.upscale(image * 2 - 1)
    assert (got - expected).abs().max() < 1e-5
    # torch.save(model) pickles the class: weights_only=True refuses it, in one line.
    torch.save(theirs, tmp_path / "whole_model.pth")
    with pytest.raises(ganzoo.CheckpointError, match=r"whole_model\.pth: refused: not a plain"):
        read_state_dict(tmp_path / "whole_model.pth")
    with pytest.raises(ganzoo.CheckpointError, match="unexpected key 'features.0.weight'"):
        from ganzoo_srgan.convert import convert

        convert({"features.0.weight": torch.zeros(1)})


def test_the_published_weights_are_registered_with_their_converter():
    entry = ganzoo.get("weights", "srgan-x4-imagenet")
    assert entry.converter == "ganzoo_srgan.convert:convert"
    assert entry.url.endswith("goodfellowliu/SRGAN-PyTorch/resolve/main/"
                              "SRGAN_x4-SRGAN_ImageNet.pth.tar")


# -- VGG content loss ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def vgg_file(tmp_path_factory):
    from torchvision.models import vgg19

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("vgg") / "vgg19.pth"
    torch.save(vgg19().state_dict(), path)  # random init: the names and shapes are what count
    return path


def test_vgg_content_losses_use_the_papers_layers_of_the_given_weights(vgg_file, monkeypatch):
    from torchvision.models import vgg19

    from ganzoo_srgan.vgg import feature_extractor, vgg_loss

    reference = vgg19()
    reference.load_state_dict(torch.load(vgg_file, weights_only=True))
    features = feature_extractor("vgg22", str(vgg_file), torch.device("cpu"))
    assert isinstance(features[-1], nn.ReLU) and features[-2].out_channels == 128
    assert len(feature_extractor("vgg54", str(vgg_file), torch.device("cpu"))) == 36
    torch.manual_seed(1)
    pred, target = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

    def phi(x):
        return reference.features[:9](((x + 1) / 2 - mean) / std) / 12.75

    expected = F.mse_loss(phi(pred), phi(target))
    assert vgg_loss(features, pred, target, 1 / 12.75).item() == pytest.approx(expected.item(),
                                                                              rel=1e-5)
    model = tiny_model("srgan")
    batch = model.example_batch(2, generator=torch.Generator().manual_seed(0))
    monkeypatch.setenv("GANZOO_VGG19_WEIGHTS", str(vgg_file))
    losses = train_steps(model, "srgan", batch, steps=1, content="vgg22")
    assert losses[0]["loss_g_content"] > 0


def test_a_vgg_loss_without_weights_says_how_to_give_them(monkeypatch):
    monkeypatch.delenv("GANZOO_VGG19_WEIGHTS", raising=False)
    model = tiny_model("srgan")
    batch = model.example_batch(2)
    with pytest.raises(ganzoo.RecipeError, match="GANZOO_VGG19_WEIGHTS=path/to/vgg19.pth"):
        train_steps(model, "srresnet", batch, steps=1, content="vgg54")


def test_a_pickled_vgg_model_is_refused(tmp_path):
    from ganzoo_srgan.vgg import read_state_dict

    torch.save(nn.Conv2d(1, 1, 1), tmp_path / "vgg_model.pth")
    with pytest.raises(ganzoo.CheckpointError, match="weights_only=True"):
        read_state_dict(tmp_path / "vgg_model.pth")
