"""CycleGAN: networks, history pool, training objective, exact resume, translate, converter of
the official weights, recipes and the held-out metrics of the embedded digit-styles task."""

from __future__ import annotations

import json
import os
import signal

import pytest
import torch
from conftest import RECIPES, write_recipe
from PIL import Image
from unpaired_fixtures import ReferenceResnetGenerator, make_unpaired, randomised

import ganzoo
from ganzoo import CheckpointError, GanzooError, Recipe, RecipeError
from ganzoo.hub.bundle import state_tensors
from ganzoo.testing import check_architecture, tiny_model, train_steps
from ganzoo.training.checkpoint import CHECKPOINT_NAME, checkpoint_step
from ganzoo.training.loop import resume, train
from ganzoo_cyclegan import pool
from ganzoo_cyclegan.convert import from_reference


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One torch thread: on a small machine shared with other jobs, two threads spinning for two
    busy cores make these tiny networks many times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# -- networks ---------------------------------------------------------------------------------


@pytest.mark.parametrize("overrides", [{"input_nc": 1, "output_nc": 1, "norm": "batch"},
                                       {"padding": "zero", "dropout": True, "blocks": 2},
                                       {"padding": "replicate", "blocks": 0}])
def test_variants_pass_the_conformance_check(tmp_path, overrides):
    check_architecture("cyclegan", tmp_path, **overrides)


def test_resnet_9blocks_and_the_70x70_patchgan_have_the_papers_sizes():
    model = ganzoo.create("cyclegan")  # resnet_9blocks, ngf = ndf = 64, instance norm
    assert model.components == ("gen_ab", "gen_ba", "disc_a", "disc_b")
    assert sum(p.numel() for p in model.gen_ab.parameters()) == 11_378_179
    assert sum(p.numel() for p in model.disc_b.parameters()) == 2_764_737
    assert model.disc_b.receptive_field == 70
    keys = list(model.gen_ab.state_dict())
    assert keys[:2] == ["model.1.weight", "model.1.bias"] and keys[-1] == "model.26.bias"
    assert "model.18.conv_block.5.weight" in keys  # the ninth residual block
    assert not any(isinstance(m, torch.nn.Dropout) for m in model.modules())


@pytest.mark.parametrize("direction,channels", [("ab", (1, 3)), ("ba", (3, 1))])
def test_translate_pads_any_size_and_crops_back(direction, channels):
    model = ganzoo.create("cyclegan", input_nc=1, output_nc=3, resolution=16, blocks=1,
                          gen_width=4, disc_width=4).eval()
    with torch.no_grad():
        out = model.translate(torch.rand(2, channels[0], 37, 50) * 2 - 1, direction=direction)
        tiny = model.translate(torch.rand(1, channels[0], 2, 3) * 2 - 1, direction=direction)
    assert out.shape == (2, channels[1], 37, 50) and out.abs().max() <= 1
    assert tiny.shape == (1, channels[1], 2, 3)


def test_translate_takes_paths_and_refuses_bad_directions_and_channels(tmp_path):
    model = ganzoo.create("cyclegan", input_nc=3, output_nc=1, resolution=16, blocks=1,
                          gen_width=4, disc_width=4).eval()
    Image.new("RGB", (21, 13), (10, 200, 30)).save(tmp_path / "x.png")
    Image.new("L", (9, 11), 80).save(tmp_path / "y.png")
    with torch.no_grad():
        assert model.translate(str(tmp_path / "x.png")).shape == (1, 1, 13, 21)
        # a gray file read as domain B (1 channel) and an RGB tensor batch
        assert model.translate([tmp_path / "y.png"], direction="ba").shape == (1, 3, 11, 9)
        with pytest.raises(GanzooError, match="direction must be 'ab' .* or 'ba' .* got 'BA'"):
            model.translate(torch.zeros(1, 3, 8, 8), direction="BA")
        # RGB given to the 1-channel domain is converted to gray, as files are
        assert model.translate(torch.zeros(1, 3, 8, 8), direction="ba").shape == (1, 3, 8, 8)
        two = ganzoo.create("cyclegan", input_nc=2, output_nc=3, resolution=16, blocks=1,
                            gen_width=4, disc_width=4)
        with pytest.raises(ganzoo.DataError, match="domain A images have 2 channels .*got 3"):
            two.translate(torch.zeros(1, 3, 8, 8))


