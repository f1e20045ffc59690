"""`ganzoo edit VERB`: the core runs any registered editor's command, a plugin's included."""

from __future__ import annotations

import numpy as np
from PIL import Image

from editor_plugin import BrightenPlugin, ClashPlugin, NotAClickCommand


def test_a_plugin_editor_runs_through_ganzoo_edit(ganzoo_plugins, cli, tmp_path):
    ganzoo_plugins.register_plugin(BrightenPlugin(), "brighten-plugin")
    plain, bright = tmp_path / "plain.png", tmp_path / "bright.png"
    assert cli("edit", "brighten", "dcgan-digits", "--amount", "0", "-o", plain).exit_code == 0
    result = cli("edit", "brighten", "dcgan-digits", "--amount", "0.5", "-o", bright)
    assert result.exit_code == 0, result.output
    assert np.asarray(Image.open(bright)).mean() > np.asarray(Image.open(plain)).mean() + 20
    # a single-verb editor also answers to its own name
    again = tmp_path / "again.png"
    assert cli("edit", "brightness", "dcgan-digits", "--amount", "0.5", "-o", again
               ).exit_code == 0
    assert again.read_bytes() == bright.read_bytes()
    listing = cli("edit", "--help").output
    assert "brighten" in listing and "[brightness] Shift a generator's images" in listing
    assert "fit" in listing  # the first-party TL-GAN verbs are listed beside it


def test_edit_mistakes_are_one_line(ganzoo_plugins, cli):
    unknown = cli("edit", "brigten")
    assert unknown.exit_code == 1
    assert unknown.output.startswith("ganzoo: no editor command named 'brigten'.")
    assert "`ganzoo edit --help` lists them (apply, attribute, brush, fit" in unknown.output
    no_command = cli("edit", "latent-arithmetic")
    assert no_command.exit_code == 1 and "editor 'latent-arithmetic'" in no_command.output
    assert "has no command; use it from Python" in no_command.output


def test_two_editors_claiming_one_verb_are_named(ganzoo_plugins, cli):
    ganzoo_plugins.register_plugin(ClashPlugin(), "clash-plugin")
    result = cli("edit", "fit", "dcgan-digits")
    assert result.exit_code == 1 and result.output.strip() == (
        "ganzoo: `ganzoo edit fit` is claimed by two editors: 'feature-axes' (tlgan) and "
        "'my-axes' (clash-plugin); rename one of the verbs")


def test_a_verb_that_is_not_a_click_command_is_one_line(ganzoo_plugins, cli):
    ganzoo_plugins.register_plugin(NotAClickCommand(), "raw-plugin")
    result = cli("edit", "raw")
    assert result.exit_code == 1 and result.output.strip() == (
        "ganzoo: editor command 'editor_plugin:brighten_images' is a function, not a click "
        "command (decorate it with @click.command())")
