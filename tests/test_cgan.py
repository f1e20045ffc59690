"""The class-conditional GAN plugin: conformance of every variant, labels, conditioning, training."""

from __future__ import annotations

import pytest
import torch
from conftest import RECIPES

import ganzoo
import ganzoo.testing
from ganzoo.testing import check_architecture, train_steps

VARIANTS = {
    "concat": {},
    "projection": {"discriminator": "projection"},
    "projection-acgan": {"discriminator": "projection", "aux_classifier": True},
}


def tiny(**overrides):
    """A cgan at its registered tiny config (16x16, 3 channels), with ``overrides``."""
    return ganzoo.create("cgan", **{**ganzoo.get("architectures", "cgan").tiny, **overrides})


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_discriminator_variant_conforms(variant, tmp_path):
    check_architecture("cgan", tmp_path, **VARIANTS[variant])


def test_generate_returns_one_image_per_label():
    model = tiny(channels=1).eval()
    with torch.no_grad():
        images = model.generate(4, labels=[0, 1, 2, 3], seed=0)
        assert images.shape == (4, 1, 16, 16)
        assert images.min() >= -1 and images.max() <= 1
        assert torch.equal(model.generate(4, labels=torch.tensor([0, 1, 2, 3]), seed=0), images)
        # Without labels the classes cycle 0, 1, ..., 9, 0, 1.
        cycled = [i % 10 for i in range(12)]
        assert torch.equal(model.generate(12, seed=5), model.generate(12, seed=5, labels=cycled))


@pytest.mark.parametrize("labels,message", [
    ([0, 10], "label 10 is out of range: valid labels are 0 to 9 (num_classes = 10)"),
    (torch.tensor([-1, 2]), "label -1 is out of range: valid labels are 0 to 9"),
    ([1.5, 2], "labels must be integers, got 1.5"),
    ([1, 2, 3], "got 3 labels for n = 2 images"),
])
def test_bad_labels_are_refused_naming_the_label_and_the_valid_range(labels, message):
    with pytest.raises(ValueError) as info:
        tiny().generate(2, labels=labels, seed=0)
    assert message in str(info.value)


def test_the_label_changes_the_image_for_the_same_z():
    torch.manual_seed(0)
    model = tiny().eval()
    z, other_z = model.sample_latent(4, seed=1), model.sample_latent(4, seed=2)
    with torch.no_grad():
        zeros = model.generate(4, labels=[0] * 4, z=z)
        again = model.generate(4, labels=[0] * 4, z=z)
        sevens = model.generate(4, labels=[7] * 4, z=z)
        other_zeros = model.generate(4, labels=[0] * 4, z=other_z)
    assert torch.equal(zeros, again)
    # At initialisation the label moves every image by a sizeable fraction of what a new z does
    # (the outputs are all small then: DCGAN's N(0, 0.02) weights).
    by_label = (zeros - sevens).abs().flatten(1).mean(1)
    by_z = (zeros - other_zeros).abs().flatten(1).mean(1)
    assert (by_label > 0.2 * by_z).all(), (by_label, by_z)


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_discriminator_score_depends_on_the_label(variant):
    torch.manual_seed(0)
    model = tiny(**VARIANTS[variant]).eval()
    images = model.example_batch(6, generator=torch.Generator().manual_seed(0))["image"]
    with torch.no_grad():
        logits_a, classes_a = model.disc.heads(images, torch.full((6,), 2))
        logits_b, classes_b = model.disc.heads(images, torch.full((6,), 5))
    assert logits_a.shape == (6,)
    assert ((logits_a - logits_b).abs() > 1e-5).all(), (logits_a - logits_b)
    assert torch.equal(model.disc(images, torch.full((6,), 2)), logits_a)
    if model.config.aux_classifier:
        # AC-GAN's classifier reads only the image: it cannot copy the label it must predict.
        assert classes_a.shape == (6, 10) and torch.equal(classes_a, classes_b)
        assert torch.equal(model.disc.classify(images), classes_a)
    else:
        assert classes_a is None


def test_the_classifier_head_is_refused_on_the_concat_discriminator():
    with pytest.raises(ganzoo.RecipeError, match='aux_classifier = true needs discriminator = '
                                                 '"projection"'):
        tiny(aux_classifier=True)


def test_preview_rows_are_the_classes_in_order_with_one_z_per_column():
    model = tiny().eval()
    with torch.no_grad():
        grid = model.preview(100, seed=3)  # the default grid layout: 10 images a row
        z = model.sample_latent(10, seed=3)
        for digit in (0, 3, 9):
            row = grid[digit * 10:(digit + 1) * 10]
            assert torch.equal(row, model.generate(10, labels=[digit] * 10, z=z))


