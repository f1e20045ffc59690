"""Recipes fail before any work starts, naming the file, the TOML path and the closest valid key."""

from __future__ import annotations

import copy

import pytest
from conftest import RECIPES, TINY_DIGITS, write_recipe

from ganzoo import Recipe, RecipeError, TrainConfig
from ganzoo.config.recipe import parse_override


def recipe_with(tmp_path, change) -> str:
    data = copy.deepcopy(TINY_DIGITS)
    change(data)
    return write_recipe(tmp_path / "r.toml", data)


def error_for(tmp_path, change, *overrides) -> str:
    path = recipe_with(tmp_path, change)
    with pytest.raises(RecipeError) as info:
        Recipe.from_toml(path, overrides)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    return message


@pytest.mark.parametrize("path", sorted(RECIPES.glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_recipe_validates_and_round_trips(path, tmp_path):
    recipe = Recipe.from_toml(path)
    resolved = tmp_path / "resolved.toml"
    resolved.write_text(recipe.to_toml())
    again = Recipe.from_toml(resolved)
    assert again.to_dict() == recipe.to_dict()
    assert type(again.model) is type(recipe.model) and again.model == recipe.model


def test_sections_are_structured_into_their_own_config_classes(tiny_recipe):
    recipe = Recipe.from_toml(tiny_recipe)
    assert type(recipe.model).__name__ == "DCGANConfig" and recipe.model.z_dim == 8
    assert isinstance(recipe.train, TrainConfig) and recipe.train.loss == "non-saturating"
    assert type(recipe.data.config).__name__ == "DigitsConfig"
    assert recipe.name == "tiny" and recipe.trainer == "gan"


def test_misspelt_key_names_section_and_closest_key(tmp_path):
    message = error_for(tmp_path, lambda d: d["model"].update(gen_widht=8))
    assert "[model] has no key 'gen_widht' (did you mean 'gen_width'?)" in message


def test_misspelt_top_level_key(tmp_path):
    message = error_for(tmp_path, lambda d: d.update(sed=1))
    assert "unknown top-level key 'sed' (did you mean 'seed'?)" in message


@pytest.mark.parametrize("section,key,value,expect", [
    ("train", "batch_size", "64", "[train] batch_size: expected an integer, got '64' (a string)"),
    ("train", "steps", 2.5, "[train] steps: expected an integer, got 2.5 (a float)"),
    ("train", "channels_last", 1, "[train] channels_last: expected true, false or \"auto\", got 1"),
    ("model", "z_dim", True, "[model] z_dim: expected an integer, got True (a boolean)"),
    ("model", "resolution", 48, "[model] resolution:"),
    ("train", "amp", "fp8", "[train] amp:"),
])
def test_wrong_types_and_values_name_the_key(tmp_path, section, key, value, expect):
    message = error_for(tmp_path, lambda d: d[section].update({key: value}))
    assert expect in message


@pytest.mark.parametrize("section,key,value,expect", [
    ("train", "batch_size", 0, "'batch_size' must be >= 1: 0"),
    ("train", "steps", -5, "'steps' must be >= 1: -5"),
    ("model", "z_dim", 0, "'z_dim' must be >= 1: 0"),
    ("train", "ema", 1.5, "'ema' must be < 1.0: 1.5"),
])
def test_absurd_values_are_refused(tmp_path, section, key, value, expect):
    assert expect in error_for(tmp_path, lambda d: d[section].update({key: value}))


@pytest.mark.parametrize("change,expect", [
    (lambda d: d.update(architecture="dcgn"),
     "architecture = 'dcgn': no architecture named 'dcgn'. Did you mean 'dcgan'?"),
    (lambda d: d["data"].update(dataset="digit"),
     "[data] dataset = 'digit': no dataset named 'digit'. Did you mean 'digits'?"),
    (lambda d: d["train"].update(loss="hinj"),
     "[train] loss = 'hinj': no loss named 'hinj'. Did you mean 'hinge'?"),
    (lambda d: d["train"].update(loss="l1"), "[train] loss = 'l1' is a reconstruction loss"),
    (lambda d: d.update(trainer="gann"), "trainer = 'gann': no trainer named 'gann'"),
    (lambda d: d.pop("architecture"), "missing required key 'architecture'"),
    (lambda d: d["data"].pop("dataset"), "[data] is missing required key 'dataset'"),
    (lambda d: d.update(model=3), "'model' must be a table"),
])
def test_unknown_registry_names_and_missing_sections(tmp_path, change, expect):
    assert expect in error_for(tmp_path, change)


def test_base_inheritance_merges_tables_and_overrides(tmp_path):
    write_recipe(tmp_path / "base.toml", TINY_DIGITS)
    (tmp_path / "child.toml").write_text('base = "base.toml"\nseed = 9\n[train]\nsteps = 4\n')
    recipe = Recipe.from_toml(tmp_path / "child.toml")
    assert recipe.seed == 9 and recipe.train.steps == 4
    assert recipe.train.batch_size == TINY_DIGITS["train"]["batch_size"]  # inherited
    assert recipe.model.z_dim == 8 and recipe.name == "child"


def test_base_loops_and_missing_bases_are_errors(tmp_path):
    (tmp_path / "a.toml").write_text('base = "b.toml"\n')
    (tmp_path / "b.toml").write_text('base = "a.toml"\n')
    with pytest.raises(RecipeError, match="inherit from each other in a loop"):
        Recipe.from_toml(tmp_path / "a.toml")
    (tmp_path / "c.toml").write_text('base = "nope.toml"\n')
    with pytest.raises(RecipeError, match="nope.toml: no such recipe file"):
        Recipe.from_toml(tmp_path / "c.toml")


def test_invalid_toml_names_the_file(tmp_path):
    (tmp_path / "bad.toml").write_text("[train\nsteps = 3")
    with pytest.raises(RecipeError, match="bad.toml: invalid TOML"):
        Recipe.from_toml(tmp_path / "bad.toml")


def test_overrides_parse_toml_values_and_are_validated(tiny_recipe):
    recipe = Recipe.from_toml(tiny_recipe, ["train.steps=3", "train.loss=hinge",
                                            "train.betas=[0.0, 0.9]", "seed=7"])
    assert (recipe.train.steps, recipe.train.loss, recipe.train.betas, recipe.seed) == (
        3, "hinge", (0.0, 0.9), 7)
    with pytest.raises(RecipeError, match=r"\[train\] has no key 'stepz' \(did you mean 'steps'"):
        Recipe.from_toml(tiny_recipe, ["train.stepz=3"])
    with pytest.raises(RecipeError, match="expected KEY.PATH=VALUE"):
        Recipe.from_toml(tiny_recipe, ["train.steps"])
    with pytest.raises(RecipeError, match="seed is a value, not a table"):
        Recipe.from_toml(tiny_recipe, ["seed.x=1"])


def test_parse_override_keeps_bare_words_as_strings():
    assert parse_override("train.device=cpu") == (["train", "device"], "cpu")
    assert parse_override("train.ema=0.99") == (["train", "ema"], 0.99)
    assert parse_override("train.channels_last=true") == (["train", "channels_last"], True)
