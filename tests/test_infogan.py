"""InfoGAN: the declared code inputs, the mutual-information term (and the bugs of popular ports
it avoids), the code-accuracy metric, exact resume, ONNX export and the shipped recipe."""

from __future__ import annotations

import math
import os
import signal

import pytest
import torch
import torch.nn.functional as F
from conftest import RECIPES, write_recipe

import ganzoo
from ganzoo import ContinuousInput, DiscreteInput, GanzooError, Recipe
from ganzoo.hub.bundle import state_tensors
from ganzoo.metrics import evaluate
from ganzoo.metrics.codes import matched_accuracy
from ganzoo.testing import check_architecture, tiny_model, train_steps
from ganzoo.training.checkpoint import checkpoint_step
from ganzoo.training.loop import resume, train
from ganzoo_infogan.losses import categorical_nll, gaussian_nll
from ganzoo_infogan.networks import CodeError


def tiny(**overrides):
    torch.manual_seed(0)
    return tiny_model("infogan", **overrides)


@pytest.mark.parametrize("overrides", [{}, {"q_std": "learned"}, {"continuous": 0},
                                       {"z_prior": "uniform"}],
                         ids=["fixed-std", "learned-std", "no-continuous", "uniform-z"])
def test_every_variant_conforms(overrides, tmp_path):
    check_architecture("infogan", tmp_path, **overrides)


def test_the_codes_are_declared_inputs_of_generate():
    model = ganzoo.create("infogan")
    assert model.inputs() == (
        DiscreteInput(name="code", count=10, summary=model.inputs()[0].summary),
        ContinuousInput(name="c", size=2, low=-2.0, high=2.0, summary=model.inputs()[1].summary))
    assert isinstance(model, ganzoo.LatentGenerator)
    assert tiny(continuous=0).inputs() == (tiny(continuous=0).inputs()[0],)


def test_generate_draws_what_is_not_given_from_the_seed():
    model = tiny().eval()
    with torch.no_grad():
        images = model.generate(6, seed=3)
        assert images.shape == (6, 1, 16, 16) and images.min() >= -1 and images.max() <= 1
        drawn = model.sample_inputs(6, seed=3)
        assert torch.equal(drawn.z, model.sample_latent(6, seed=3))
        assert torch.equal(model.generate(6, z=drawn.z, code=drawn.code, c=drawn.c), images)
        assert torch.equal(model.generate(6, seed=3, code=drawn.code.tolist()), images)
        # Fixing z and c, the code alone changes the image; fixing z and code, c alone does.
        other_code = model.generate(6, seed=3, code=(drawn.code + 1) % 4)
        other_c = model.generate(6, seed=3, c=torch.full((6, 2), 2.0))
        # (Relative: an untrained generator in eval mode draws images close to 0.)
        scale = images.abs().amax()
        assert (other_code - images).abs().amax() > 0.05 * scale
        assert (other_c - images).abs().amax() > 0.05 * scale
    assert (drawn.c.abs() <= 1).all() and set(drawn.code.tolist()) <= set(range(4))


def test_z_prior_uniform_draws_the_authors_u_minus_one_one():
    normal, uniform = tiny(), tiny(z_prior="uniform")
    z = uniform.sample_latent(4000, seed=1)
    assert z.shape == (4000, 8) and z.min() >= -1 and z.max() <= 1
    assert abs(float(z.var()) - 1 / 3) < 0.02  # U(-1, 1) has variance 1/3; N(0, 1) has 1
    assert abs(float(normal.sample_latent(4000, seed=1).var()) - 1) < 0.05
    assert torch.equal(uniform.sample_inputs(5, seed=2).z, uniform.sample_latent(5, seed=2))
    assert ganzoo.create("infogan").config.z_prior == "normal"  # older bundles load unchanged


def test_a_bad_z_prior_is_refused_naming_the_key_and_the_choices():
    with pytest.raises(GanzooError) as info:
        Recipe.from_toml(RECIPES / "infogan_digits.toml", ["model.z_prior=gaussian"])
    assert "z_prior" in str(info.value) and "'normal', 'uniform'" in str(info.value)


@pytest.mark.parametrize("kwargs,message", [
    ({"code": [0, 4]}, "code 4 is out of range: valid codes are 0 to 3 (categories = 4)"),
    ({"code": [0.5, 1]}, "code values must be integers, got 0.5"),
    ({"code": [0, 1, 2]}, "got 3 code values for n = 2 images"),
    ({"c": torch.zeros(2, 3)}, "c must have shape [n, 2] = [2, 2] (continuous = 2), got [2, 3]"),
    ({"z": torch.zeros(3, 8)}, "z must have shape [n, z_dim] = [2, 8], got [3, 8]"),
])
def test_bad_inputs_are_refused_naming_the_value_and_what_is_accepted(kwargs, message):
    with pytest.raises(CodeError) as info:
        tiny().generate(2, seed=0, **kwargs)
    assert message in str(info.value)
    assert isinstance(info.value, GanzooError) and isinstance(info.value, ValueError)


