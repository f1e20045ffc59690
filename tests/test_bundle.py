"""Bundles: bit-exact round trips, model cards, partial loading, and refusal of bad or hostile
folders with one-line errors that name the file and the fix."""

from __future__ import annotations

import json
import os

import pytest
import torch
from conftest import TINY_DIGITS, write_recipe

import ganzoo
from ganzoo import CheckpointError, GANModel
from ganzoo.hub.bundle import load_bundle, state_tensors, write_bundle


@pytest.fixture
def model():
    torch.manual_seed(0)
    return ganzoo.create("dcgan", resolution=16, channels=1, z_dim=8, gen_width=4, disc_width=4)


@pytest.fixture
def bundle(model, tmp_path):
    folder = tmp_path / "bundle"
    model.save_pretrained(folder)
    return folder


def edit_index(folder, **changes):
    meta = json.loads((folder / "config.json").read_text())
    meta.update(changes)
    (folder / "config.json").write_text(json.dumps(meta))


def test_round_trip_is_bit_exact_and_the_config_reloads(model, bundle):
    loaded = GANModel.from_pretrained(str(bundle), components="all")
    assert type(loaded) is type(model) and loaded.config == model.config
    assert type(loaded.config) is type(model.config)
    original, reloaded = state_tensors(model), state_tensors(loaded)
    assert original.keys() == reloaded.keys()
    assert all(torch.equal(original[k], reloaded[k]) for k in original)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model.generate(4, seed=2), loaded.generate(4, seed=2))


def test_layout_index_and_model_card(bundle):
    index = json.loads((bundle / "config.json").read_text())
    assert index["format"] == "ganzoo-bundle" and index["architecture"] == "dcgan"
    assert index["components"] == {"gen": "gen"}
    assert index["training_components"] == {"disc": "training/disc"}
    assert index["config"]["z_dim"] == 8 and index["ganzoo_version"] == ganzoo.__version__
    assert index["plugin"]["distribution"] == "ganzoo"
    component = json.loads((bundle / "gen" / "config.json").read_text())
    assert component["architecture"] == "dcgan" and component["component"] == "gen"
    assert (bundle / "training" / "disc" / "model.safetensors").is_file()
    card = (bundle / "README.md").read_text()
    assert "library_name: ganzoo" in card and "- dcgan" in card and "license: other" in card


def test_inference_needs_only_the_generator_side(bundle):
    import shutil

    shutil.rmtree(bundle / "training")
    model = ganzoo.load(str(bundle))
    assert not model.training and model.generate(1, seed=0).shape == (1, 1, 16, 16)
    with pytest.raises(CheckpointError, match="training/disc/model.safetensors: missing"):
        ganzoo.load(str(bundle), components="all")


def test_a_run_directory_is_a_bundle_with_recipe_metrics_and_sample(tmp_path):
    recipe = write_recipe(tmp_path / "tiny.toml", TINY_DIGITS)
    run_dir = ganzoo.train(str(recipe), str(tmp_path / "run"), progress=False).run_dir
    weights = run_dir / "weights"
    assert (weights / "sample.png").read_bytes() == (run_dir / "samples/final.png").read_bytes()
    assert (weights / "training/recipe.toml").read_text() == (run_dir / "recipe.toml").read_text()
    assert (weights / "training/checkpoint.safetensors").is_file()
    card = (weights / "README.md").read_text()
    assert "datasets:\n- digits" in card and "![Samples](sample.png)" in card
    assert "[train]" in card and "| loss_d |" in card
    assert ganzoo.load(str(run_dir)).generate(2, seed=0).shape == (2, 1, 16, 16)


@pytest.mark.parametrize("cut", [0, 7, 100, -50])
def test_truncated_weights_name_the_file(bundle, cut):
    path = bundle / "gen" / "model.safetensors"
    path.write_bytes(path.read_bytes()[:cut])
    with pytest.raises(CheckpointError, match=f"{path}: not a readable safetensors file"):
        ganzoo.load(str(bundle))


