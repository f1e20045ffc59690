"""Fuzzing the files ganzoo reads from elsewhere (issue #22): bundle ``config.json``, axes
``config.json``, checkpoint metadata and the CUB pickles. Whatever hypothesis writes, reading it
either works or raises a :class:`ganzoo.GanzooError` (one line at the CLI), never anything else.

Example counts are bounded so the whole file runs in well under a minute on two cores.
"""

from __future__ import annotations

import json
import pickle
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ganzoo
from ganzoo import GanzooError

FUZZ = settings(max_examples=20, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12)


def _edit(tree: dict, data) -> dict:
    """``tree`` with one value somewhere in it replaced, deleted, or a key added."""
    tree = json.loads(json.dumps(tree))
    node = tree
    while True:
        keys = sorted(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            break
        key = data.draw(st.sampled_from(keys))
        child = node[key]
        if isinstance(child, (dict, list)) and child and data.draw(st.booleans()):
            node = child
            continue
        action = data.draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "delete" and isinstance(node, dict):
            del node[key]
        elif action == "add" and isinstance(node, dict):
            node[data.draw(st.text(max_size=8))] = data.draw(json_values)
        else:
            node[key] = data.draw(json_values)
        break
    return tree


@pytest.fixture(scope="module")
def tiny_bundle(tmp_path_factory):
    from ganzoo.hub.bundle import write_bundle
    from ganzoo.testing import tiny_model

    return write_bundle(tiny_model("dcgan"), tmp_path_factory.mktemp("b") / "bundle",
                        components="inference")


@FUZZ
@given(data=st.data())
def test_fuzzed_bundle_config_json_loads_or_is_a_ganzoo_error(tiny_bundle, tmp_path, data,
                                                              monkeypatch):
    monkeypatch.setenv("GANZOO_MAX_MODEL_GIB", "0.05")  # a valid edit must not build a huge model
    folder = Path(tempfile.mkdtemp(dir=tmp_path)) / "b"
    shutil.copytree(tiny_bundle, folder)
    index = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps(_edit(index, data)))
    try:
        ganzoo.load(folder)
    except GanzooError as exc:
        assert "\n" not in str(exc).strip() or str(exc).count("\n") < 5, str(exc)


@pytest.fixture(scope="module")
def tiny_axes(tmp_path_factory):
    import torch
    from ganzoo_tlgan.axes import Axes

    axes = Axes(names=("thickness", "slant"), vectors=torch.eye(2, 8),
                weights=torch.ones(2, 8), bias=torch.zeros(2),
                features=({"name": "thickness"}, {"name": "slant"}),
                generator={"architecture": "dcgan", "z_dim": 8}, fit={"samples": 10})
    return axes.save(tmp_path_factory.mktemp("a") / "axes")


@FUZZ
@given(data=st.data())
def test_fuzzed_axes_config_json_loads_or_is_a_ganzoo_error(tiny_axes, tmp_path, data):
    from ganzoo_tlgan.axes import Axes

    folder = Path(tempfile.mkdtemp(dir=tmp_path)) / "a"
    shutil.copytree(tiny_axes, folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps(_edit(config, data)))
    try:
        axes = Axes.load(folder)
    except GanzooError:
        return
    axes.names, axes.feature_names  # what tools read first works on what was accepted


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    from conftest import TINY_DIGITS

    from ganzoo import Recipe
    from ganzoo.training.loop import train

    run = tmp_path_factory.mktemp("r") / "run"
    recipe = Recipe.from_dict({**TINY_DIGITS, "name": "tiny", "train": {
        **TINY_DIGITS["train"], "steps": 2, "checkpoint_every": 2}})
    train(recipe, run, progress=False)
    return run


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_fuzzed_checkpoint_metadata_resumes_or_is_one_line(trained_run, tmp_path, data):
    from click.testing import CliRunner
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    from ganzoo.apps.cli import cli

    run = Path(tempfile.mkdtemp(dir=tmp_path)) / "r"
    shutil.copytree(trained_run, run, ignore=shutil.ignore_patterns("weights"))
    path = run / "checkpoint.safetensors"
    with safe_open(str(path), framework="pt") as fh:
        meta = json.loads(fh.metadata()["ganzoo"])
    tensors = load_file(str(path))
    if data.draw(st.booleans()):
        meta = _edit(meta, data)
    else:  # a tensor of the checkpoint of the wrong dtype, shape, or gone
        key = data.draw(st.sampled_from(sorted(k for k in tensors if k.startswith(("rng", "opt")))))
        change = data.draw(st.sampled_from(["drop", "float", "short"]))
        if change == "drop":
            del tensors[key]
        elif change == "float":
            tensors[key] = tensors[key].float()
        else:
            tensors[key] = tensors[key].flatten()[:3].clone()
    save_file(tensors, str(path), metadata={"ganzoo": json.dumps(meta)})
    result = CliRunner().invoke(cli, ["run", "--resume", str(run), "-q"], catch_exceptions=False)
    if result.exit_code != 0:
        assert result.exit_code == 1 and result.output.startswith("ganzoo: "), result.output
        assert len(result.output.strip().splitlines()) == 1, result.output