def test_the_categorical_loss_takes_logits_and_q_has_no_softmax():
    codes = torch.tensor([3, 0, 7])
    logits = torch.randn(3, 10)
    assert categorical_nll(logits, codes) == pytest.approx(
        float(-logits.log_softmax(1)[torch.arange(3), codes].mean()), rel=1e-6)
    # Q sure of the right code: the loss is ~0. A second softmax in front (the port bug) would
    # leave it above -log(e / (e + 9)) = 1.46 however sure Q is.
    sure = 30 * F.one_hot(codes, 10).float()
    assert categorical_nll(sure, codes) < 1e-6
    assert categorical_nll(sure.softmax(1), codes) > 1.46
    model = tiny()
    assert not any(isinstance(m, (torch.nn.Softmax, torch.nn.LogSoftmax, torch.nn.Sigmoid))
                   for m in model.disc.modules())


def test_the_gaussian_loss_is_the_negative_log_likelihood():
    mean, codes, log_std = torch.randn(5, 2), torch.randn(5, 2), torch.randn(5, 2)
    expected = -torch.distributions.Normal(mean, log_std.exp()).log_prob(codes).sum(1).mean()
    assert gaussian_nll(mean, codes, log_std) == pytest.approx(float(expected), rel=1e-5)
    fixed = -torch.distributions.Normal(mean, 1.0).log_prob(codes).sum(1).mean()
    assert gaussian_nll(mean, codes) == pytest.approx(float(fixed), rel=1e-5)


@pytest.mark.parametrize("q_std", ["fixed", "learned"])
def test_the_information_loss_reaches_g_the_q_head_and_the_shared_trunk(q_std):
    model = tiny(q_std=q_std)
    z, code, c = model.sample_inputs(8, seed=0)
    heads = model.disc.heads(model.gen(z, code, c))
    loss = categorical_nll(heads.code_logits, code) + gaussian_nll(heads.c_mean, c,
                                                                   heads.c_log_std)
    loss.backward()
    for name, net in [("gen", model.gen), ("trunk", model.disc.trunk), ("q", model.disc.q)]:
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters()), name
    assert model.disc.logit.weight.grad is None  # the adversarial head is not part of it


