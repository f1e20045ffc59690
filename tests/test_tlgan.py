"""The TL-GAN plugin: feature axes on the shipped digits generator, the artifact, the CLI."""

from __future__ import annotations

import json

import pytest
import torch

import ganzoo
from ganzoo.editing.measure import thickness
from ganzoo.base.errors import UnknownNameError
from ganzoo_tlgan.axes import Axes, AxesError, fit_axes, gram_schmidt

ALPHAS = torch.linspace(-2, 2, 5)


@pytest.fixture(scope="module")
def digits_gen():
    return ganzoo.load("dcgan-digits")


@pytest.fixture(scope="module")
def axes(digits_gen):
    """Axes fitted on 400 samples: tiny, but enough for thickness."""
    return fit_axes(digits_gen, ["thickness", "slant", "class"], samples=400, seed=0,
                    generator_name="dcgan-digits")


def _spearman(x: torch.Tensor, y: torch.Tensor) -> float:
    rx, ry = x.argsort().argsort().double(), y.argsort().argsort().double()
    rx, ry = rx - rx.mean(), ry - ry.mean()
    return float((rx @ ry) / (rx.norm() * ry.norm()))


def test_the_thickness_axis_thickens_the_strokes_of_most_seeds(digits_gen, axes):
    z = torch.cat([digits_gen.sample_latent(1, seed=1000 + s) for s in range(24)])
    direction = axes.direction("thickness", lock=["class"])
    walk = z.unsqueeze(0) + ALPHAS.view(-1, 1, 1, 1, 1) * direction.view(1, 1, -1, 1, 1)
    with torch.no_grad():
        measured = thickness(digits_gen.generate(0, z=walk.reshape(-1, 64, 1, 1))).view(5, -1)
    rho = torch.tensor([_spearman(ALPHAS, measured[:, i]) for i in range(measured.shape[1])])
    assert (rho >= 0.9).float().mean() >= 0.7, rho
    assert (measured[-1] > measured[0]).float().mean() >= 0.9


def test_locked_axes_are_orthogonal_to_the_moved_direction(axes):
    locked = axes.locked(["class"])
    assert locked.shape == (10, 64)
    direction = axes.direction("thickness", lock=["class", "slant"])
    assert direction.norm() == pytest.approx(1.0, abs=1e-5)
    for row in torch.cat([locked, axes.locked(["slant"])]):
        assert abs(float(direction @ row)) < 1e-5
    basis = gram_schmidt(torch.randn(4, 10))
    assert torch.allclose(basis @ basis.T, torch.eye(4), atol=1e-5)
    # Locking the moved axis's own feature is ignored; moving a group needs one member.
    assert torch.allclose(axes.direction("class:3", lock=["class"]), axes.axis("class:3"))
    with pytest.raises(AxesError, match="'class' has 10 axes; move one of them: class:0"):
        axes.direction("class")


def test_the_artifact_round_trips_bit_exactly_and_names_its_generator(axes, tmp_path):
    axes.save(tmp_path / "axes")
    loaded = Axes.load(tmp_path / "axes")
    for field in ("vectors", "weights", "bias"):
        assert torch.equal(getattr(loaded, field), getattr(axes, field))
    assert loaded.names == axes.names and loaded.config() == axes.config()
    config = json.loads((tmp_path / "axes" / "config.json").read_text())
    assert config["format"] == "ganzoo-axes"
    assert config["generator"]["name"] == "dcgan-digits"
    assert config["generator"]["architecture"] == "dcgan" and config["generator"]["z_dim"] == 64
    assert [f["name"] for f in config["features"]] == ["thickness", "slant", "class"]
    assert {"r2"} <= set(config["features"][0]) and "accuracy" in config["features"][2]
    loaded.save(tmp_path / "again")
    assert ((tmp_path / "again" / "axes.safetensors").read_bytes()
            == (tmp_path / "axes" / "axes.safetensors").read_bytes())


def test_bad_names_and_generators_are_one_line_errors(axes, digits_gen):
    with pytest.raises(UnknownNameError) as info:
        fit_axes(digits_gen, ["thicknes"], samples=40)
    assert str(info.value) == ("unknown feature 'thicknes' (did you mean 'thickness'?); "
                               "accepted: class, size, slant, thickness")
    with pytest.raises(UnknownNameError, match="unknown axis 'width'; accepted: class:0"):
        axes.edit(torch.zeros(1, 64, 1, 1), {"width": 1.0})
    with pytest.raises(UnknownNameError, match="unknown axis or feature to lock 'colour'"):
        axes.direction("thickness", lock=["colour"])
    other = ganzoo.create("dcgan", resolution=32, channels=1, z_dim=64, gen_width=32)
    with pytest.raises(AxesError) as info:
        axes.check_generator(other, "runs/other")
    assert "fitted for generator 'dcgan-digits'" in str(info.value)
    assert "runs/other" in str(info.value) and "\n" not in str(info.value)
    axes.check_generator(digits_gen)  # the right one passes


