"""SRGAN's ways in and out: ONNX export, ``ganzoo upscale``, Lornatang/SRGAN-PyTorch weights and
the VGG19 content loss from a user's weights file."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

import ganzoo
from ganzoo.testing import tiny_model, train_steps

pytest.importorskip("ganzoo_srgan")


# -- ONNX ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("bicubic_skip", [False, True])
def test_the_generator_exports_to_onnx_for_any_size(tmp_path, bicubic_skip):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    import onnxruntime as ort

    from ganzoo.apps.export import TOLERANCE, export_onnx

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

    from ganzoo.apps.cli import cli as command

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
    from ganzoo.hub.convert import convert_file, read_state_dict

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
