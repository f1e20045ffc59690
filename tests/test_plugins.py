"""Plugin loading and registries, exercised with real (temporary) installed distributions."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
from plugin_fixtures import install_fake, site  # noqa: F401 - site is a fixture

import ganzoo
import ganzoo.plugin.hookspecs as hookspecs
import ganzoo.plugin.manager as plugins
from ganzoo.base.errors import DuplicateNameError, PluginError, UnknownNameError


KITCHEN_SINK = '''
import ganzoo
from ganzoo.data.configs import DigitsConfig

@ganzoo.hookimpl
def register_architectures(registry):
    registry.add(name="sink-gan", config_cls=DigitsConfig, build="ganzoo_dcgan.networks:DCGAN",
                 trainer="gan", summary="test architecture")

@ganzoo.hookimpl
def register_losses(registry):
    registry.add(name="sink-l1", kind="reconstruction", fn="ganzoo.nn.losses:l1")

@ganzoo.hookimpl
def register_trainers(registry):
    registry.add(name="sink-trainer", step="ganzoo_dcgan.train:train_step")

@ganzoo.hookimpl
def register_datasets(registry):
    registry.add(name="sink-digits", config_cls=DigitsConfig, build="ganzoo.data.digits:build")

@ganzoo.hookimpl
def register_metrics(registry):
    registry.add(name="sink-metric", compute="ganzoo.nn.losses:l2")

@ganzoo.hookimpl
def register_weights(registry):
    registry.add(name="sink-weights", architecture="dcgan", source="org/repo@main")

@ganzoo.hookimpl
def register_editors(registry):
    registry.add(name="sink-editor", build="ganzoo.nn.losses:l1")

@ganzoo.hookimpl
def register_features(registry):
    registry.add(name="sink-feature", compute="ganzoo.editing.features:size", kind="regressor")

@ganzoo.hookimpl
def register_loggers(registry):
    registry.add(name="sink-logger", build="ganzoo.training.tensorboard:TensorBoardLogger")

@ganzoo.hookimpl
def register_commands(registry):
    registry.add(name="sink-hello", command="sink_commands:hello")
'''

SINK_COMMANDS = '''
import click

@click.command()
def hello():
    """Say hello from a plugin."""
    click.echo("hello from sink")
'''


def test_every_hook_registers_through_a_third_party_distribution(site, cli):
    install_fake(site, "ganzoo-sink", "ganzoo_sink", KITCHEN_SINK)
    (site / "sink_commands.py").write_text(SINK_COMMANDS)
    expected = {"architectures": "sink-gan", "losses": "sink-l1", "trainers": "sink-trainer",
                "datasets": "sink-digits", "metrics": "sink-metric", "weights": "sink-weights",
                "editors": "sink-editor", "features": "sink-feature", "loggers": "sink-logger",
                "commands": "sink-hello"}
    hooks = {name for name in dir(hookspecs) if name.startswith("register_")}
    assert hooks == {f"register_{kind}" for kind in expected}, "a hook has no test here"
    for kind, name in expected.items():
        entry = plugins.registry(kind).get(name)
        assert entry.plugin == "ganzoo_sink"
    info = {p.name: p for p in plugins.plugins()}["ganzoo_sink"]
    assert (info.distribution, info.version) == ("ganzoo-sink", "1.2.0")
    assert set(info.hooks) == hooks
    # The plugin's command is attached to the CLI and runs.
    result = cli("sink-hello")
    assert result.exit_code == 0 and "hello from sink" in result.output
    listed = json.loads(cli("plugins", "--json").output)
    sink = next(p for p in listed if p["name"] == "ganzoo_sink")
    assert sink["version"] == "1.2.0" and sink["registered"]["architectures"] == ["sink-gan"]


def test_a_plugin_that_fails_to_import_warns_and_the_rest_load(site):
    install_fake(site, "ganzoo-broken", "ganzoo_broken", "raise ImportError('no numpy here')")
    with pytest.warns(plugins.PluginWarning, match="ganzoo-broken.*no numpy here"):
        names = plugins.registry("architectures").names()
    assert "dcgan" in names


def test_duplicate_names_name_both_plugins_and_how_to_block_one(site, monkeypatch):
    install_fake(site, "ganzoo-dcgan-plus", "ganzoo_dcgan_plus", '''
        import ganzoo
        from ganzoo.data.configs import DigitsConfig
        @ganzoo.hookimpl
        def register_architectures(registry):
            registry.add(name="dcgan", config_cls=DigitsConfig, build="x:y", trainer="gan")
    ''', version="9.9")
    with pytest.raises(DuplicateNameError) as info:
        plugins.registry("architectures")
    message = str(info.value)
    assert "architecture 'dcgan' is registered by two plugins" in message
    assert "dcgan (ganzoo " in message and "ganzoo_dcgan_plus (ganzoo-dcgan-plus 9.9)" in message
    assert "GANZOO_DISABLE_PLUGINS=ganzoo_dcgan_plus" in message
    # Following the advice works.
    monkeypatch.setenv("GANZOO_DISABLE_PLUGINS", "ganzoo_dcgan_plus")
    plugins.reset()
    assert plugins.registry("architectures").get("dcgan").plugin == "dcgan"


def test_a_misspelt_hook_fails_loudly(site):
    install_fake(site, "ganzoo-typo", "ganzoo_typo", '''
        import ganzoo
        @ganzoo.hookimpl
        def register_architecture(registry):
            pass
    ''')
    with pytest.raises(PluginError) as info:
        plugins.registry("architectures")
    assert "ganzoo_typo (ganzoo-typo 1.2.0) implements register_architecture, which is not a " \
        "ganzoo hook (did you mean 'register_architectures'?)" in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_registration_fields_name_the_plugin_and_field(site):
    install_fake(site, "ganzoo-badfield", "ganzoo_badfield", '''
        import ganzoo
        @ganzoo.hookimpl
        def register_losses(registry):
            registry.add(name="x", kind="reconstruction", fn="ganzoo.nn.losses:l1", weight=2)
    ''')
    with pytest.raises(PluginError, match="ganzoo_badfield.*unknown field.*weight"):
        plugins.registry("losses")


def test_block_list_and_trace(site, monkeypatch, capsys):
    install_fake(site, "ganzoo-sink", "ganzoo_sink", KITCHEN_SINK)
    monkeypatch.setenv("GANZOO_TRACE_PLUGINS", "1")
    assert "sink-gan" in plugins.registry("architectures")
    err = capsys.readouterr().err
    assert "loaded plugin ganzoo_sink from ganzoo-sink 1.2.0" in err
    assert "ganzoo_sink registered architectures: sink-gan" in err
    monkeypatch.setenv("GANZOO_DISABLE_PLUGINS", "ganzoo-sink")  # by distribution name
    plugins.reset()
    assert "sink-gan" not in plugins.registry("architectures")
    assert "blocked by GANZOO_DISABLE_PLUGINS" in capsys.readouterr().err


def test_unknown_names_suggest_close_ones_and_are_key_errors(ganzoo_plugins):
    with pytest.raises(KeyError) as info:
        ganzoo.get("architectures", "dcgn")
    assert isinstance(info.value, UnknownNameError)
    assert info.value.suggestions[0] == "dcgan"
    assert "Did you mean 'dcgan'?" in str(info.value)
    assert "`ganzoo list architectures`" in str(info.value)


def test_listing_supports_shell_wildcards(ganzoo_plugins):
    assert ganzoo.list_names("losses", "*gan*") == ["lsgan", "wgan"]
    assert ganzoo.list_names("losses", "l?") == ["l1", "l2"]
    assert ganzoo.list_names("losses", "nothing*") == []


@pytest.mark.parametrize("args", [["--help"], ["list"], ["plugins"], ["show", "dcgan"]])
def test_cli_startup_does_not_import_torch(args):
    code = textwrap.dedent(f"""
        import sys
        from ganzoo.apps.cli import main
        try:
            main({args!r})
        except SystemExit:
            pass
        heavy = [m for m in ("torch", "numpy", "torchvision") if m in sys.modules]
        print("HEAVY", heavy)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr


def test_registrars_show_the_entry_fields_as_their_signature(ganzoo_plugins):
    import inspect

    from ganzoo.plugin.registry import registrar_for

    registrar = registrar_for(plugins.registry("architectures"), "p", str)
    params = inspect.signature(registrar.add).parameters
    assert {"name", "config_cls", "build", "trainer", "tiny"} <= set(params)
    assert "plugin" not in params and params["task"].default is None