def test_the_plugin_registers_editors_with_their_edit_verbs():
    assert {"feature-axes", "interpolation", "projection", "attribute-vector",
            "latent-arithmetic"} <= set(ganzoo.list_names("editors"))
    from ganzoo.editing.command import verbs

    assert {verb: editor for verb, (editor, _) in verbs().items()} == {
        "fit": "feature-axes", "apply": "feature-axes", "interpolate": "interpolation",
        "project": "projection", "attribute": "attribute-vector", "brush": "igan-brush",
        "sphere": "latent-sphere"}
    assert "edit" not in ganzoo.list_names("commands")  # the core owns `ganzoo edit`


# -- the command line ---------------------------------------------------------------------------
def test_cli_fit_then_apply(cli, tmp_path):
    out = tmp_path / "axes"
    result = cli("edit", "fit", "dcgan-digits", "--features", "thickness,class", "-n", "200",
                 "--out", out)
    assert result.exit_code == 0, result.output
    assert "thickness" in result.output and (out / "axes.safetensors").is_file()
    grid = tmp_path / "grid.png"
    result = cli("edit", "apply", "dcgan-digits", out, "--seed", "3,4", "--move", "thickness=+2",
                 "--lock", "class", "--steps", "3", "-o", grid)
    assert result.exit_code == 0, result.output
    from PIL import Image

    assert Image.open(grid).size == (3 * 34 + 2, 2 * 34 + 2)


def test_cli_errors_name_the_value_and_what_is_accepted(cli, tmp_path, axes):
    axes.save(tmp_path / "axes")
    result = one_line_error(cli, "edit", "fit", "dcgan-digits", "--features", "thikness",
                           "--out", tmp_path / "x")
    assert result.exit_code == 1
    assert result.stderr_line.startswith("ganzoo: unknown feature 'thikness'")
    assert "accepted: class, size, slant, thickness" in result.stderr_line
    result = one_line_error(cli, "edit", "apply", "dcgan-digits", tmp_path / "axes",
                           "--move", "width=1")
    assert result.exit_code == 1 and "unknown axis 'width'" in result.stderr_line
    result = one_line_error(cli, "edit", "apply", "dcgan-digits", tmp_path / "axes",
                           "--move", "thickness")
    assert result.exit_code == 1 and "expected NAME=AMOUNT" in result.stderr_line
    other = ganzoo.create("dcgan", resolution=32, channels=1, z_dim=64, gen_width=32)
    other.save_pretrained(tmp_path / "other")
    result = one_line_error(cli, "edit", "apply", tmp_path / "other", tmp_path / "axes",
                           "--move", "thickness=1")
    assert result.exit_code == 1 and "fitted for generator 'dcgan-digits'" in result.stderr_line


def one_line_error(cli, *args):
    """Run ``ganzoo ARGS``; check it printed exactly one line; return exit code and line."""
    from types import SimpleNamespace

    result = cli(*args)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return SimpleNamespace(exit_code=result.exit_code, stderr_line=lines[0])


def test_cli_interpolate_and_project(cli, tmp_path):
    result = cli("edit", "interpolate", "dcgan-digits", "--seeds", "0,1,2", "--steps", "4",
                 "--method", "linear", "-o", tmp_path / "interp.png")
    assert result.exit_code == 0, result.output and (tmp_path / "interp.png").is_file()
    from ganzoo.data.configs import DigitsConfig
    from ganzoo.data.digits import build
    from ganzoo.base.images import save_grid

    real = build(DigitsConfig(resolution=32), "test").images[:1]
    save_grid(real, tmp_path / "digit.png", nrow=1)
    out = tmp_path / "proj"
    result = cli("edit", "project", "dcgan-digits", tmp_path / "digit.png", "--method", "hybrid",
                 "--encoder-steps", "3", "--steps", "5", "--restarts", "1", "-o", out)
    assert result.exit_code == 0, result.output
    assert {"latents.safetensors", "projection.png", "projection.json", "encoder.safetensors"
            } <= {p.name for p in out.iterdir()}
    fit_axes(ganzoo.load("dcgan-digits"), ["thickness"], samples=100).save(tmp_path / "axes")
    result = cli("edit", "project", "dcgan-digits", tmp_path / "digit.png", "--method", "encoder",
                 "--encoder", out / "encoder.safetensors", "--axes", tmp_path / "axes",
                 "--move", "thickness=2", "-o", tmp_path / "proj2")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "proj2" / "edited.png").is_file()