# -- the history pool -------------------------------------------------------------------------


def _images(start: int, n: int) -> torch.Tensor:
    return torch.arange(start, start + n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 1, 2, 2)


def test_the_pool_fills_then_swaps_half_the_images_for_stored_ones():
    state: dict[str, torch.Tensor] = {}
    torch.manual_seed(0)
    first = pool.query(state, "p", _images(0, 3), size=4)
    assert torch.equal(first, _images(0, 3)) and pool.stored(state, "p") == 3
    second = pool.query(state, "p", _images(3, 2), size=4)  # the 4th is stored, the 5th may swap
    assert second[0, 0, 0, 0] == 3 and pool.stored(state, "p") == 4
    swapped = fresh = 0
    for step in range(800):
        image = _images(100 + step, 1)
        before = {k: v.clone() for k, v in state.items()}
        value = pool.query(state, "p", image, size=4)[0, 0, 0, 0].item()
        assert pool.stored(state, "p") == 4
        if value == 100 + step:
            fresh += 1
            assert all(torch.equal(before[k], state[k]) for k in state)
        else:  # a stored image came out, and the new one took its slot
            slot = next(k for k, v in before.items() if v[0, 0, 0, 0].item() == value)
            assert torch.equal(state[slot], image)
            swapped += 1
    assert 0.45 < swapped / (swapped + fresh) < 0.55  # probability 1/2, as the reference's
    batch = _images(0, 3)
    assert torch.equal(pool.query(state, "p", batch, size=0), batch)  # size 0: no pool


def test_the_pool_never_returns_a_stored_image_of_another_size():
    state = {"p.0": torch.zeros(1, 1, 4, 4)}
    torch.manual_seed(0)
    for _ in range(20):
        out = pool.query(state, "p", torch.ones(1, 1, 3, 5), size=1)
        assert torch.equal(out, torch.ones(1, 1, 3, 5))


# -- training ---------------------------------------------------------------------------------


def test_reference_defaults_and_one_adam_per_side():
    from ganzoo.config.structure import structure
    from ganzoo.training.context import StepContext
    from ganzoo_cyclegan.config import CycleGANTrainConfig
    from ganzoo_cyclegan.train import optimizers

    cfg = structure({"device": "cpu"}, CycleGANTrainConfig, section="train")
    assert (cfg.loss, cfg.cycle_weight_a, cfg.cycle_weight_b, cfg.identity_weight, cfg.pool_size,
            cfg.lr_gen, cfg.betas, cfg.batch_size) == ("lsgan", 10.0, 10.0, 0.5, 50, 2e-4,
                                                       (0.5, 0.999), 1)
    model = tiny_model("cyclegan")
    opt = optimizers(model, cfg, StepContext(cfg, torch.device("cpu")))
    assert set(opt) == {"gen", "disc"}
    gen_params = {id(p) for g in opt["gen"].param_groups for p in g["params"]}
    assert gen_params == {id(p) for n in ("gen_ab", "gen_ba")
                          for p in getattr(model, n).parameters()}


def test_losses_fall_on_a_fixed_tiny_batch():
    torch.manual_seed(0)
    model = tiny_model("cyclegan", gen_width=8, blocks=2)
    batch = model.example_batch(2, generator=torch.Generator().manual_seed(0))
    history = train_steps(model, "cyclegan", batch, steps=40, lr_gen=2e-3, lr_disc=2e-3)
    assert set(history[0]) == {"loss_d_a", "loss_d_b", "loss_g_gan", "loss_g_cycle",
                               "loss_g_identity"}

    def mean(key, part):
        return sum(h[key] for h in part) / len(part)

    assert mean("loss_g_cycle", history[-5:]) < 0.5 * mean("loss_g_cycle", history[:5])
    assert mean("loss_g_identity", history[-5:]) < 0.5 * mean("loss_g_identity", history[:5])


