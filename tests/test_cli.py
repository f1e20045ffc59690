"""The CLI: listings with --json, show, sample, dry runs, and user mistakes as one-line errors."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from ganzoo import Recipe
from ganzoo.training.loop import train


def test_list_filters_and_json(cli):
    result = cli("list", "losses", "*gan*")
    assert result.exit_code == 0
    assert [line.split()[0] for line in result.output.splitlines()] == ["lsgan", "wgan"]
    data = {e["name"]: e for e in json.loads(cli("list", "architectures", "--json").output)}
    assert data["dcgan"]["config_cls"].endswith(":DCGANConfig")
    everything = json.loads(cli("list", "--json").output)
    assert {"architectures", "losses", "datasets", "trainers"} <= set(everything)


def test_show_describes_an_entry_with_its_config_defaults(cli):
    result = cli("show", "dcgan", "--json")
    info = json.loads(result.output)["architectures"]
    assert info["paper"].startswith("https://arxiv.org/") and info["config"]["z_dim"] == 100
    result = cli("show", "dcgann")
    assert result.exit_code == 1
    assert "ganzoo: nothing registered is named 'dcgann'. Did you mean 'dcgan'?" in result.output


def test_dry_run_prints_the_resolved_recipe(cli, tiny_recipe):
    result = cli("run", tiny_recipe, "--dry-run", "--set", "train.steps=3")
    assert result.exit_code == 0
    assert "steps = 3" in result.output and 'loss = "non-saturating"' in result.output


@pytest.mark.parametrize("args,expect", [
    (["--set", "model.z_dm=3"], "[model] has no key 'z_dm' (did you mean 'z_dim'?)"),
    (["--set", "train.batch_size='8'"], "[train] batch_size: expected an integer"),
    (["--set", "architecture=dcgn"], "no architecture named 'dcgn'. Did you mean 'dcgan'?"),
    (["--set", "train.loss=hinje"], "no loss named 'hinje'. Did you mean 'hinge'?"),
])
def test_recipe_mistakes_are_one_line_errors(cli, tiny_recipe, args, expect):
    result = cli("run", tiny_recipe, "--dry-run", *args)
    assert result.exit_code == 1
    assert result.output.startswith(f"ganzoo: {tiny_recipe}: ") and expect in result.output
    assert "Traceback" not in result.output


def test_usage_errors(cli, tiny_recipe, tmp_path):
    assert cli("run").exit_code == 2
    assert cli("run", tiny_recipe, "--resume", tmp_path).exit_code == 2
    result = cli("run", tmp_path / "missing.toml")
    assert result.exit_code == 1 and "missing.toml: no such recipe file" in result.output


def test_sample_draws_a_grid_from_a_run(cli, tiny_recipe, tmp_path):
    run_dir = tmp_path / "run"
    train(Recipe.from_toml(tiny_recipe, ["train.steps=2"]), run_dir, progress=False)
    out = tmp_path / "g.png"
    result = cli("sample", run_dir, "-n", "16", "-o", out, "--seed", "4")
    assert result.exit_code == 0, result.output
    image = Image.open(out)
    assert image.size == (4 * 18 + 2, 4 * 18 + 2)  # 4x4 grid of 16px tiles, 2px padding
    again = tmp_path / "h.png"
    cli("sample", run_dir, "-n", "16", "-o", again, "--seed", "4")
    assert out.read_bytes() == again.read_bytes()
    result = cli("sample", tmp_path / "nope", "-o", out)
    assert result.exit_code == 1 and "no such run directory or bundle folder" in result.output


def test_generate_is_sample_and_refuses_options_the_model_cannot_use(cli, tmp_path):
    out = tmp_path / "g.png"
    assert cli("generate", "dcgan-digits", "-n", "4", "-o", out).exit_code == 0
    assert Image.open(out).size == (2 * 34 + 2, 2 * 34 + 2)  # 2x2 grid of 32px digits
    text = cli("generate", "dcgan-digits", "--text", "a thick seven", "-o", out)
    assert text.exit_code == 2
    assert "is an unconditional dcgan model; --text needs a text-to-image one" in text.output
    both = cli("generate", "dcgan-digits", "--text", "a seven", "--labels", "7", "-o", out)
    assert both.exit_code == 2 and "--labels and --text cannot be combined" in both.output


@pytest.mark.parametrize("name,write,expect", [
    ("e.npy", lambda p: __import__("numpy").save(p, __import__("numpy").zeros(4)),
     "embeddings must have shape [N, D] with N >= 1, got [4]"),
    ("e.npy", lambda p: __import__("numpy").save(p, __import__("numpy").array([{"a": 1}])),
     "not a plain numpy array"),
    ("e.safetensors", lambda p: p.write_bytes(b"\x10\x00garbage"),
     "not a readable safetensors file"),
    ("e.txt", lambda p: p.write_text("1 2 3"), "expected a .npy or .safetensors file"),
])
def test_embeddings_files_are_checked(tmp_path, name, write, expect):
    import click

    from ganzoo import DataError
    from ganzoo.apps.cli_models import _read_embeddings

    path = tmp_path / name
    write(path)
    with pytest.raises((DataError, click.BadParameter)) as info:
        _read_embeddings(path)
    message = info.value.format_message() if isinstance(info.value, click.ClickException) \
        else str(info.value)
    assert expect in message


def test_embeddings_read_from_npy_and_safetensors(tmp_path):
    import numpy as np
    import torch
    from safetensors.torch import save_file

    from ganzoo.apps.cli_models import _read_embeddings

    values = np.arange(6, dtype=np.float64).reshape(2, 3)
    np.save(tmp_path / "e.npy", values)
    save_file({"emb": torch.tensor(values)}, str(tmp_path / "e.safetensors"))
    for name in ("e.npy", "e.safetensors"):
        tensor = _read_embeddings(tmp_path / name)
        assert tensor.dtype == torch.float32 and tensor.tolist() == values.tolist()
