"""The original GAN (Goodfellow et al. 2014): maxout, the MLP networks, the minimax loss, the
shipped recipe, ONNX export."""

from __future__ import annotations

import pytest
import torch
from conftest import RECIPES

import ganzoo
from ganzoo import Recipe
from ganzoo.testing import check_architecture, tiny_model, train_steps
from ganzoo.training.loop import train
from ganzoo_gan.networks import Maxout


def test_conforms(tmp_path):
    check_architecture("gan-mlp", tmp_path)


def test_maxout_is_the_maximum_of_its_pieces():
    layer = Maxout(3, units=2, pieces=4)
    x = torch.randn(5, 3)
    pieces = layer.linear(x).view(5, 2, 4)
    assert torch.equal(layer(x), pieces.max(dim=2).values)
    assert layer(x).shape == (5, 2)


def test_the_networks_are_mlps_on_flattened_images():
    model = tiny_model("gan-mlp")
    assert not any(isinstance(m, torch.nn.modules.conv._ConvNd) for m in model.modules())
    assert sum(isinstance(m, Maxout) for m in model.disc.modules()) == 2
    with torch.no_grad():
        images = model.eval().generate(3, seed=0)
        assert images.shape == (3, 1, 16, 16) and torch.equal(images, model.generate(3, seed=0))
        assert model.disc(images).shape == (3,)


def test_the_minimax_loss_is_goodfellows_value_function_on_logits():
    entry = ganzoo.get("losses", "minimax")
    assert entry.kind == "adversarial"
    from ganzoo.plugin.registry import load_ref

    d, g = load_ref(entry.fn), load_ref(entry.g_fn)
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    sig = torch.sigmoid
    # D maximises log D(x) + log(1 - D(G(z))): its loss is the negative of that.
    expected_d = -(sig(real).log().mean() + (1 - sig(fake)).log().mean())
    assert float(d(real, fake)) == pytest.approx(float(expected_d), rel=1e-6)
    # G minimises log(1 - D(G(z))).
    assert float(g(fake)) == pytest.approx(float((1 - sig(fake)).log().mean()), rel=1e-6)
    # Stable where the probabilities round to 0 or 1: finite values and gradients.
    extreme = torch.tensor([200.0, -200.0], requires_grad=True)
    g(extreme).backward()
    assert torch.isfinite(g(extreme)) and torch.isfinite(extreme.grad).all()
    assert torch.isfinite(d(extreme, extreme))


@pytest.mark.parametrize("loss", ["minimax", "non-saturating"])
def test_both_generator_losses_train_the_mlp(loss):
    torch.manual_seed(0)
    model = tiny_model("gan-mlp")
    batch = model.example_batch(8, generator=torch.Generator().manual_seed(0))
    history = train_steps(model, "gan", batch, steps=3, loss=loss)
    assert all(torch.isfinite(torch.tensor(list(h.values()))).all() for h in history)


def test_the_shipped_recipe_trains_and_exports(tmp_path, cli):
    recipe = Recipe.from_toml(RECIPES / "gan_mlp_digits.toml", [
        "train.steps=3", "train.log_every=1", "train.sample_every=3", "train.checkpoint_every=2",
        "train.sample_count=4", "train.eval_samples=20", "model.gen_hidden=16",
        "model.disc_hidden=8"])
    assert train(recipe, tmp_path / "run", progress=False).status == "finished"
    model = ganzoo.load(str(tmp_path / "run"))
    assert model.generate(2, seed=0).shape == (2, 1, 32, 32)
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    result = cli("export", tmp_path / "run", "--onnx", tmp_path / "gan.onnx")
    assert result.exit_code == 0, result.output
    assert "z float32 [batch, 100]" in result.output
