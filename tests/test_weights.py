"""Weights folders: bit-exact round trip, and one-line errors for every way they can be wrong."""

from __future__ import annotations

import json

import pytest
import torch

import ganzoo
from ganzoo import CheckpointError
from ganzoo.weights import load_weights, save_weights, state_tensors


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = ganzoo.create("dcgan", resolution=16, channels=1, z_dim=8, gen_width=4, disc_width=4)
    return model, save_weights(model, tmp_path / "w")


def test_round_trip_is_bit_exact_and_the_config_reloads(saved):
    model, folder = saved
    loaded = load_weights(folder)
    assert loaded.config == model.config and type(loaded.config) is type(model.config)
    for key, value in state_tensors(model).items():
        assert torch.equal(value, state_tensors(loaded)[key])
    meta = json.loads((folder / "config.json").read_text())
    assert meta["components"] == ["gen", "disc"] and meta["ganzoo_version"] == ganzoo.__version__
    model.eval()
    with torch.no_grad():
        assert torch.equal(model.generate(4, seed=2), loaded.generate(4, seed=2))


@pytest.mark.parametrize("cut", [0, 7, 100, -50])
def test_truncated_weights_name_the_file(saved, cut):
    _, folder = saved
    path = folder / "model.safetensors"
    data = path.read_bytes()
    path.write_bytes(data[:cut] if cut >= 0 else data[:cut])
    with pytest.raises(CheckpointError, match=f"{path}: not a readable safetensors file"):
        load_weights(folder)


def test_unknown_architecture_says_a_plugin_may_be_missing(saved):
    _, folder = saved
    meta = json.loads((folder / "config.json").read_text())
    meta["architecture"] = "stylegan9"
    (folder / "config.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="architecture 'stylegan9' is not installed; install the plugin"):
        load_weights(folder)


def test_config_that_does_not_fit_the_tensors(saved):
    _, folder = saved
    meta = json.loads((folder / "config.json").read_text())
    meta["config"]["gen_width"] = 8
    (folder / "config.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="weights do not fit the config: .*shape mismatch"):
        load_weights(folder)


def test_bad_config_values_and_pickles_are_refused(saved):
    _, folder = saved
    meta = json.loads((folder / "config.json").read_text())
    meta["config"]["z_dim"] = "eight"
    (folder / "config.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="z_dim: expected an integer"):
        load_weights(folder)
    (folder / "model.safetensors").unlink()
    (folder / "pytorch_model.bin").write_bytes(b"not even a pickle")
    with pytest.raises(CheckpointError, match="safetensors only, because unpickling"):
        load_weights(folder)


def test_load_explains_an_unfinished_run_and_a_wrong_path(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "recipe.toml").write_text("")
    with pytest.raises(CheckpointError, match="no final weights yet.*--resume"):
        ganzoo.load(str(tmp_path / "run"))
    with pytest.raises(CheckpointError, match="no such run directory or weights folder"):
        ganzoo.load(str(tmp_path / "nowhere"))