def test_the_step_refuses_what_it_cannot_train():
    model = ganzoo.create("cyclegan", input_nc=1, output_nc=3, resolution=16, blocks=1,
                          gen_width=4, disc_width=4)
    batch = model.example_batch(1)
    with pytest.raises(RecipeError, match="identity_weight = 0.5 .* input_nc = 1 and "
                                          "output_nc = 3; set identity_weight = 0"):
        train_steps(model, "cyclegan", batch)
    with pytest.raises(RecipeError, match=r"'a' has shape \[1, 3, 16, 16\] but the model "
                                          r"expects \[1, 1, 16, 16\]"):
        train_steps(model, "cyclegan", {"a": batch["b"], "b": batch["b"]}, identity_weight=0.0)
    one_way = ganzoo.create("cyclegan", one_way=True, resolution=16, blocks=1, gen_width=4)
    assert one_way.components == ("gen_ab",)
    with pytest.raises(RecipeError, match="one_way = true builds gen_ab alone"):
        train_steps(one_way, "cyclegan", one_way.example_batch(1))


TINY_STYLES = {
    "architecture": "cyclegan", "seed": 1,
    "data": {"dataset": "digit-styles", "resolution": 16},
    "model": {"input_nc": 1, "output_nc": 3, "resolution": 16, "blocks": 1, "gen_width": 4,
              "disc_width": 4, "disc_layers": 1},
    "train": {"steps": 8, "batch_size": 2, "identity_weight": 0.0, "pool_size": 3,
              "log_every": 2, "sample_every": 8, "checkpoint_every": 4, "sample_count": 4,
              "device": "cpu", "eval_metrics": ["counterpart-l1", "digit-identity"],
              "eval_samples": 20},
}


def test_resume_after_ctrl_c_equals_an_uninterrupted_run(tmp_path, monkeypatch):
    """The pool (ctx.state), the coin flips (the RNG), the B draws (per item) and the learning
    rates (per step) all continue exactly."""
    recipe = Recipe.from_toml(write_recipe(tmp_path / "tiny.toml", TINY_STYLES))
    train(recipe, tmp_path / "straight", progress=False)

    import ganzoo_cyclegan.train as trainer

    original = trainer.train_step

    def interrupted(batch, model, opt, ctx):
        if ctx.step == 5:  # Ctrl-C: the step in flight finishes and is checkpointed
            os.kill(os.getpid(), signal.SIGINT)
        return original(batch, model, opt, ctx)

    monkeypatch.setattr(trainer, "train_step", interrupted)
    result = train(recipe, tmp_path / "broken", progress=False)
    monkeypatch.setattr(trainer, "train_step", original)
    assert result.status == "interrupted" and checkpoint_step(tmp_path / "broken") == 6

    from safetensors.torch import load_file

    saved = load_file(tmp_path / "broken" / CHECKPOINT_NAME)
    assert sorted(k for k in saved if k.startswith("state.pool_b.")) == [
        "state.pool_b.0", "state.pool_b.1", "state.pool_b.2"]  # full: 6 steps x 2 images > 3
    assert resume(tmp_path / "broken", progress=False).step == 8
    for name in ("straight", "broken"):
        assert not any(k.startswith("state") for k in state_tensors(
            ganzoo.load(str(tmp_path / name), components="all")))
    straight = state_tensors(ganzoo.load(str(tmp_path / "straight"), components="all"))
    broken = state_tensors(ganzoo.load(str(tmp_path / "broken"), components="all"))
    assert straight.keys() == broken.keys()
    for key in straight:
        assert torch.equal(straight[key], broken[key]), key
    final = load_file(tmp_path / "straight" / CHECKPOINT_NAME)
    again = load_file(tmp_path / "broken" / CHECKPOINT_NAME)
    for key in (k for k in final if k.startswith("state.")):
        assert torch.equal(final[key], again[key]), key


# -- unpaired data ----------------------------------------------------------------------------


def _marked(image: torch.Tensor) -> bool:
    """Whether ``image`` is a B fixture image (its top-left pixel is white)."""
    return bool((image[:, 0, 0] == 1.0).all())


