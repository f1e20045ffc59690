"""Random edits of every shipped recipe end in a Recipe or one clean RecipeError, never a crash."""

from __future__ import annotations

import copy
import math

import pytest
from conftest import RECIPES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ganzoo import Recipe, RecipeError
from ganzoo.config.recipe import load_raw

ABSURD = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63),
    st.sampled_from([0, -1, -64, 10**9, 2**40, 1.5, -0.5, math.inf, -math.inf, math.nan]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.booleans(),
    st.lists(st.integers(-3, 3), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def paths(raw, prefix=()):
    for key, value in raw.items():
        yield (*prefix, key)
        if isinstance(value, dict):
            yield from paths(value, (*prefix, key))


@st.composite
def edited(draw, raw):
    raw = copy.deepcopy(raw)
    for _ in range(draw(st.integers(1, 3))):
        keys = list(paths(raw))
        action = draw(st.sampled_from(["set", "delete", "add"]))
        path = draw(st.sampled_from(keys)) if keys else ("x",)
        node = raw
        for key in path[:-1]:
            node = node[key]
        if action == "delete":
            node.pop(path[-1], None)
        elif action == "add":
            node[draw(st.text(min_size=1, max_size=8))] = draw(ABSURD)
        else:
            node[path[-1]] = draw(ABSURD)
    return raw


@pytest.mark.parametrize("path", sorted(RECIPES.glob("*.toml")), ids=lambda p: p.name)
def test_random_edits_give_a_recipe_or_one_recipe_error(path):
    base = load_raw(path)

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(edited(base))
    def check(raw):
        try:
            recipe = Recipe.from_dict(raw, source=str(path))
        except RecipeError as exc:
            message = str(exc)
            assert message.startswith(f"{path}: ") and "Traceback" not in message
            return
        # Whatever was accepted is sane: positive sizes, finite rates.
        train = recipe.train
        assert train.steps >= 1 and train.batch_size >= 1
        assert math.isfinite(train.lr_gen) and train.lr_gen > 0
        assert all(math.isfinite(b) and 0 <= b < 1 for b in train.betas)

    check()


@pytest.mark.parametrize("path", sorted(RECIPES.glob("*.toml")), ids=lambda p: p.name)
def test_every_numeric_field_refuses_absurd_values(path):
    raw = load_raw(path)
    recipe = Recipe.from_dict(raw, source=str(path))
    sections = {"data": recipe.data.config, "model": recipe.model, "train": recipe.train}
    import attrs

    for section, config in sections.items():
        for field in attrs.fields(type(config)):
            value = getattr(config, field.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            for absurd in (math.inf, -math.inf, math.nan, -1, 0, 10**12):
                if isinstance(value, int) and isinstance(absurd, float):
                    continue
                edited_raw = copy.deepcopy(raw)
                edited_raw.setdefault(section, {})[field.name] = absurd
                try:
                    accepted = Recipe.from_dict(edited_raw, source=str(path))
                except RecipeError as exc:
                    assert str(exc).startswith(f"{path}: "), str(exc)
                    continue
                got = getattr(accepted.data.config if section == "data"
                              else getattr(accepted, section), field.name)
                assert math.isfinite(got), f"[{section}] {field.name} = {absurd} was accepted"
                assert absurd not in (-1,) or got >= 0 or field.name in ("seed",), (
                    f"[{section}] {field.name} = -1 was accepted")