def test_axes_load_from_a_hub_repo(axes, tmp_path, monkeypatch):
    from hub_server import publish, start_hub, use_hub

    axes.save(tmp_path / "axes")
    files = {p.name: p.read_bytes() for p in (tmp_path / "axes").iterdir()}
    with start_hub(tmp_path / "mirrors") as server:
        use_hub(monkeypatch, server.endpoint, tmp_path / "hf-home")
        publish(tmp_path / "mirrors", "org/digit-axes", files)
        remote = Axes.load("org/digit-axes")
        assert torch.equal(remote.vectors, axes.vectors) and remote.names == axes.names
        with pytest.raises(ganzoo.CheckpointError, match="org/nothing: no such Hub repo"):
            Axes.load("org/nothing")


def test_push_to_hub_uploads_axes_that_load_back(axes, tmp_path, monkeypatch):
    from pathlib import Path

    from hub_server import publish, start_hub, use_hub

    calls = []

    with start_hub(tmp_path / "mirrors") as server:
        use_hub(monkeypatch, server.endpoint, tmp_path / "hf-home")

        class RecordingApi:  # olah is a read-only mirror: publish what would be uploaded
            def __init__(self, token=None):
                pass

            def create_repo(self, repo_id, **kwargs):
                calls.append(("create_repo", repo_id, kwargs))

            def upload_folder(self, *, folder_path, repo_id, commit_message):
                files = {p.name: p.read_bytes() for p in Path(folder_path).iterdir()}
                calls.append(("upload_folder", repo_id, sorted(files)))
                publish(tmp_path / "mirrors", repo_id, files, message=commit_message)
                return type("CommitInfo", (), {"commit_url": f"{repo_id}/commit/1"})()

        monkeypatch.setattr("huggingface_hub.HfApi", RecordingApi)
        assert axes.push_to_hub("org/pushed-axes", private=True) == "org/pushed-axes/commit/1"
        assert calls[0] == ("create_repo", "org/pushed-axes", {"private": True,
                                                               "exist_ok": True})
        assert calls[1] == ("upload_folder", "org/pushed-axes",
                            ["axes.safetensors", "config.json"])
        remote = Axes.load("org/pushed-axes")
        assert torch.equal(remote.vectors, axes.vectors) and remote.names == axes.names


BRIGHTNESS_PLUGIN = '''
import ganzoo

def brightness(images):
    return images.mean(dim=(1, 2, 3))

@ganzoo.hookimpl
def register_features(registry):
    registry.add(name="brightness", compute="brightness_plugin:brightness", kind="regressor",
                 summary="Mean pixel value.")
'''


