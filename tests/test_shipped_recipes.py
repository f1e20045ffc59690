"""The recipes in recipes/ train as shipped (a few steps), on embedded or fixture data."""

from __future__ import annotations

import data_fixtures
from conftest import RECIPES

import ganzoo
from ganzoo import Recipe
from ganzoo.training.loop import train

FEW_STEPS = ["train.steps=3", "train.log_every=1", "train.sample_every=3",
             "train.checkpoint_every=2", "train.sample_count=4"]


def test_dcgan_digits_recipe_trains(tmp_path):
    recipe = Recipe.from_toml(RECIPES / "dcgan_digits.toml", FEW_STEPS)
    result = train(recipe, tmp_path / "run", progress=False)
    assert result.status == "finished"
    assert ganzoo.load(str(tmp_path / "run")).generate(2, seed=0).shape == (2, 1, 32, 32)


def test_dcgan_celeba_recipe_trains_on_a_folder_in_the_celeba_layout(tmp_path):
    root = data_fixtures.make_celeba(tmp_path / "data", n=12)
    recipe = Recipe.from_toml(RECIPES / "dcgan_celeba.toml", [
        *FEW_STEPS, f"data.root='{root}'", "train.batch_size=2", "train.num_workers=0",
        "model.gen_width=4", "model.disc_width=4"])
    result = train(recipe, tmp_path / "run", progress=False)
    assert result.status == "finished"
    images = ganzoo.load(str(tmp_path / "run")).generate(2, seed=0)
    assert images.shape == (2, 3, 64, 64)


def test_dcgan_photos_recipe_trains_on_the_embedded_photo_crops(tmp_path):
    recipe = Recipe.from_toml(RECIPES / "dcgan_photos.toml", [*FEW_STEPS, "train.batch_size=4"])
    result = train(recipe, tmp_path / "run", progress=False)
    assert result.status == "finished"
    assert ganzoo.load(str(tmp_path / "run")).generate(2, seed=0).shape == (2, 3, 32, 32)
