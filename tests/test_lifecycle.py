"""The core owns the trainer's lifecycle: schedules, setup, the first batch's check, precision,
loss scalers, frozen discriminators, and runs that died before their first checkpoint."""

from __future__ import annotations

import json
import sys

import pytest
import torch
from conftest import RECIPES, TINY_DIGITS, write_recipe

import ganzoo
from ganzoo import Recipe, RecipeError, TrainConfig
from ganzoo.hub.bundle import state_tensors
from ganzoo.testing import tiny_model, train_steps
from ganzoo.training import checkpoint, loop
from ganzoo.training.checkpoint import CHECKPOINT_NAME
from ganzoo.training.context import StepContext
from ganzoo.training.lifecycle import prepare
from ganzoo.training.loop import resume, train
from ganzoo.training.schedules import linear_decay


def final_tensors(run_dir):
    return state_tensors(ganzoo.load(str(run_dir), components="all"))


def assert_same_tensors(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


# -- [train] lr_schedule ----------------------------------------------------------------------
def old_rates(recipe: Recipe, step: int) -> dict[str, float]:
    """The rates the pix2pix, CycleGAN and StackGAN steps set themselves before the loop did."""
    cfg = recipe.train
    if recipe.trainer in ("pix2pix", "cyclegan"):
        factor = linear_decay(step, cfg.steps, cfg.decay_start)
    else:  # stackgan: lr_decay ** (step // lr_decay_every); the text encoder's rate constant
        factor = cfg.lr_decay ** (step // cfg.lr_decay_every) if cfg.lr_decay_every else 1.0
    return {"gen": cfg.lr_gen * factor, "disc": cfg.lr_disc * factor}


SCHEDULED = sorted(p for p in RECIPES.glob("*.toml")
                   if p.name.startswith(("pix2pix", "cyclegan", "stackgan")))


@pytest.mark.parametrize("path", SCHEDULED, ids=lambda p: p.stem)
def test_each_recipe_gets_the_learning_rates_its_step_used_to_set(path):
    recipe = Recipe.from_toml(path)
    ctx = StepContext(recipe.train, torch.device("cpu"))
    params = {name: torch.nn.Parameter(torch.zeros(1)) for name in ("gen", "disc")}
    model = type("Model", (), {"components": (), "generator_components": ()})()
    ctx.bind({"gen": torch.optim.Adam([params["gen"]], lr=recipe.train.lr_gen),
              "disc": torch.optim.Adam([params["disc"]], lr=recipe.train.lr_disc)}, model)
    steps = recipe.train.steps
    checked = sorted({0, 1, steps // 2 - 1, steps // 2, steps // 2 + 1, steps - 1,
                      *range(0, steps, max(1, steps // 500))})
    for step in checked:
        ctx.begin_step(step)
        rates = {name: opt.param_groups[0]["lr"] for name, opt in ctx.optimizers.items()}
        assert rates == old_rates(recipe, step), (path.name, step)  # bit for bit


def test_the_loop_sets_every_optimizers_rate_before_each_step(monkeypatch, tmp_path):
    import ganzoo_pix2pix.train as p2p

    seen, real = [], p2p.train_step

    def recording(batch, model, opt, ctx):
        seen.append((ctx.step, opt.gen.param_groups[0]["lr"], opt.disc.param_groups[0]["lr"]))
        return real(batch, model, opt, ctx)

    monkeypatch.setattr(p2p, "train_step", recording)
    recipe = Recipe.from_dict({
        "architecture": "pix2pix", "seed": 0,
        "data": {"dataset": "photo-pairs", "resolution": 16, "photo_size": 32, "items": 8},
        "model": {"input_nc": 1, "output_nc": 3, "resolution": 16, "depth": 4, "gen_width": 4,
                  "disc_width": 4, "disc_layers": 1},
        "train": {"steps": 6, "batch_size": 2, "log_every": 3, "sample_every": 6,
                  "checkpoint_every": 6, "sample_count": 2, "device": "cpu", "lr_disc": 1e-3}})
    train(recipe, tmp_path / "run", progress=False)
    assert seen == [(s, 2e-4 * linear_decay(s, 6, 0.5), 1e-3 * linear_decay(s, 6, 0.5))
                    for s in range(6)]


def test_a_step_schedule_in_any_recipe_and_keys_of_another_schedule_are_refused(tiny_recipe,
                                                                               tmp_path):
    recipe = Recipe.from_toml(tiny_recipe, ["train.lr_schedule=step", "train.lr_decay=0.1",
                                            "train.lr_decay_every=4", "train.steps=8"])
    ctx = StepContext(recipe.train, torch.device("cpu"))
    assert ctx.cfg.lr_schedule == "step"
    with pytest.raises(RecipeError, match=r"decay_start = 0.3 is read by lr_schedule = 'linear' "
                                          r"only, but lr_schedule = 'constant'"):
        Recipe.from_toml(tiny_recipe, ["train.decay_start=0.3"])
    with pytest.raises(ValueError, match="lr_schedule = 'cosine' is not one of 'constant', "
                                         "'linear', 'step'"):
        TrainConfig(lr_schedule="cosine")


def crash_and_resume(recipe: Recipe, tmp_path, monkeypatch, at: int = 4):
    """Train ``recipe`` straight, and once more dying at step ``at`` (after its checkpoint) and
    resumed; returns the two run directories."""
    import ganzoo_dcgan.train as dcgan

    train(recipe, tmp_path / "straight", progress=False)
    real = _dies_at(at, monkeypatch)
    with pytest.raises(RuntimeError, match="the machine went away"):
        train(recipe, tmp_path / "broken", progress=False)
    monkeypatch.setattr(dcgan, "train_step", real)
    resume(tmp_path / "broken", progress=False)
    return tmp_path / "straight", tmp_path / "broken"


def test_a_linearly_decaying_run_resumes_bit_exactly(tmp_path, monkeypatch):
    data = {**TINY_DIGITS, "train": {**TINY_DIGITS["train"], "steps": 8, "checkpoint_every": 4,
                                     "lr_schedule": "linear", "decay_start": 0.25}}
    recipe = Recipe.from_toml(write_recipe(tmp_path / "linear.toml", data))
    straight, broken = crash_and_resume(recipe, tmp_path, monkeypatch)
    assert_same_tensors(final_tensors(straight), final_tensors(broken))


# -- setup, optimizers, the first batch -------------------------------------------------------
def test_setup_refuses_what_the_trainer_cannot_train_before_any_optimizer_exists(monkeypatch):
    import ganzoo_cyclegan.train as cyclegan

    made = []
    monkeypatch.setattr(cyclegan, "optimizers", lambda *args: made.append(args) or {})
    entry = ganzoo.get("trainers", "cyclegan")
    model = ganzoo.create("cyclegan", one_way=True, resolution=16, blocks=1, gen_width=4)
    cfg = entry.config_cls(device="cpu")
    with pytest.raises(RecipeError, match="one_way = true builds gen_ab alone"):
        prepare(entry, model, cfg, StepContext(cfg, torch.device("cpu")))
    assert not made  # optimizers() only makes optimizers, after the setup accepted the model


def test_a_first_batch_that_disagrees_with_the_model_names_the_key_before_the_run_dir(
        tiny_recipe, tmp_path, monkeypatch):
    import ganzoo_dcgan.networks as networks

    real = networks.DCGAN.example_batch

    def wants_labels(self, batch_size, *, generator=None):
        return {**real(self, batch_size, generator=generator), "mask": torch.zeros(1, 2, 16, 16)}

    monkeypatch.setattr(networks.DCGAN, "example_batch", wants_labels)
    with pytest.raises(RecipeError, match=r"tiny.toml: the data gives 'image', 'label' but 'dcgan' "
                                          r"trains on 'image', 'mask'; no 'mask' in the data"):
        train(Recipe.from_toml(tiny_recipe), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_the_check_of_the_first_batch_leaves_the_run_as_it_was(tiny_recipe, tmp_path, monkeypatch):
    from ganzoo.training import lifecycle

    train(Recipe.from_toml(tiny_recipe, ["train.steps=4"]), tmp_path / "checked", progress=False)
    monkeypatch.setattr(lifecycle, "check_first_batch", lambda *a, **k: None)
    train(Recipe.from_toml(tiny_recipe, ["train.steps=4"]), tmp_path / "plain", progress=False)
    assert_same_tensors(final_tensors(tmp_path / "checked"), final_tensors(tmp_path / "plain"))


# -- precision and loss scalers ---------------------------------------------------------------
@pytest.mark.parametrize("key, value, message", [
    ("amp", "bf61", "amp = 'bf61' is not one of 'none', 'bf16', 'fp16', 'auto'"),
    ("channels_last", "yes", "channels_last must be true, false or \"auto\", got 'yes'"),
    ("compile", 1, "compile must be true or false, got 1"),
    ("tensorboard", None, "tensorboard must be true or false, got None"),
])
def test_train_config_validates_from_python_too(key, value, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{key: value})


def test_precision_is_resolved_once_into_the_record_the_context_gets(tiny_recipe, tmp_path):
    from ganzoo.training.loop import _Session
    from ganzoo.training.precision import Precision, native_amp

    session = _Session(Recipe.from_toml(tiny_recipe), None)
    assert session.ctx.precision is session.precision
    assert session.precision == Precision(amp=native_amp(torch.device("cpu")), requested="auto")
    with pytest.raises(AttributeError):
        session.precision.amp = "fp16"  # frozen


def test_an_fp16_scaled_run_resumes_bit_exactly_with_its_loss_scales(tiny_recipe, tmp_path,
                                                                    monkeypatch):
    """fp16 autocast with loss scaling, forced on the CPU. The scales fall from 65536 in the
    first steps (fp16 gradients overflow), so a resumed run that started its scalers afresh (as
    when they were keyed by ``id(optimizer)``) would skip steps the straight run took."""
    fp16 = ["train.amp=fp16", "train.steps=8", "train.checkpoint_every=4"]
    scales = []
    real_load = checkpoint.load_checkpoint

    def loading(*args, **kwargs):
        meta = real_load(*args, **kwargs)
        scales.append({k: s.state_dict()["scale"] for k, s in kwargs["ctx"].scalers.items()})
        return meta

    monkeypatch.setattr(loop, "load_checkpoint", loading)
    straight, broken = crash_and_resume(Recipe.from_toml(tiny_recipe, fp16), tmp_path, monkeypatch)
    assert scales and set(scales[0]) == {"gen", "disc"}  # keyed by optimizer name, restored
    assert all(scale < 65536.0 for scale in scales[0].values())  # they had backed off
    assert_same_tensors(final_tensors(straight), final_tensors(broken))


# -- freeze_disc_after ------------------------------------------------------------------------
ADVERSARIAL = ["dcgan", "cgan", "pix2pix", "cyclegan", "stackgan"]


def _split(model):
    state = state_tensors(model)
    gens = tuple(f"{n}." for n in model.generator_components)
    params = {n for n, _ in model.named_parameters()}
    return ({k: v for k, v in state.items() if k in params and not k.startswith(gens)},
            {k: v for k, v in state.items() if k in params and k.startswith(gens)})


@pytest.mark.parametrize("architecture", ADVERSARIAL)
def test_freeze_disc_after_stops_every_discriminator_without_plugin_code(architecture):
    torch.manual_seed(0)
    model = tiny_model(architecture)
    trainer = ganzoo.get("architectures", architecture).trainer
    batch = model.example_batch(4, generator=torch.Generator().manual_seed(0))
    disc_before, gen_before = _split(model)
    train_steps(model, trainer, batch, steps=2, freeze_disc_after=0)
    disc_after, gen_after = _split(model)
    assert disc_before and all(torch.equal(disc_before[k], disc_after[k]) for k in disc_before)
    assert any(not torch.equal(gen_before[k], gen_after[k]) for k in gen_before)


def test_the_discriminator_learns_until_step_n_then_stays(tiny_recipe, tmp_path, monkeypatch):
    import ganzoo_dcgan.train as dcgan

    snapshots, real = [], dcgan.train_step

    def recording(batch, model, opt, ctx):
        snapshots.append(state_tensors(model.disc))
        return real(batch, model, opt, ctx)

    monkeypatch.setattr(dcgan, "train_step", recording)
    train(Recipe.from_toml(tiny_recipe, ["train.steps=6", "train.freeze_disc_after=3"]),
          tmp_path / "run", progress=False)
    trained = ganzoo.load(str(tmp_path / "run"), components="all").disc
    final = state_tensors(trained)
    weights = [name for name, _ in trained.named_parameters()]  # running statistics aside
    changed = [any(not torch.equal(a[k], b[k]) for k in weights)
               for a, b in zip(snapshots, [*snapshots[1:], final], strict=True)]
    assert changed == [True, True, True, False, False, False]  # steps 0-2 train D, then not


# -- runs that died before their first checkpoint ---------------------------------------------
def _dies_at(step_no, monkeypatch):
    import ganzoo_dcgan.train as dcgan

    real = dcgan.train_step

    def dying(batch, model, opt, ctx):
        if ctx.step == step_no:
            raise RuntimeError("the machine went away")
        return real(batch, model, opt, ctx)

    monkeypatch.setattr(dcgan, "train_step", dying)
    return real


def test_resume_of_a_run_that_died_before_its_first_checkpoint_starts_it_again(
        tiny_recipe, tmp_path, monkeypatch, cli):
    real = _dies_at(3, monkeypatch)
    recipe = Recipe.from_toml(tiny_recipe, ["train.steps=8", "train.log_every=1"])
    with pytest.raises(RuntimeError):
        train(recipe, tmp_path / "dead", progress=False)
    assert not (tmp_path / "dead" / CHECKPOINT_NAME).exists()
    import ganzoo_dcgan.train as dcgan

    monkeypatch.setattr(dcgan, "train_step", real)
    result = cli("run", "--resume", tmp_path / "dead", "-q")
    assert result.exit_code == 0, result.output
    assert "stopped before its first checkpoint; starting it again from step 0" in result.output
    train(recipe, tmp_path / "straight", progress=False)
    assert_same_tensors(final_tensors(tmp_path / "straight"), final_tensors(tmp_path / "dead"))
    steps = [json.loads(x)["step"] for x in (tmp_path / "dead" / "metrics.jsonl").read_text()
             .splitlines() if "eval" not in x]
    assert steps == list(range(1, 9))  # logged once each, from the restart


def test_nan_before_the_first_checkpoint_claims_no_checkpoint(tiny_recipe, tmp_path, monkeypatch):
    import ganzoo_dcgan.train as dcgan

    real = dcgan.train_step

    def diverging(batch, model, opt, ctx):
        losses = real(batch, model, opt, ctx)
        return {**losses, "loss_g": losses["loss_g"] * float("nan")}

    monkeypatch.setattr(dcgan, "train_step", diverging)
    with pytest.raises(ganzoo.TrainingDiverged) as info:
        train(Recipe.from_toml(tiny_recipe), tmp_path / "run", progress=False)
    message = str(info.value)
    assert "loss_g became nan by step 2" in message and "checkpoint (step 0)" not in message
    assert "before its first checkpoint (step 4), so there is none to go back to" in message


# -- ganzoo.load, ganzoo.train, ganzoo show ---------------------------------------------------
def test_load_leaves_the_discriminator_out_unless_asked_and_says_how_to_get_it(tiny_recipe,
                                                                               tmp_path):
    from ganzoo.hub.bundle import NotLoaded, write_bundle

    run_dir = tmp_path / "run"
    ganzoo.train(Recipe.from_toml(tiny_recipe), run_dir, overrides=["train.steps=2"],
                 progress=False)
    model = ganzoo.load(str(run_dir))
    assert isinstance(model.disc, NotLoaded) and "disc." not in str(list(state_tensors(model)))
    with pytest.raises(ganzoo.CheckpointError, match=r"disc was not loaded: .*run was loaded "
                                                     r"for inference.*components=\"all\""):
        model.disc(torch.zeros(1, 1, 16, 16))
    with pytest.raises(AttributeError, match="components=\"all\""):
        model.disc.features
    assert model.generate(2, seed=0).shape == (2, 1, 16, 16)  # the generator is all there
    trained = ganzoo.load(str(run_dir), components="all").disc
    assert isinstance(trained, torch.nn.Module) and not isinstance(trained, NotLoaded)
    write_bundle(model, tmp_path / "copy")  # a bundle of what was loaded: no empty D
    assert ganzoo.load(str(tmp_path / "copy")).bundle_index.training_components == {}


def test_load_names_an_unknown_keyword_argument_and_the_accepted_ones(tiny_recipe, tmp_path):
    with pytest.raises(ganzoo.GanzooError, match=r"unknown keyword argument 'cache'"
                                                  r" \(did you mean 'cache_dir'\?\); it accepts "
                                                  r"revision, components, device, cache_dir"):
        ganzoo.load(str(tmp_path), cache="x")


def test_train_applies_overrides_to_a_recipe_object(tiny_recipe, tmp_path):
    result = ganzoo.train(Recipe.from_toml(tiny_recipe), tmp_path / "run",
                          overrides=["train.steps=2"], progress=False)
    assert result.step == 2
    assert "steps = 2" in (tmp_path / "run" / "recipe.toml").read_text()


def test_show_names_a_loss_a_loss(cli):
    result = cli("show", "lsgan")
    assert result.exit_code == 0 and result.output.startswith("lsgan (loss)")


def test_a_channels_last_run_resumes_bit_exactly(tmp_path, monkeypatch):
    """Checkpoints store Adam's moments contiguous; the fused kernel pairs a channels_last
    weight with its moments in memory order, so they are given the weight's layout again."""
    data = {**TINY_DIGITS, "train": {**TINY_DIGITS["train"], "steps": 8, "checkpoint_every": 4,
                                     "channels_last": True}}
    recipe = Recipe.from_toml(write_recipe(tmp_path / "cl.toml", data))
    straight, broken = crash_and_resume(recipe, tmp_path, monkeypatch)
    assert json.loads((broken / "run.json").read_text())["channels_last"] is True
    assert_same_tensors(final_tensors(straight), final_tensors(broken))


def test_evaluation_during_training_changes_nothing_the_run_draws(tmp_path, monkeypatch):
    """Scoring at step 4 (a metric that builds its network on first use) and resuming in a new
    process, where that network is built again at step 8, give the uninterrupted run's weights."""
    from ganzoo.metrics import digits_classifier

    data = {**TINY_DIGITS, "train": {**TINY_DIGITS["train"], "eval_every": 4,
                                     "eval_metrics": ["fd-digits"], "eval_samples": 16}}
    recipe = Recipe.from_toml(write_recipe(tmp_path / "eval.toml", data))
    fresh_process = digits_classifier._load.cache_clear
    real_train, real_resume = loop.train, loop.resume

    def train_fresh(*args, **kwargs):
        fresh_process()
        return real_train(*args, **kwargs)

    def resume_fresh(*args, **kwargs):
        fresh_process()
        return real_resume(*args, **kwargs)

    monkeypatch.setattr(sys.modules[__name__], "train", train_fresh)
    monkeypatch.setattr(sys.modules[__name__], "resume", resume_fresh)
    straight, broken = crash_and_resume(recipe, tmp_path, monkeypatch, at=6)
    assert_same_tensors(final_tensors(straight), final_tensors(broken))