def test_unpaired_folders_give_a_in_order_and_b_at_random(tmp_path):
    from ganzoo.data.unpaired import build_folder
    from ganzoo.data.configs import UnpairedFolderConfig

    root = make_unpaired(tmp_path / "data", size=(40, 36))
    cfg = UnpairedFolderConfig(root=root, preprocess="none", flip=False)
    train_split = build_folder(cfg, "train")
    assert len(train_split) == 5  # the larger domain
    assert train_split.resolution is None
    assert (train_split.input_nc, train_split.output_nc) == (3, 3)
    draws = set()
    for seed in range(12):
        torch.manual_seed(seed)
        item = train_split[4]
        assert item["a"].shape == item["b"].shape == (3, 36, 40)
        assert not _marked(item["a"]) and _marked(item["b"])
        assert torch.equal(item["a"], train_split[1]["a"])  # A wraps round: 4 % 3
        draws.add(item["b"].sum().item())
    assert len(draws) > 2  # B is drawn at random, independently of A ...
    torch.manual_seed(3)
    first = train_split[2]["b"]
    torch.manual_seed(3)
    assert torch.equal(first, train_split[2]["b"])  # ... as a function of the seeded RNG
    serial = build_folder(UnpairedFolderConfig(root=root, preprocess="none", flip=False,
                                               serial=True), "train")
    assert torch.equal(serial[1]["b"], serial[1]["b"]) and not torch.equal(serial[1]["b"],
                                                                            serial[2]["b"])
    test_split = build_folder(cfg, "test")
    assert len(test_split) == 2 and torch.equal(test_split[0]["b"], test_split[0]["b"])
    swapped = build_folder(UnpairedFolderConfig(root=root, preprocess="none", flip=False,
                                                direction="BtoA", serial=True), "train")
    assert _marked(swapped[0]["a"]) and not _marked(swapped[0]["b"])


@pytest.mark.parametrize("preprocess,shape", [("resize_and_crop", (24, 24)), ("crop", (24, 24)),
                                              ("scale_width", (27, 30)),
                                              ("scale_width_and_crop", (24, 24)),
                                              ("none", (36, 40))])
def test_the_reference_preprocessing_options(tmp_path, preprocess, shape):
    from ganzoo.data.unpaired import build_folder
    from ganzoo.data.configs import UnpairedFolderConfig

    root = make_unpaired(tmp_path / "data", size=(40, 36))
    crop = 30 if preprocess == "scale_width" else 24
    cfg = UnpairedFolderConfig(root=root, preprocess=preprocess, load_size=32, crop_size=crop,
                               input_nc=1)
    torch.manual_seed(0)
    for split in ("train", "test"):
        item = build_folder(cfg, split)[0]
        assert item["a"].shape == (1, *shape) and item["b"].shape == (3, *shape)


def test_grayscale_domains_and_a_model_that_disagrees(tmp_path):
    root = make_unpaired(tmp_path / "data", size=(20, 20), gray=True)
    recipe = {"architecture": "cyclegan", "seed": 0,
              "data": {"dataset": "unpaired-folder", "root": str(root), "preprocess": "crop",
                       "crop_size": 16, "input_nc": 1, "output_nc": 1},
              "model": {"input_nc": 1, "output_nc": 1, "resolution": 16, "blocks": 1,
                        "gen_width": 4, "disc_width": 4, "disc_layers": 1},
              "train": {"steps": 2, "batch_size": 1, "sample_every": 2, "checkpoint_every": 2,
                        "sample_count": 2, "device": "cpu"}}
    path = write_recipe(tmp_path / "gray.toml", recipe)
    assert train(Recipe.from_toml(path), tmp_path / "run", progress=False).status == "finished"
    wrong = Recipe.from_toml(path, ["model.output_nc=3", "train.identity_weight=0.0"])
    with pytest.raises(RecipeError, match=r"gray.toml: the data's 'b' has shape \[1, 1, 16, 16\] "
                                          r"but the model expects \[1, 3, 16, 16\]"):
        train(wrong, tmp_path / "wrong", progress=False)
    assert not (tmp_path / "wrong").exists()  # checked before the run directory is made