class_infos = st.one_of(
    st.lists(st.integers(-5, 5) | st.floats() | st.text(max_size=3) | st.none()
             | st.integers(10**29, 10**31), max_size=6),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=3),
    st.lists(st.lists(st.integers(0, 3), max_size=3), max_size=4),  # ragged
    st.floats() | st.text(max_size=5),
)


@FUZZ
@given(classes=class_infos)
def test_fuzzed_cub_class_info_loads_or_is_a_data_error(tmp_path_factory, classes):
    from cub_fixtures import make_cub
    from ganzoo_stackgan import cub

    root = tmp_path_factory.getbasetemp() / "cub-fuzz"
    if not root.exists():
        make_cub(root, n_train=3, n_test=1)
    (root / "train" / "class_info.pickle").write_bytes(pickle.dumps(classes, protocol=2))
    try:
        _, labels, _ = cub._load_split(root, "train")
    except GanzooError as exc:
        assert str(exc).startswith(str(root / "train")), str(exc)
        return
    assert all(isinstance(c, int) and c >= 0 for c in labels)


@FUZZ
@given(value=st.one_of(st.lists(st.text(max_size=3), min_size=1, max_size=3),
                       st.lists(st.floats(), min_size=1, max_size=4)))
def test_fuzzed_cub_embeddings_load_or_are_a_data_error(tmp_path, value):
    from ganzoo_stackgan import cub

    path = tmp_path / "emb.pickle"
    path.write_bytes(pickle.dumps(np.array(value) if isinstance(value[0], float) else value,
                                  protocol=2))
    try:
        array = cub._load_embeddings(path, len(value))
    except GanzooError:
        return
    assert np.isfinite(array).all()


def _drop(key):
    return lambda meta, tensors: tensors.pop(key)


def _set(key, value):
    return lambda meta, tensors: meta.__setitem__(key, value)


def _groups(value):
    def edit(meta, tensors):
        for info in meta["optimizers"].values():
            info["param_groups"] = value
    return edit


CHECKPOINT_EDITS = {
    "no optimizers": lambda meta, tensors: meta.pop("optimizers"),
    "no rng.cpu": _drop("rng.cpu"),
    "rng.cpu of floats": lambda meta, tensors: tensors.__setitem__("rng.cpu",
                                                                   tensors["rng.cpu"].float()),
    "param_groups empty": _groups([]),
    "param_groups bad": _groups([{"lr": "fast"}]),
    "scalers garbage": _set("scalers", {"gen": [1, 2]}),
    "step -5": _set("step", -5),
    "step 10**30": _set("step", 10**30),
}


@pytest.mark.parametrize("edit", sorted(CHECKPOINT_EDITS))
def test_damaged_checkpoint_metadata_is_one_line_naming_the_file(trained_run, tmp_path, edit):
    from click.testing import CliRunner
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    from ganzoo.apps.cli import cli

    run = tmp_path / "run"
    shutil.copytree(trained_run, run, ignore=shutil.ignore_patterns("weights"))
    path = run / "checkpoint.safetensors"
    with safe_open(str(path), framework="pt") as fh:
        meta = json.loads(fh.metadata()["ganzoo"])
    tensors = load_file(str(path))
    CHECKPOINT_EDITS[edit](meta, tensors)
    save_file(tensors, str(path), metadata={"ganzoo": json.dumps(meta)})
    before = path.read_bytes()
    result = CliRunner().invoke(cli, ["run", "--resume", str(run), "-q"], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"ganzoo: {path}: "), result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert path.read_bytes() == before
