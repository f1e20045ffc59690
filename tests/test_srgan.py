"""SRGAN / SRResNet: networks, tiling, the two training stages and resume (data and metrics:
test_srgan_data.py; ONNX, the CLI, converted weights and VGG: test_srgan_io.py)."""

from __future__ import annotations

import os
import signal

import pytest
import torch
from conftest import RECIPES, write_recipe
from PIL import Image
from torch import nn

import ganzoo
from ganzoo import Recipe
from ganzoo.hub.bundle import state_tensors
from ganzoo.testing import check_architecture, tiny_model, train_steps
from ganzoo.training.checkpoint import CHECKPOINT_NAME, checkpoint_step
from ganzoo.training.loop import resume, train

pytest.importorskip("ganzoo_srgan")

from ganzoo_srgan.resize import resize_matrix, upscale_bicubic  # noqa: E402


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


def test_previews_still_work_after_the_memory_estimate_ran_one_on_meta():
    # The loop's memory check runs a preview on the meta device before training; the cached
    # bicubic matrices it builds must not be meta tensors when the real samples are written.
    from ganzoo.nn.budget import estimate

    resize_matrix.cache_clear()
    model = tiny_model("srgan").eval()
    assert estimate("srgan", model.config).activation_bytes > 0  # the preview did run on meta
    batch = model.example_batch(2, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        grid = model.preview(2, seed=0, batch=batch)
    assert grid.device.type == "cpu"
    assert torch.equal(grid[0], upscale_bicubic(batch["source"][:1], model.scale)[0])


def test_a_missing_srresnet_run_is_one_clear_line(tmp_path):
    gan = {**TINY, "trainer": "srgan", "model": {**TINY["model"], "srresnet": "runs/nowhere"}}
    recipe = Recipe.from_toml(write_recipe(tmp_path / "gan.toml", gan))
    with pytest.raises(ganzoo.CheckpointError, match=r"\[model\] srresnet = 'runs/nowhere': "
                                                     "cannot load the SRResNet model"):
        train(recipe, tmp_path / "run", progress=False)
