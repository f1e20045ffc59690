"""Generic grids: --nrow, and traversal grids of any declared input (ganzoo.apps.grids)."""

from __future__ import annotations

import attrs
import pytest
import torch
from PIL import Image

import ganzoo
from ganzoo import ContinuousInput, DiscreteInput, GanzooError, LatentGenerator
from ganzoo.apps.grids import traversal
from ganzoo.testing import tiny_model


@attrs.frozen
class CodesConfig:
    z_dim: int = 3


class Codes(LatentGenerator):
    """Draws its inputs: pixel (0, 0) is z[0], (0, 1) the class / 10, (0, 2..3) the two codes."""

    architecture = "codes"

    def __init__(self, config=CodesConfig()):
        super().__init__(config)
        self.gen = torch.nn.Identity()
        self.scale = torch.nn.Parameter(torch.ones(()))

    def inputs(self):
        return (DiscreteInput(name="digit", count=10),
                ContinuousInput(name="c", size=2, low=-1.0, high=1.0))

    def generate(self, n, *, seed=None, z=None, digit=None, c=None):
        z = self.sample_latent(n, seed=seed) if z is None else z
        digit = torch.zeros(n) if digit is None else torch.as_tensor(digit).float()
        c = torch.zeros(n, 2) if c is None else c
        images = torch.zeros(n, 1, 2, 4)
        images[:, 0, 0, 0] = z[:, 0].clamp(-1, 1)
        images[:, 0, 0, 1] = digit / 10
        images[:, 0, 0, 2:] = c
        return images * self.scale


def test_a_continuous_traversal_keeps_z_per_row_and_goes_from_low_to_high():
    grid = traversal(Codes(), "c:1", rows=3, steps=5, seed=2)
    images = grid.images.view(3, 5, 2, 4)  # rows, columns, H, W
    assert grid.nrow == 5 and grid.values == pytest.approx((-1.0, -0.5, 0.0, 0.5, 1.0))
    assert torch.allclose(images[:, :, 0, 3], torch.tensor(grid.values).expand(3, 5))
    assert (images[:, :, 0, 2] == 0).all()  # the other value of c stays at 0
    z = images[:, :, 0, 0]
    assert (z == z[:, :1]).all() and len(set(z[:, 0].tolist())) == 3  # one z a row, rows differ
    digit = images[:, :, 0, 1]
    assert (digit == digit[:, :1]).all()  # the other input is held along each row
    again = traversal(Codes(), "c:1", rows=3, steps=5, seed=2)
    assert torch.equal(again.images, grid.images)


def test_a_discrete_traversal_steps_through_every_value():
    grid = traversal(Codes(), "digit", rows=2, seed=0)
    images = grid.images.view(2, 10, 2, 4)
    assert grid.nrow == 10
    expected = (torch.arange(10) / 10).expand(2, 10)
    assert torch.allclose(images[:, :, 0, 1], expected)


@pytest.mark.parametrize("spec,message", [
    ("code", "codes has no input named 'code'; its declared inputs: digit, c"),
    ("c", "c has 2 values per image: vary one of them, e.g. --vary c:0 (indices 0 to 1)"),
    ("c:2", "'c:2': expected an index 0 to 1 of c"),
    ("digit:1", "'digit:1': digit is one discrete value per image"),
])
def test_a_bad_input_name_is_one_line_naming_what_exists(spec, message):
    with pytest.raises(GanzooError) as info:
        traversal(Codes(), spec)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_sample_vary_labels_makes_a_class_traversal_of_a_conditional_model(cli, tmp_path):
    torch.manual_seed(0)
    model = tiny_model("cgan").eval()  # 16px, 10 classes
    model.save_pretrained(tmp_path / "bundle")
    out = tmp_path / "vary.png"
    result = cli("sample", tmp_path / "bundle", "--vary", "labels", "-n", "30", "-o", out)
    assert result.exit_code == 0, result.output
    assert Image.open(out).size == (10 * 18 + 2, 3 * 18 + 2)  # 3 rows of the ten classes
    with torch.no_grad():
        grid = traversal(model, "labels", rows=3, seed=0)
        z = model.sample_latent(3, seed=0)
        row = model.generate(10, z=z[1].expand(10, -1), labels=list(range(10)))
    assert torch.allclose(grid.images[10:20], row, atol=1e-6)
    bad = cli("sample", tmp_path / "bundle", "--vary", "label", "-o", out)
    assert bad.exit_code == 1 and bad.output.strip() == (
        "ganzoo: cgan has no input named 'label'; its declared inputs: labels")
    none = cli("sample", "dcgan-digits", "--vary", "labels", "-o", tmp_path / "x.png")
    assert none.exit_code == 1 and "declared inputs: none besides z" in none.output


def test_sample_nrow_sets_images_per_row(cli, tmp_path):
    out = tmp_path / "wide.png"
    assert cli("sample", "dcgan-digits", "-n", "8", "--nrow", "8", "-o", out).exit_code == 0
    assert Image.open(out).size == (8 * 34 + 2, 36)
    steps = cli("sample", "dcgan-digits", "--steps", "4", "-o", out)
    assert steps.exit_code == 2 and "--steps is for traversal grids" in steps.output


def test_create_gives_a_model_of_its_kind():
    assert isinstance(ganzoo.create("cgan", **{"resolution": 16}), ganzoo.ConditionalGenerator)


def test_metrics_refuse_a_model_of_the_wrong_kind_in_one_line():
    from ganzoo.metrics import evaluate

    with pytest.raises(GanzooError) as info:
        evaluate(tiny_model("pix2pix"), ["fd-digits"], n=4)
    assert str(info.value) == ("this metric scores images drawn from z, but pix2pix is a "
                               "translator (pix2pix); translators are scored against held-out "
                               "pairs: paired-l1, psnr, ssim")
    with pytest.raises(GanzooError, match="metric 'accuracy' needs a conditional model"):
        evaluate(tiny_model("dcgan"), ["accuracy"], n=4)


def test_the_demo_page_sets_each_declared_input():
    gradio = pytest.importorskip("gradio")
    from ganzoo.apps.serve import Demo, build_app, to_pil

    model = Codes()
    page = Demo(model).sample(0, 2, values={"digit": "3", "c": [0.5, -0.5]})
    with torch.no_grad():
        expected = model.generate(2, seed=0, digit=[3, 3], c=torch.tensor([[0.5, -0.5]] * 2))
    assert list(page.getdata()) == list(to_pil(expected).getdata())
    app = build_app(model)
    ids = {getattr(block, "elem_id", None) for block in app.blocks.values()}
    assert {"ganzoo-input-digit", "ganzoo-input-c-0", "ganzoo-input-c-1"} <= ids
    assert isinstance(app, gradio.Blocks)