def _one_step(lambda_categorical: float, lambda_continuous: float) -> dict:
    model = tiny()
    batch = model.example_batch(8, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(1)
    train_steps(model, "infogan", batch, lambda_categorical=lambda_categorical,
                lambda_continuous=lambda_continuous)
    return state_tensors(model)


def test_the_training_step_updates_trunk_and_generator_with_the_information_term():
    """The same step with and without the information term (same weights and draws): the
    term must change the shared trunk (D's update) and G (G's update), not only the Q head."""
    without, with_info = _one_step(0.0, 0.0), _one_step(1.0, 0.1)
    changed = {key.split(".")[0] + "." + key.split(".")[1]
               for key in without if not torch.equal(without[key], with_info[key])}
    assert {"disc.trunk", "disc.q", "gen.fc", "gen.up"} <= changed


def test_the_mutual_information_bound_approaches_log_k_on_a_short_run():
    """G and Q learn to agree on the code: H(code) - CE rises from ~0 to near ln 10."""
    torch.manual_seed(0)
    model = tiny_model("infogan", categories=10, hidden=64, q_hidden=32)
    batch = model.example_batch(32, generator=torch.Generator().manual_seed(0))
    history = train_steps(model, "infogan", batch, steps=100, lr_gen=5e-3, lr_disc=5e-3)
    first = history[0]["mi_code"]
    last = sum(h["mi_code"] for h in history[-5:]) / 5
    assert first < 0.3 * math.log(10) and last > 0.9 * math.log(10), (first, last)


def test_matched_accuracy_finds_the_best_one_to_one_matching():
    codes = [0, 0, 1, 1, 2, 2, 2]
    classes = [7, 7, 3, 7, 5, 5, 1]  # code 0 -> 7, 1 -> 3 (7 is taken), 2 -> 5
    accuracy, matching, counts = matched_accuracy(codes, classes, 3)
    assert matching == {0: 7, 1: 3, 2: 5} and accuracy == pytest.approx(5 / 7)
    assert counts.sum() == 7
    # Two codes on one class: only one of them can have it.
    assert matched_accuracy([0, 1], [4, 4], 2)[0] == pytest.approx(0.5)


class _CodedDigits(ganzoo.LatentGenerator):
    """A stand-in generator: code k draws real test digits of class (3 k + 1) mod 10."""

    architecture = "coded-digits"

    def __init__(self, images, labels):
        super().__init__(None)
        self.images, self.labels = images, labels
        self.anchor = torch.nn.Parameter(torch.zeros(1))

    def inputs(self):
        return (DiscreteInput(name="code", count=10),)

    def generate(self, n, *, seed=None, z=None, code=None):
        rng = torch.Generator().manual_seed(seed)
        out = []
        for k in code:
            pool = (self.labels == (3 * k + 1) % 10).nonzero().flatten()
            out.append(self.images[pool[torch.randint(len(pool), (1,), generator=rng)]])
        return torch.cat(out)


def test_code_accuracy_recovers_a_permuted_code():
    data = ganzoo.plugin.manager.registry("datasets").get("digits")
    from ganzoo.data.digits import build
    from ganzoo.data.configs import DigitsConfig

    test = build(DigitsConfig(resolution=32), "test")
    images = torch.stack([test[i]["image"] for i in range(len(test))])
    labels = torch.tensor([test[i]["label"] for i in range(len(test))])
    score = evaluate(_CodedDigits(images, labels), ["code-accuracy"], n=200)["code-accuracy"]
    assert data.name == "digits" and score.value > 0.95
    assert score.details["matching"] == {str(k): (3 * k + 1) % 10 for k in range(10)}
    assert score.protocol.extra["input"] == "code"


def test_code_accuracy_names_a_model_without_a_categorical_input():
    with pytest.raises(GanzooError, match="needs a model with a categorical input .* dcgan "
                                          "declares none"):
        evaluate(tiny_model("dcgan"), ["code-accuracy"], n=10)


TINY_INFOGAN = {
    "architecture": "infogan", "seed": 2,
    "data": {"dataset": "digits", "resolution": 16},
    "model": {"resolution": 16, "channels": 1, "z_dim": 8, "categories": 10, "continuous": 2,
              "gen_width": 8, "disc_width": 8, "hidden": 32, "q_hidden": 16},
    "train": {"steps": 10, "batch_size": 8, "log_every": 2, "sample_every": 10,
              "checkpoint_every": 4, "sample_count": 4, "device": "cpu", "amp": "none",
              "ema": 0.9, "lr_gen": 1e-3},
}


def test_resume_after_ctrl_c_equals_an_uninterrupted_run(tmp_path, monkeypatch):
    recipe = Recipe.from_toml(write_recipe(tmp_path / "tiny.toml", TINY_INFOGAN))
    train(recipe, tmp_path / "straight", progress=False)

    import ganzoo_infogan.train as trainer

    original = trainer.train_step

    def interrupted(batch, model, opt, ctx):
        if ctx.step == 5:  # Ctrl-C: the step in flight finishes and is checkpointed
            os.kill(os.getpid(), signal.SIGINT)
        return original(batch, model, opt, ctx)

    monkeypatch.setattr(trainer, "train_step", interrupted)
    result = train(recipe, tmp_path / "broken", progress=False)
    monkeypatch.setattr(trainer, "train_step", original)
    assert result.status == "interrupted" and checkpoint_step(tmp_path / "broken") == 6
    assert resume(tmp_path / "broken", progress=False).step == 10
    straight = state_tensors(ganzoo.load(str(tmp_path / "straight"), components="all"))
    broken = state_tensors(ganzoo.load(str(tmp_path / "broken"), components="all"))
    assert straight.keys() == broken.keys()
    for key in straight:
        assert torch.equal(straight[key], broken[key]), key


def test_the_cli_exports_the_generator_with_its_code_inputs(cli, tmp_path):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    model = tiny().eval()
    model.save_pretrained(tmp_path / "bundle")
    path = tmp_path / "infogan.onnx"
    result = cli("export", tmp_path / "bundle", "--onnx", path)
    assert result.exit_code == 0, result.output
    graph = onnx.load(str(path)).graph
    assert [i.name for i in graph.input] == ["z", "code", "c"]
    session = ort.InferenceSession(str(path))
    z, code, c = torch.randn(5, 8), torch.tensor([3, 0, 1, 2, 3]), torch.rand(5, 2) * 4 - 2
    got = session.run(None, {"z": z.numpy(), "code": code.numpy(), "c": c.numpy()})[0]
    with torch.no_grad():
        expected = model.generate(5, z=z, code=code, c=c).numpy()
    assert abs(got - expected).max() <= 1e-4


def test_show_describes_the_architecture_and_its_trainer(cli):
    result = cli("show", "infogan")
    assert result.exit_code == 0, result.output
    assert "infogan (architecture)" in result.output and "infogan (trainer)" in result.output
    assert "lambda_continuous" in result.output and "q_std" in result.output


def test_the_shipped_recipe_trains(tmp_path):
    recipe = Recipe.from_toml(RECIPES / "infogan_digits.toml", [
        "train.steps=3", "train.log_every=1", "train.sample_every=3", "train.checkpoint_every=2",
        "train.sample_count=4", "train.eval_samples=20", "model.hidden=16",
        "model.gen_width=4", "model.disc_width=4"])
    result = train(recipe, tmp_path / "run", progress=False)
    assert result.status == "finished"
    model = ganzoo.load(str(tmp_path / "run"))
    assert model.generate(2, seed=0, code=[4, 9]).shape == (2, 1, 32, 32)