def test_missing_folders_damaged_images_say_what_is_expected(tmp_path):
    from ganzoo.data.unpaired import build_folder
    from ganzoo.data.configs import UnpairedFolderConfig

    with pytest.raises(ganzoo.DataError, match="does not exist; expected trainA/, trainB/ "
                                               ".*testA/, testB/"):
        build_folder(UnpairedFolderConfig(root=tmp_path / "nowhere"), "train")
    root = make_unpaired(tmp_path / "data", counts={"trainA": 2, "testA": 1, "testB": 1})
    with pytest.raises(ganzoo.DataError, match="has no trainB/ subfolder; expected trainA/, "
                                               "trainB/ .*found testA/, testB/, trainA/"):
        build_folder(UnpairedFolderConfig(root=root), "train")
    (root / "trainB").mkdir()
    with pytest.raises(ganzoo.DataError, match="no images found in .*trainB"):
        build_folder(UnpairedFolderConfig(root=root), "train")
    (root / "trainB" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    data = build_folder(UnpairedFolderConfig(root=root, serial=True), "train")
    with pytest.raises(ganzoo.DataError, match="cannot read image .*trainB/broken.png"):
        data[0]
    with pytest.raises(ganzoo.DataError, match="unknown split 'val'"):
        build_folder(UnpairedFolderConfig(root=root), "val")


def test_digit_styles_train_on_different_digits_and_test_on_counterparts():
    from ganzoo.data.digit_styles import build, restyle
    from ganzoo.data.configs import DigitStylesConfig

    cfg = DigitStylesConfig()
    train_split, test_split = build(cfg, "train"), build(cfg, "test")
    assert (len(train_split), len(test_split)) == (719, 360)
    assert not train_split.counterparts and test_split.counterparts
    assert train_split.b.shape == (718, 3, 32, 32) and train_split.a.shape == (719, 1, 32, 32)
    # no B training image is the restyled version of any A training image
    restyled = restyle(train_split.a, bold=1, colour=True).flatten(1)
    distances = torch.cdist(restyled, train_split.b.flatten(1))
    assert distances.min() > 1.0
    item = test_split[7]
    assert set(item) == {"a", "b", "label"}
    assert torch.equal(item["b"], restyle(item["a"][None], bold=1, colour=True)[0])
    gray = build(DigitStylesConfig(colour=False, bold=0, resolution=16), "test")
    assert gray.output_nc == 1 and torch.equal(gray.a, gray.b)


class _Oracle(torch.nn.Module):
    """Translates by the known rule (A -> B only); the metrics must give it a perfect score."""

    def translate(self, images):
        from ganzoo.data.digit_styles import restyle

        return restyle(images, bold=1, colour=True)


def test_counterpart_metrics_score_the_truth_perfectly_and_doing_nothing_badly():
    from ganzoo.data.digit_styles import build
    from ganzoo.data.configs import DigitStylesConfig
    from ganzoo.metrics import evaluate

    held_out = build(DigitStylesConfig(), "test")
    names = ["counterpart-l1", "digit-identity"]
    oracle = evaluate(_Oracle(), names, n=100, data=held_out)
    assert oracle["counterpart-l1"].value == 0.0
    assert oracle["counterpart-l1"].details["identity"] > 0.25  # the gray input, as it is
    identity = oracle["digit-identity"]
    assert identity.value == identity.details["input_b"] > 0.9
    assert identity.protocol.extractor == "digits-classifier" and identity.protocol.n_fake == 100
    untrained = ganzoo.create("cyclegan", input_nc=1, output_nc=3, resolution=32, blocks=1,
                              gen_width=4, disc_width=4)
    scores = evaluate(untrained, names, n=40, data=held_out)
    assert scores["counterpart-l1"].value > oracle["counterpart-l1"].details["identity"]
    assert {"identity", "ba", "ba_identity"} <= set(scores["counterpart-l1"].details)
    assert scores["digit-identity"].value < 0.5 and "ba" in scores["digit-identity"].details
    with pytest.raises(ganzoo.DataError, match="needs held-out items whose B image is the true "
                                               "counterpart"):
        evaluate(untrained, ["counterpart-l1"], data=build(DigitStylesConfig(), "train"))


# -- the official weights ---------------------------------------------------------------------


def _reference(n_blocks=9, ngf=4, input_nc=3, output_nc=3, **kwargs):
    torch.manual_seed(0)
    reference = randomised(ReferenceResnetGenerator(input_nc, output_nc, ngf, n_blocks=n_blocks,
                                                    **kwargs)).eval()
    return reference, {k: v.clone() for k, v in reference.state_dict().items()}


def test_converted_official_layout_gives_the_reference_outputs():
    # resnet_9blocks, instance norm, no dropout: the official checkpoints (ngf shrunk for speed)
    reference, state = _reference()
    assert "model.26.weight" in state and "model.18.conv_block.5.bias" in state
    model = from_reference(state)
    cfg = model.config
    assert (cfg.blocks, cfg.gen_width, cfg.norm, cfg.padding, cfg.one_way) == (9, 4, "instance",
                                                                               "reflect", True)
    assert model.components == ("gen_ab",) and model.directions == ("ab",)
    x = torch.rand(2, 3, 64, 48) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(model.translate(x), reference(x.clone()), atol=1e-5)
        odd = torch.rand(1, 3, 30, 41) * 2 - 1  # padded to 32 x 44 by reflection, cropped back
        padded = torch.nn.functional.pad(odd, (0, 3, 0, 2), mode="reflect")
        assert torch.allclose(model.translate(odd), reference(padded)[..., :30, :41], atol=1e-5)
        with pytest.raises(GanzooError, match="holds only the A -> B generator"):
            model.translate(x, direction="ba")


def test_converter_handles_other_depths_channels_norms_and_old_files():
    import functools

    reference, state = _reference(n_blocks=6, input_nc=1, output_nc=3)
    # PyTorch < 0.4 saved statistics for InstanceNorm layers; the reference's loader drops them
    state["model.2.running_mean"] = torch.zeros(4)
    state["model.2.running_var"] = torch.ones(4)
    model = from_reference(state)
    assert (model.config.blocks, model.config.input_nc, model.config.output_nc) == (6, 1, 3)
    x = torch.rand(1, 1, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(model.translate(x), reference(x.clone()), atol=1e-5)
    reference, state = _reference(n_blocks=2, norm_layer=torch.nn.BatchNorm2d,
                                  padding_type="zero")
    model = from_reference(state)
    assert (model.config.norm, model.config.padding) == ("batch", "zero")
    with torch.no_grad():
        x = torch.rand(2, 3, 16, 16) * 2 - 1
        assert torch.allclose(model.translate(x), reference(x.clone()), atol=1e-5)
    assert functools  # (the reference takes its norm layer as a functools.partial)


def test_converter_rejects_what_is_not_a_resnet_generator():
    with pytest.raises(CheckpointError, match="no 7x7 'model.1.weight'"):
        from_reference({"model.model.0.weight": torch.zeros(4, 3, 4, 4)})
    _, state = _reference(n_blocks=3)
    state["model.10.conv_block.1.extra"] = torch.zeros(1)
    with pytest.raises(CheckpointError, match="unexpected key 'model.10.conv_block.1.extra'"):
        from_reference(state)
    _, state = _reference(n_blocks=3)
    del state["model.11.conv_block.5.bias"]
    with pytest.raises(CheckpointError, match="lacks 1 tensors of a 3-block ResnetGenerator"):
        from_reference(state)
    _, state = _reference(n_blocks=3, use_dropout=True)
    with pytest.raises(CheckpointError, match="dropout or an unknown padding"):
        from_reference(state)


def test_the_18_official_generators_are_registered_with_url_and_one_converter():
    names = ganzoo.list_names("weights", "cyclegan-*")
    assert len(names) == 18 and "cyclegan-summer2winter-yosemite" in names
    entry = ganzoo.get("weights", "cyclegan-style-monet")
    assert entry.url == ("http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/"
                         "style_monet.pth")
    assert entry.architecture == "cyclegan" and entry.dataset == "monet2photo"
    assert {ganzoo.get("weights", n).converter for n in names} == {
        "ganzoo_cyclegan.convert:convert"}


def test_convert_command_load_and_translate(cli, tmp_path):
    reference, state = _reference(n_blocks=2)
    path = tmp_path / "latest_net_G.pth"
    torch.save(state, path)
    result = cli("convert", "cyclegan", path, "-o", tmp_path / "bundle")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "bundle" / "gen_ab").is_dir()
    assert not (tmp_path / "bundle" / "gen_ba").exists()
    model = ganzoo.load(str(tmp_path / "bundle"))
    Image.new("RGB", (22, 17), (200, 30, 90)).save(tmp_path / "photo.png")
    out = cli("translate", tmp_path / "bundle", tmp_path / "photo.png", "-o", tmp_path / "out")
    assert out.exit_code == 0, out.output
    assert Image.open(tmp_path / "out" / "photo.png").size == (22, 17)
    with torch.no_grad():
        expected = reference(torch.nn.functional.pad(
            model.translate(str(tmp_path / "photo.png")).new_tensor(
                __import__("numpy").array(Image.open(tmp_path / "photo.png"))).permute(2, 0, 1)
            [None] / 127.5 - 1, (0, 2, 0, 3), mode="reflect"))[..., :17, :22]
    written = torch.tensor(__import__("numpy").array(Image.open(tmp_path / "out" / "photo.png")))
    assert (written.permute(2, 0, 1).float() / 127.5 - 1 - expected[0]).abs().max() < 1 / 127
    back = cli("translate", tmp_path / "bundle", tmp_path / "photo.png", "--direction", "ba",
               "-o", tmp_path / "back")
    assert back.exit_code == 1 and "holds only the A -> B generator" in back.output


# -- recipes, eval and translate from the CLI --------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The tiny digit-styles run (8 steps at 16x16), evaluated on 20 held-out digits."""
    tmp = tmp_path_factory.mktemp("cyclegan")
    recipe = write_recipe(tmp / "tiny.toml", TINY_STYLES)
    ganzoo.train(str(recipe), str(tmp / "run"), progress=False)
    return tmp / "run"


def test_a_run_evaluates_and_translates_both_ways(trained, cli, tmp_path):
    records = [json.loads(line) for line in (trained / "metrics.jsonl").read_text().splitlines()]
    final = next(r for r in records if "eval" in r)
    assert set(final["eval"]) == {"counterpart-l1", "digit-identity"}
    assert (trained / "samples" / "final.png").is_file()
    assert Image.open(trained / "samples" / "final.png").size == (110, 110)  # 6 x 6 of 16px
    result = cli("eval", trained, "--metrics", "counterpart-l1,digit-identity", "-n", "30",
                 "--json")
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output)["scores"]
    assert scores["counterpart-l1"]["protocol"]["n_real"] == 30
    assert scores["counterpart-l1"]["protocol"]["real_data"].startswith("DigitStylesDataset(")
    assert 0 <= scores["digit-identity"]["value"] <= 1
    text = cli("eval", trained, "--metrics", "counterpart-l1", "-n", "30")
    assert "(input as is)" in text.output

    index = json.loads((trained / "weights" / "config.json").read_text())
    assert index["components"] == {"gen_ab": "gen_ab", "gen_ba": "gen_ba"}
    assert index["training_components"] == {"disc_a": "training/disc_a",
                                            "disc_b": "training/disc_b"}
    Image.new("L", (13, 19), 255).save(tmp_path / "digit.png")
    Image.new("RGB", (20, 8), (250, 230, 80)).save(tmp_path / "bold.png")
    sizes = {}
    for direction, name in [("ab", "digit.png"), ("ba", "bold.png")]:
        out = cli("translate", trained, tmp_path / name, "--direction", direction, "-o",
                  tmp_path / direction)
        assert out.exit_code == 0, out.output
        written = __import__("numpy").array(Image.open(tmp_path / direction / name).convert("RGB"))
        sizes[direction] = written.shape
        gray = (written == written[..., :1]).all()
        assert gray == (direction == "ba")  # B -> A gives the 1-channel domain A
    assert sizes == {"ab": (19, 13, 3), "ba": (8, 20, 3)}