def test_unknown_architecture_names_the_package_to_install(bundle):
    edit_index(bundle, architecture="biggan9",
               plugin={"name": "biggan9", "distribution": "ganzoo-biggan", "version": "1.0"})
    # (A close installed name may be suggested in between.)
    with pytest.raises(CheckpointError, match=r"architecture 'biggan9' is not installed"
                                              r"( \(did you mean '\w+'\?\))?; "
                                              r"install ganzoo-biggan \(`pip install"):
        ganzoo.load(str(bundle))


def test_config_that_does_not_fit_the_tensors(bundle):
    meta = json.loads((bundle / "config.json").read_text())
    edit_index(bundle, config={**meta["config"], "gen_width": 8})
    with pytest.raises(CheckpointError, match="gen/model.safetensors: weights do not fit the "
                                              "config: .*shape mismatch"):
        ganzoo.load(str(bundle))


def test_bad_config_values_newer_formats_and_non_bundles(bundle, tmp_path):
    meta = json.loads((bundle / "config.json").read_text())
    edit_index(bundle, config={**meta["config"], "z_dim": "eight"})
    with pytest.raises(CheckpointError, match="z_dim: expected an integer"):
        ganzoo.load(str(bundle))
    edit_index(bundle, config=meta["config"], format_version=99)
    with pytest.raises(CheckpointError, match="format 99 is newer than this ganzoo"):
        ganzoo.load(str(bundle))
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(CheckpointError, match="not a ganzoo bundle index"):
        load_bundle(tmp_path / "plain")


def test_pickles_are_refused_with_the_reason(bundle):
    (bundle / "gen" / "model.safetensors").unlink()
    (bundle / "gen" / "pytorch_model.bin").write_bytes(b"\x80\x04 would run code")
    with pytest.raises(CheckpointError, match="found pytorch_model.bin instead.*unpickling can "
                                              "run arbitrary code"):
        ganzoo.load(str(bundle))


@pytest.mark.parametrize("path", ["../outside", "/etc", "gen/../../x", "link"])
def test_component_paths_must_stay_inside_the_bundle(bundle, tmp_path, path):
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, bundle / "link")
    edit_index(bundle, components={"gen": path})
    with pytest.raises(CheckpointError, match=f"component path '{path}' (leaves|points outside)"):
        ganzoo.load(str(bundle))


def test_a_missing_component_is_named(bundle):
    edit_index(bundle, components={})
    with pytest.raises(CheckpointError, match="lacks component 'gen', which inference needs"):
        ganzoo.load(str(bundle))


def test_write_bundle_inference_only(model, tmp_path):
    folder = write_bundle(model, tmp_path / "b", components="inference")
    assert not (folder / "training").exists()
    assert json.loads((folder / "config.json").read_text())["training_components"] == {}


def test_load_explains_unfinished_runs_unknown_names_and_wrong_paths(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "recipe.toml").write_text("")
    with pytest.raises(CheckpointError, match="no final weights yet.*--resume"):
        ganzoo.load(str(tmp_path / "run"))
    with pytest.raises(CheckpointError, match="no such run directory or bundle folder"):
        ganzoo.load(str(tmp_path / "nowhere" / "x"))
    for local in ("./nowhere", "../a/b", "~/x"):  # never mistaken for a Hub repo id
        with pytest.raises(CheckpointError, match="no such run directory or bundle folder"):
            ganzoo.load(local)
    with pytest.raises(ganzoo.UnknownNameError, match="no weights named 'dcgan-digit'. Did you "
                                                      "mean 'dcgan-digits'"):
        ganzoo.load("dcgan-digit")


def test_a_weights_file_symlinked_out_of_the_bundle_is_refused(bundle, tmp_path):
    outside = tmp_path / "elsewhere.safetensors"
    (bundle / "gen" / "model.safetensors").rename(outside)
    os.symlink(outside, bundle / "gen" / "model.safetensors")
    with pytest.raises(CheckpointError, match="'gen/model.safetensors' points outside the bundle"):
        ganzoo.load(str(bundle))