def test_acgan_classification_loss_decreases_on_a_fixed_batch():
    torch.manual_seed(0)
    model = tiny(discriminator="projection", aux_classifier=True, channels=1)
    batch = model.example_batch(8, generator=torch.Generator().manual_seed(1))
    history = train_steps(model, "cgan", batch, steps=20, lr_disc=1e-3)
    assert {"loss_d", "loss_g", "loss_aux", "acc_real"} <= history[0].keys()
    assert history[-1]["loss_aux"] < 0.7 * history[0]["loss_aux"], [h["loss_aux"] for h in history]
    assert history[-1]["acc_real"] > history[0]["acc_real"]


def test_no_aux_losses_without_the_classifier_head():
    model = tiny()
    losses = train_steps(model, "cgan", model.example_batch(4))[0]
    assert set(losses) == {"loss_d", "loss_g"}
    with pytest.raises(RuntimeError, match="aux_classifier = true"):
        model.disc.classify(model.example_batch(2)["image"])


@pytest.mark.parametrize("model_overrides,discriminator,aux", [
    ([], "concat", False),  # as shipped
    (["model.discriminator='projection'", "model.aux_classifier=true"], "projection", True),
    (["model.discriminator='projection'"], "projection", False),
], ids=["as-shipped", "acgan", "projection"])
def test_the_shipped_recipe_trains_at_tiny_sizes(model_overrides, discriminator, aux, tmp_path):
    overrides = ["data.resolution=16", "model.resolution=16", "model.z_dim=8",
                 "model.embed_dim=4", "model.gen_width=8", "model.disc_width=8",
                 "train.steps=3", "train.batch_size=8", "train.log_every=1",
                 "train.sample_every=3", "train.checkpoint_every=2", "train.sample_count=4",
                 "train.device='cpu'", *model_overrides]
    result = ganzoo.train(RECIPES / "cgan_digits.toml", tmp_path / "run", overrides=overrides,
                          progress=False)
    assert result.status == "finished" and result.step == 3
    assert (tmp_path / "run" / "samples" / "final.png").is_file()
    model = ganzoo.load(str(tmp_path / "run"))
    assert (model.config.discriminator, model.config.aux_classifier) == (discriminator, aux)
    with torch.no_grad():
        assert model.generate(4, labels=[0, 1, 2, 3], seed=0).shape == (4, 1, 16, 16)
    assert set(result.losses) == ({"loss_d", "loss_g", "loss_aux", "acc_real"} if aux
                                  else {"loss_d", "loss_g"})


def test_cli_sample_draws_the_asked_for_labels(tmp_path, cli):
    from PIL import Image

    from conftest import RECIPES

    recipe = ganzoo.Recipe.from_toml(RECIPES / "cgan_digits.toml", [
        "train.steps=2", "train.sample_every=2", "train.sample_count=4", "train.eval_samples=20",
        "model.gen_width=4", "model.disc_width=4", "train.batch_size=8"])
    run_dir = ganzoo.train(recipe, tmp_path / "run", progress=False).run_dir
    out = tmp_path / "labels.png"
    result = cli("sample", run_dir, "--labels", "0,1,2,3,4,5,6,7,8,9", "-o", out)
    assert result.exit_code == 0, result.output
    assert Image.open(out).size == (10 * 34 + 2, 36)  # one row of ten 32px tiles, 2px padding
    bad = cli("sample", run_dir, "--labels", "3,12", "-o", out)
    assert bad.exit_code == 2 and "label 12 is out of range" in bad.output
    assert cli("sample", run_dir, "--labels", "a,b").exit_code == 2
    unconditional = cli("sample", "dcgan-digits", "--labels", "1", "-o", out)
    assert unconditional.exit_code == 2 and "needs a conditional one" in unconditional.output


def test_the_degenerator_measures_a_conditional_model_per_class(tmp_path):
    # the benchmark's conditional path: critic scores each sample with its label, the picture
    # has a row per class, and only the generator moves while the critic stays frozen
    from ganzoo_tlgan.degenerator_benchmark import degenerate
    from PIL import Image

    recipe = ganzoo.Recipe.from_toml(RECIPES / "cgan_digits.toml", [
        "train.steps=2", "train.sample_every=2", "train.sample_count=4", "train.eval_every=0",
        "train.eval_metrics=[]", "model.gen_width=4", "model.disc_width=4", "train.batch_size=8"])
    run_dir = ganzoo.train(recipe, tmp_path / "run", progress=False).run_dir
    before = ganzoo.load(str(run_dir), components="all")
    result = degenerate(run_dir, chunks=1, chunk=3, n=40, pictures=tmp_path, name="essence")
    first, last = result["rows"]
    assert (first["frozen_steps"], last["frozen_steps"]) == (0, 3)
    assert 0.0 <= last["label_accuracy"] <= 1.0 and last["within_class_distance"] > 0
    assert first["critic_score"] != last["critic_score"]  # the generator moved
    # a row per class (10), two latents at each of the two measured steps: 4 tiles of 32 + 2 pad
    assert Image.open(tmp_path / "essence.png").size == (4 * 34 + 2, 10 * 34 + 2)
    assert (tmp_path / "essence_curves.png").stat().st_size > 0
    assert ganzoo.load(str(run_dir), components="all").config == before.config  # RUN untouched