def test_shipped_embedded_recipe_is_the_documented_setup(tmp_path):
    recipe = Recipe.from_toml(RECIPES / "cyclegan_digits_styles.toml",
                              ["train.steps=2", "train.sample_every=2", "train.checkpoint_every=2",
                               "train.eval_samples=10", "train.sample_count=2"])
    assert recipe.data.dataset == "digit-styles" and recipe.train.loss == "lsgan"
    assert recipe.train.eval_metrics == ("counterpart-l1", "digit-identity")
    assert train(recipe, tmp_path / "run", progress=False).status == "finished"


@pytest.mark.parametrize("recipe", ["cyclegan_horse2zebra.toml", "cyclegan_monet2photo.toml"])
def test_paper_recipes_train_on_folders_in_the_reference_layout(tmp_path, recipe):
    root = make_unpaired(tmp_path / "data", size=(40, 40))
    recipe = Recipe.from_toml(RECIPES / recipe, [
        f"data.root='{root}'", "data.load_size=36", "data.crop_size=32", "model.resolution=32",
        "model.blocks=1", "model.gen_width=4", "model.disc_width=4", "model.disc_layers=1",
        "train.steps=2", "train.sample_every=2", "train.log_every=1",
        "train.checkpoint_every=2", "train.sample_count=2"])
    assert (recipe.train.cycle_weight_a, recipe.train.identity_weight,
            recipe.train.pool_size) == (10.0, 0.5, 50)
    ganzoo.train(recipe, tmp_path / "run", progress=False)
    model = ganzoo.load(str(tmp_path / "run"))
    assert model.translate(torch.zeros(1, 3, 40, 24), direction="ba").shape == (1, 3, 40, 24)