def test_a_plugin_feature_extractor_gives_an_axis_that_moves_its_feature(tmp_path, monkeypatch,
                                                                           ganzoo_plugins):
    import torch

    import ganzoo
    from ganzoo_tlgan.axes import fit_axes

    (tmp_path / "brightness_plugin.py").write_text(BRIGHTNESS_PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    import brightness_plugin

    ganzoo_plugins.register_plugin(brightness_plugin, "brightness_plugin")
    assert "brightness" in ganzoo.list_names("features")
    model = ganzoo.load("dcgan-digits")
    axes = fit_axes(model, ["brightness"], samples=200)
    assert axes.features[0]["kind"] == "regression" and "r2" in axes.features[0]
    assert axes.fit["extractor"] == {"brightness": "brightness_plugin:brightness"}
    z = model.sample_latent(16, seed=7)
    with torch.no_grad():
        darker = model.generate(0, z=axes.edit(z, {"brightness": -2.0})).mean(dim=(1, 2, 3))
        lighter = model.generate(0, z=axes.edit(z, {"brightness": 2.0})).mean(dim=(1, 2, 3))
    assert (lighter > darker).float().mean() > 0.9 and (lighter - darker).mean() > 0.05


def test_an_unknown_feature_names_the_registered_ones(cli, tmp_path):
    result = cli("edit", "fit", "dcgan-digits", "--features", "thicknes", "--out", tmp_path / "ax")
    assert result.exit_code == 1
    assert "unknown feature 'thicknes' (did you mean 'thickness'?)" in result.output
    assert "accepted: class, size, slant, thickness" in result.output


def test_edit_attribute_from_example_folders(cli, tmp_path):
    import torch
    from PIL import Image
    from safetensors.torch import load_file

    from ganzoo.data.configs import DigitsConfig
    from ganzoo.data.digits import build
    from ganzoo.editing.measure import thickness
    from ganzoo.base.images import save_grid

    # Real digits split by measured thickness: the attribute is "thick".
    real = build(DigitsConfig(resolution=32), "test").images[:60]
    order = thickness(real).argsort()
    for name, picked in (("thin", order[:20]), ("thick", order[-20:])):
        (tmp_path / name).mkdir()
        for i, index in enumerate(picked.tolist()):
            save_grid(real[index:index + 1], tmp_path / name / f"{i}.png", padding=0)
    out = tmp_path / "thick.png"
    result = cli("edit", "attribute", "dcgan-digits", "--with", tmp_path / "thick", "--without",
                 tmp_path / "thin", "--seeds", "1,2,3,4", "--steps", "3", "--encoder-steps", "150",
                 "-o", out)
    assert result.exit_code == 0, result.output
    assert Image.open(out).size == (3 * 34 + 2, 4 * 34 + 2)  # 4 rows of 3 32px digits
    vector = load_file(tmp_path / "thick.safetensors")["vector"]
    assert vector.shape == (64,) and vector.norm() > 0
    # Adding the vector thickens the generated digits on average; removing it thins them.
    import ganzoo
    from ganzoo.editing.attributes import apply_attribute

    model = ganzoo.load("dcgan-digits")
    z = model.sample_latent(64, seed=11)
    with torch.no_grad():
        thick = thickness(model.generate(0, z=apply_attribute(z, vector, 1.5))).mean()
        thin = thickness(model.generate(0, z=apply_attribute(z, vector, -1.5))).mean()
    assert thick > thin
    empty = tmp_path / "empty"
    empty.mkdir()
    bad = cli("edit", "attribute", "dcgan-digits", "--with", empty, "--without", tmp_path / "thin",
              "-o", out)
    assert bad.exit_code == 1 and f"no images found in {empty}" in bad.output


def test_the_local_lock_holds_the_class_where_the_linear_lock_lets_it_cross():
    import torch

    import ganzoo
    from ganzoo.metrics.digits_classifier import predict
    from ganzoo_tlgan.axes import fit_axes

    model = ganzoo.load("dcgan-digits")
    axes = fit_axes(model, ["thickness", "class"], samples=600)
    z = torch.cat([model.sample_latent(1, seed=10_000 + s) for s in range(40)])
    with torch.no_grad():
        start = predict(model.generate(0, z=z)).argmax(1)

    def kept(edited):
        with torch.no_grad():
            return (predict(model.generate(0, z=edited)).argmax(1) == start).float().mean()

    linear = min(kept(axes.edit(z, {"thickness": a}, ["class"])) for a in (-2.0, 2.0))
    local = min(kept(axes.local_edit(model, z, {"thickness": a}, ["class"])) for a in (-2.0, 2.0))
    assert local >= 0.95 and local > linear
    # It still moves the feature, and without locks it is the linear edit.
    from ganzoo.editing.measure import thickness

    with torch.no_grad():
        thick = thickness(model.generate(0, z=axes.local_edit(model, z, {"thickness": 2.0},
                                                              ["class"])))
        thin = thickness(model.generate(0, z=axes.local_edit(model, z, {"thickness": -2.0},
                                                             ["class"])))
    assert (thick > thin).float().mean() > 0.9
    assert torch.equal(axes.local_edit(model, z, {"thickness": 1.0}), axes.edit(
        z, {"thickness": 1.0}))
    assert torch.equal(axes.local_edit(model, z, {"thickness": 0.0}, ["class"]), z)


def test_apply_with_the_local_lock_from_the_cli(cli, tmp_path):
    from PIL import Image

    assert cli("edit", "fit", "dcgan-digits", "--features", "thickness,class", "-n", "200",
               "--out", tmp_path / "axes").exit_code == 0
    result = cli("edit", "apply", "dcgan-digits", tmp_path / "axes", "--seed", "3,4", "--move",
                 "thickness=+2", "--lock", "class", "--local-lock", "--steps", "3", "-o",
                 tmp_path / "grid.png")
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "grid.png").size == (3 * 34 + 2, 2 * 34 + 2)
