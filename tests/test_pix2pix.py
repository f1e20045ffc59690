"""pix2pix: networks, reference-weight conversion, training objective, translate, eval, recipes."""

from __future__ import annotations

import json
import math

import pytest
import torch
from conftest import RECIPES, write_recipe
from paired_fixtures import ReferenceUnet, make_aligned, randomised
from PIL import Image

import ganzoo
from ganzoo import CheckpointError, Recipe
from ganzoo.nn.blocks import PatchDiscriminator, PixelDiscriminator, patch_receptive_field
from ganzoo.testing import check_architecture, tiny_model
from ganzoo_pix2pix.convert import from_reference


@pytest.mark.parametrize("overrides", [{"discriminator": "pixel"},
                                       {"norm": "instance", "input_nc": 1, "dropout": False},
                                       {"depth": 2, "output_nc": 1}])
def test_variants_pass_the_conformance_check(tmp_path, overrides):
    check_architecture("pix2pix", tmp_path, **overrides)


def test_unet_256_and_the_70x70_patchgan_have_the_papers_sizes():
    model = ganzoo.create("pix2pix")  # unet_256, ngf = ndf = 64, batch norm, dropout
    assert sum(p.numel() for p in model.gen.parameters()) == 54_413_955
    assert sum(p.numel() for p in model.disc.parameters()) == 2_768_705
    assert [patch_receptive_field(n) for n in (1, 2, 3, 4)] == [16, 34, 70, 142]
    assert model.disc.receptive_field == 70
    with torch.no_grad():
        assert model.disc(torch.zeros(1, 6, 256, 256)).shape == (1, 1, 30, 30)
    dropouts = [i for i, level in enumerate(model.gen.levels)
                if isinstance(level.dropout, torch.nn.Dropout)]
    assert dropouts == [4, 5, 6]  # the three inner 512-channel decoder blocks


def test_pixel_discriminator_scores_every_pixel():
    disc = PixelDiscriminator(4, width=8)
    assert disc(torch.zeros(2, 4, 5, 7)).shape == (2, 1, 5, 7)
    assert PatchDiscriminator(4, width=8, n_layers=1)(torch.zeros(1, 4, 16, 16)).shape == (1, 1, 6, 6)


@pytest.mark.parametrize("depth", [2, 3, 5, 7])
def test_translate_pads_any_size_and_crops_back(depth):
    model = ganzoo.create("pix2pix", depth=depth, resolution=2**depth, gen_width=4,
                          disc_width=4, input_nc=1, output_nc=3).eval()
    with torch.no_grad():
        out = model.translate(torch.rand(2, 1, 37, 50) * 2 - 1)
    assert out.shape == (2, 3, 37, 50) and out.abs().max() <= 1


def _reference_pair(num_downs, ngf, input_nc, output_nc, norm=torch.nn.BatchNorm2d):
    torch.manual_seed(0)
    reference = randomised(ReferenceUnet(input_nc, output_nc, num_downs, ngf, norm=norm))
    state = {k: v.clone() for k, v in reference.state_dict().items()}
    return reference, state


def test_converted_official_layout_gives_the_reference_outputs():
    # unet_256 exactly as the official checkpoints are laid out (ngf shrunk to keep it fast)
    reference, state = _reference_pair(8, 4, 3, 3)
    assert "model.model.1.model.3.model.3.model.3.model.3.model.3.model.3.model.1.weight" in state
    model = from_reference(state)
    assert (model.config.depth, model.config.gen_width, model.config.norm) == (8, 4, "batch")
    x = torch.rand(2, 3, 256, 256) * 2 - 1
    with torch.no_grad():
        # eval mode: running statistics, no dropout
        reference.eval()
        assert torch.allclose(model.gen.eval()(x), reference(x.clone()), atol=1e-5)
        # the reference's test.py: each image normalised with its own statistics (dropout off
        # here, to compare deterministically)
        for m in reference.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.train()
        expected = torch.cat([reference(x[i:i + 1].clone()) for i in range(2)])
        assert torch.allclose(model.translate(x), expected, atol=1e-5)
    running = {k: v for k, v in model.gen.state_dict().items() if "running" in k}
    assert all(torch.equal(running[k], v) for k, v in from_reference(state).gen.state_dict().items()
               if k in running), "translate changed the running statistics"


def test_converter_handles_instance_norm_grayscale_and_other_depths():
    reference, state = _reference_pair(6, 4, 1, 3, norm=torch.nn.InstanceNorm2d)
    model = from_reference(state)
    assert (model.config.depth, model.config.input_nc, model.config.norm) == (6, 1, "instance")
    x = torch.rand(1, 1, 64, 64) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(model.eval().translate(x), reference.eval()(x.clone()), atol=1e-5)


def test_converter_rejects_what_is_not_a_unet():
    with pytest.raises(CheckpointError, match="no 'model.model.\\*' keys"):
        from_reference({"main.0.weight": torch.zeros(1)})
    _, state = _reference_pair(6, 4, 3, 3)
    state["model.model.1.extra.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError, match="unexpected key 'model.model.1.extra.weight'"):
        from_reference(state)
    _, state = _reference_pair(6, 4, 3, 3)
    del state["model.model.1.model.2.running_var"]
    with pytest.raises(CheckpointError, match="lacks 1 tensors"):
        from_reference(state)


def test_official_weights_are_registered_with_url_and_one_converter():
    names = ganzoo.list_names("weights", "pix2pix-*")
    assert names == ["pix2pix-day2night", "pix2pix-edges2shoes", "pix2pix-facades-label2photo",
                     "pix2pix-map2sat", "pix2pix-sat2map"]
    entry = ganzoo.get("weights", "pix2pix-edges2shoes")
    assert entry.url == "http://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/edges2shoes.pth"
    assert entry.source == "ganzoo/pix2pix-edges2shoes"  # a ganzoo-format repo goes first
    assert {ganzoo.get("weights", n).converter for n in names} == {"ganzoo_pix2pix.convert:convert"}


def test_convert_command_and_load(cli, tmp_path):
    reference, state = _reference_pair(6, 4, 3, 3)
    path = tmp_path / "latest_net_G.pth"
    torch.save(state, path)
    result = cli("convert", "pix2pix", path, "-o", tmp_path / "bundle")
    assert result.exit_code == 0, result.output
    model = ganzoo.load(str(tmp_path / "bundle"))
    assert model.config.test_norm == "batch"
    assert (tmp_path / "bundle" / "gen").is_dir() and not (tmp_path / "bundle" / "disc").exists()
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    reference.train()  # BatchNorm on the image's own statistics ...
    for m in reference.modules():
        if isinstance(m, torch.nn.Dropout):
            m.eval()  # ... and no dropout, to compare deterministically
    with torch.no_grad():
        assert torch.allclose(model.translate(x), reference(x.clone()), atol=1e-5)
    same = cli("convert", "pix2pix-edges2shoes", path, "-o", tmp_path / "again")
    assert same.exit_code == 0, same.output
    bad = cli("convert", "pix2pixx", path, "-o", tmp_path / "x")
    assert bad.exit_code == 1 and "Did you mean 'pix2pix'?" in bad.output


def test_the_step_uses_lambda_l1_and_the_scheduled_rates():
    model = tiny_model("pix2pix")
    batch = model.example_batch(2, generator=torch.Generator().manual_seed(0))
    from types import SimpleNamespace

    from ganzoo.config.structure import structure
    from ganzoo.training.context import StepContext
    from ganzoo.training.lifecycle import check_first_batch, prepare
    from ganzoo_pix2pix.config import Pix2PixTrainConfig
    from ganzoo_pix2pix.train import train_step

    cfg = structure({"steps": 10, "device": "cpu"}, Pix2PixTrainConfig, section="train")
    assert (cfg.l1_weight, cfg.loss, cfg.batch_size, cfg.betas) == (100.0, "non-saturating", 1,
                                                                    (0.5, 0.999))
    assert (cfg.lr_schedule, cfg.decay_start) == ("linear", 0.5)
    ctx = StepContext(cfg, torch.device("cpu"))
    opt = SimpleNamespace(**prepare(ganzoo.get("trainers", "pix2pix"), model, cfg, ctx))
    ctx.begin_step(8)  # the loop sets the rates: constant to step 5, then linearly to 0 at 10
    losses = train_step(batch, model, opt, ctx)
    assert opt.gen.param_groups[0]["lr"] == pytest.approx(2e-4 * 0.4)
    assert opt.disc.param_groups[0]["lr"] == pytest.approx(2e-4 * 0.4)
    assert set(losses) == {"loss_d", "loss_g_gan", "loss_g_l1"}
    # The loop checks the first real batch once, before the run directory exists.
    with pytest.raises(ganzoo.RecipeError, match=r"'source' has shape \[1, 1, 16, 16\] but the "
                                                 r"model expects \[1, 3, 16, 16\]"):
        check_first_batch(model, {"source": batch["source"][:1, :1], "target": batch["target"]},
                          where="recipe.toml")



def test_grad_weight_adds_the_gradient_magnitude_loss_to_the_generator():
    from ganzoo.testing import train_steps

    model = tiny_model("pix2pix")
    batch = model.example_batch(2, generator=torch.Generator().manual_seed(0))
    plain = train_steps(model, "pix2pix", batch, steps=1)[0]
    assert "loss_g_grad" not in plain  # off by default: the paper's objective
    with_grad = train_steps(model, "pix2pix", batch, steps=2, grad_weight=50.0)
    assert all(0 < s["loss_g_grad"] < math.inf for s in with_grad)
    with pytest.raises(ValueError, match="grad_weight"):
        train_steps(model, "pix2pix", batch, steps=1, grad_weight=-1.0)


TINY_PHOTOS = {
    "architecture": "pix2pix", "seed": 0,
    "data": {"dataset": "photo-pairs", "resolution": 32, "photo_size": 64, "items": 64},
    "model": {"input_nc": 1, "output_nc": 3, "resolution": 32, "depth": 5, "gen_width": 8,
              "disc_width": 8, "disc_layers": 2},
    "train": {"steps": 60, "batch_size": 4, "log_every": 20, "sample_every": 60,
              "checkpoint_every": 60, "sample_count": 4, "device": "cpu", "lr_gen": 1e-3,
              "eval_metrics": ["paired-l1", "psnr", "ssim"]},
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny edges -> photo run: 60 steps of batch 4 at 32x32, evaluated on held-out tiles."""
    tmp = tmp_path_factory.mktemp("p2p")
    recipe = write_recipe(tmp / "tiny.toml", TINY_PHOTOS)
    ganzoo.train(str(recipe), str(tmp / "run"), progress=False)
    return tmp / "run"


def test_training_lowers_the_held_out_l1(trained):
    records = [json.loads(line) for line in (trained / "metrics.jsonl").read_text().splitlines()]
    final = next(r["eval"] for r in records if "eval" in r)
    recipe = Recipe.from_toml(trained / "recipe.toml")
    from ganzoo.data.paired import build_photos
    from ganzoo.metrics import evaluate

    held_out = build_photos(recipe.data.config, "test")
    torch.manual_seed(0)
    untrained = ganzoo.create("pix2pix", **TINY_PHOTOS["model"]).eval()
    before = evaluate(untrained, ["paired-l1"], data=held_out)["paired-l1"]
    assert final["paired-l1"] < 0.9 * before.value  # 60 steps of batch 4: a clear first drop
    assert final["paired-l1"] < before.details["identity"]  # beats outputting the edges
    assert (trained / "samples" / "final.png").is_file()


def test_eval_and_translate_from_the_cli(cli, trained, tmp_path):
    result = cli("eval", trained, "--metrics", "paired-l1,psnr,ssim", "--json")
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output)["scores"]
    assert set(scores) == {"paired-l1", "psnr", "ssim"}
    assert 0 < scores["paired-l1"]["value"] < 1 and 0 < scores["ssim"]["value"] < 1
    assert math.isfinite(scores["psnr"]["value"]) and scores["psnr"]["value"] > 0
    protocol = scores["ssim"]["protocol"]
    assert protocol["real_data"].startswith("PhotoPairsDataset(task=edges2photo")
    assert protocol["n_real"] == protocol["n_fake"] > 0 and protocol["extra"]["window"] == 11
    assert scores["paired-l1"]["details"]["identity"] > scores["paired-l1"]["value"]
    bundle = cli("eval", trained / "weights", "--metrics", "psnr")
    assert bundle.exit_code == 1 and "give --data RECIPE" in bundle.output
    with_data = cli("eval", trained / "weights", "--metrics", "psnr", "--data",
                    trained / "recipe.toml")
    assert with_data.exit_code == 0 and "psnr" in with_data.output

    inputs = tmp_path / "in"
    (inputs / "sub").mkdir(parents=True)
    Image.new("L", (45, 30), 255).save(inputs / "a.png")
    Image.new("RGB", (20, 52), (9, 9, 9)).save(inputs / "sub" / "b.jpg")
    single = tmp_path / "c.png"
    Image.new("L", (33, 33), 0).save(single)
    result = cli("translate", trained, inputs, single, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    sizes = {p.relative_to(tmp_path / "out").as_posix(): Image.open(p).size
             for p in (tmp_path / "out").rglob("*.png")}
    assert sizes == {"a.png": (45, 30), "sub/b.png": (20, 52), "c.png": (33, 33)}
    model = ganzoo.load(str(trained))
    with torch.no_grad():
        expected = model.translate(str(inputs / "a.png"))
    written = torch.tensor(__import__("numpy").array(Image.open(tmp_path / "out" / "a.png")))
    assert (written.permute(2, 0, 1).float() / 127.5 - 1 - expected[0]).abs().max() < 1 / 127


def test_translate_refuses_models_that_do_not_translate(cli, tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "x.png")
    result = cli("translate", "dcgan-digits", tmp_path / "x.png", "-o", tmp_path / "out")
    assert result.exit_code == 1 and result.output.strip() == (
        "ganzoo: dcgan-digits is a latent generator (dcgan): use `ganzoo sample dcgan-digits "
        "-n 64 -o samples.png`")


def test_sample_on_a_translator_says_in_one_line_to_translate(cli, tmp_path):
    model = ganzoo.create("pix2pix", resolution=16, depth=4, gen_width=4, disc_width=4)
    model.save_pretrained(tmp_path / "bundle")
    result = cli("sample", tmp_path / "bundle", "-o", tmp_path / "s.png")
    assert result.exit_code == 1 and result.output.strip() == (
        f"ganzoo: {tmp_path / 'bundle'} is a translator (pix2pix): use `ganzoo translate "
        f"{tmp_path / 'bundle'} INPUT... -o OUTPUT_FOLDER`")
    assert not (tmp_path / "s.png").exists()


def test_direction_is_refused_for_a_one_way_model(cli, tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "x.png")
    model = ganzoo.create("pix2pix", resolution=16, depth=4, gen_width=4, disc_width=4)
    model.save_pretrained(tmp_path / "bundle")
    result = cli("translate", tmp_path / "bundle", tmp_path / "x.png", "-o", tmp_path / "out",
                 "--direction", "ba")
    assert result.exit_code == 1 and result.output.strip() == (
        "ganzoo: direction 'ba': this pix2pix model translates in 'ab' only")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("recipe", ["pix2pix_facades.toml", "pix2pix_edges2shoes.toml"])
def test_paper_recipes_train_on_a_folder_in_the_aligned_format(tmp_path, recipe):
    root = make_aligned(tmp_path / "data", splits=("train", "val"), n=2, size=(40, 40))
    recipe = Recipe.from_toml(RECIPES / recipe, [
        f"data.root='{root}'", "data.load_size=36", "data.crop_size=32", "model.resolution=32",
        "model.depth=5", "model.gen_width=4", "model.disc_width=4", "model.disc_layers=1",
        "train.steps=2", "train.batch_size=1", "train.sample_every=2", "train.log_every=1",
        "train.checkpoint_every=2", "train.sample_count=2", "train.eval_samples=2"])
    ganzoo.train(recipe, tmp_path / "run", progress=False)
    model = ganzoo.load(str(tmp_path / "run"))
    assert model.translate(torch.zeros(1, 3, 40, 24)).shape == (1, 3, 40, 24)
    assert (tmp_path / "run" / "samples" / "final.png").is_file()


def test_shipped_embedded_recipe_is_the_documented_setup():
    recipe = Recipe.from_toml(RECIPES / "pix2pix_edges2photo.toml")
    assert recipe.data.dataset == "photo-pairs" and recipe.model.resolution == 64
    assert recipe.train.l1_weight == 100.0 and recipe.train.eval_metrics == ("paired-l1", "psnr",
                                                                              "ssim")
