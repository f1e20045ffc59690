"""Every plugin mistake ends in one line that names the plugin, what is wrong and the way out.

Each plugin is a real package on disk found through a ``ganzoo`` entry point (see
``plugin_fixtures.install_fake``), or an in-process plugin where that is how the mistake is made.
"""

from __future__ import annotations

import json
import sys

import pytest
from plugin_fixtures import install_fake, site  # noqa: F401 - site is a fixture

import ganzoo
import ganzoo.plugin.manager as plugins
from ganzoo.base.errors import DuplicateNameError, PluginError


def one_line(error: BaseException) -> str:
    message = str(error)
    assert "\n" not in message, f"not one line: {message!r}"
    return message


def raised(kind: str = "architectures") -> str:
    with pytest.raises(PluginError) as info:
        plugins.registry(kind)
    return one_line(info.value)


def test_a_misspelt_hookimpl_argument_names_the_plugin_the_hook_and_the_argument(site):
    install_fake(site, "ganzoo-argtypo", "ganzoo_argtypo", '''
        import ganzoo
        @ganzoo.hookimpl
        def register_losses(registy):
            pass
    ''')
    message = raised("losses")
    assert message.startswith("plugin ganzoo_argtypo (ganzoo-argtypo 1.2.0): "
                              "register_losses(registy) asks for 'registy' (did you mean "
                              "'registry'?); ganzoo passes only 'registry'")
    assert message.endswith("skip it with GANZOO_DISABLE_PLUGINS=ganzoo_argtypo)")


def test_a_typo_in_a_reference_module_is_caught_at_registration_without_importing_it(site):
    install_fake(site, "ganzoo-reftypo", "ganzoo_reftypo", '''
        import ganzoo
        @ganzoo.hookimpl
        def register_trainers(registry):
            registry.add(name="reftypo", step="ganzoo_reftypo.trian:train_step")
    ''', files={"train.py": "raise RuntimeError('train.py must not be imported to check it')"})
    message = raised("trainers")
    assert ("plugin ganzoo_reftypo (ganzoo-reftypo 1.2.0): trainer 'reftypo': "
            "step='ganzoo_reftypo.trian:train_step': no module named 'ganzoo_reftypo.trian' "
            "(did you mean 'ganzoo_reftypo.train'?)") in message
    assert "GANZOO_DISABLE_PLUGINS=ganzoo_reftypo" in message
    assert "ganzoo_reftypo.train" not in sys.modules


def test_a_failing_lazy_import_names_the_plugin_the_entry_the_module_and_the_cause(site, cli):
    install_fake(site, "ganzoo-lazy", "ganzoo_lazy", '''
        import ganzoo
        from ganzoo.data.configs import DigitsConfig
        @ganzoo.hookimpl
        def register_architectures(registry):
            registry.add(name="lazy-gan", config_cls=DigitsConfig, trainer="gan",
                         build="ganzoo_lazy.networks:build")
            registry.add(name="lazy-attr", config_cls=DigitsConfig, trainer="gan",
                         build="ganzoo_lazy.fine:buidl")
        @ganzoo.hookimpl
        def register_commands(registry):
            registry.add(name="lazy-hello", command="ganzoo_lazy.networks:hello")
    ''', files={"networks.py": "import not_installed_dependency\n",
                "fine.py": "def build(cfg):\n    return None\n"})
    assert "lazy-gan" in plugins.registry("architectures")  # registering imported nothing
    with pytest.raises(PluginError) as info:
        ganzoo.create("lazy-gan")
    assert one_line(info.value) == (
        "plugin ganzoo_lazy (ganzoo-lazy 1.2.0): architecture 'lazy-gan': "
        "build='ganzoo_lazy.networks:build': importing ganzoo_lazy.networks failed: "
        "ModuleNotFoundError: No module named 'not_installed_dependency' (install it, or fix "
        "the import)")
    with pytest.raises(PluginError) as info:
        ganzoo.create("lazy-attr")
    assert one_line(info.value).endswith(
        "build='ganzoo_lazy.fine:buidl': module 'ganzoo_lazy.fine' has no attribute 'buidl' "
        "(did you mean 'build'?)")
    # The CLI turns it into that one line too, when the plugin's command is run.
    result = cli("lazy-hello", "--any", "args")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "ganzoo: plugin ganzoo_lazy (ganzoo-lazy 1.2.0): command 'lazy-hello': "
        "command='ganzoo_lazy.networks:hello': importing ganzoo_lazy.networks failed: "
        "ModuleNotFoundError: No module named 'not_installed_dependency' (install it, or fix "
        "the import)"]
    # ... and `ganzoo --help` still works, showing the command as broken.
    help_text = cli("--help")
    assert help_text.exit_code == 0
    assert "lazy-hello" in help_text.stdout and "BROKEN: plugin ganzoo_lazy" in help_text.stdout


def test_a_hook_without_hookimpl_is_reported_instead_of_ignored(site):
    install_fake(site, "ganzoo-nomark", "ganzoo_nomark", '''
        import ganzoo
        from ganzoo.data.configs import DigitsConfig
        def register_architectures(registry):
            registry.add(name="infogan", config_cls=DigitsConfig, build="x:y", trainer="gan")
        def register_helpers_of_my_own(registry):  # not a hook, not marked: left alone
            pass
    ''')
    message = raised()
    assert message.startswith("plugin ganzoo_nomark (ganzoo-nomark 1.2.0) defines "
                              "register_architectures without @ganzoo.hookimpl, so ganzoo would "
                              "never call it; decorate it with @ganzoo.hookimpl")


def test_an_unmarked_misspelt_hook_gets_both_mistakes_named(ganzoo_plugins):
    class Both:
        def register_architecture(self, registry):
            pass

    with pytest.raises(PluginError) as info:
        plugins.register_plugin(Both(), "both")
    assert one_line(info.value) == (
        "plugin both defines register_architecture without @ganzoo.hookimpl, and it is not a "
        "ganzoo hook (did you mean 'register_architectures'?); rename it and decorate it with "
        "@ganzoo.hookimpl")


def test_a_marked_hookimpl_of_any_name_must_be_a_hook(ganzoo_plugins):
    class Odd:
        @ganzoo.hookimpl
        def setup_things(self, registry):
            pass

    with pytest.raises(PluginError, match="plugin odd implements setup_things, which is not a "
                                          "ganzoo hook; the hooks are register_architectures"):
        plugins.register_plugin(Odd(), "odd")


def test_a_plugin_command_named_like_a_built_in_is_refused(site, cli):
    install_fake(site, "ganzoo-shadow", "ganzoo_shadow", '''
        import ganzoo
        @ganzoo.hookimpl
        def register_commands(registry):
            registry.add(name="run", command="ganzoo_shadow:run")
    ''')
    message = raised("commands")
    assert message.startswith("plugin ganzoo_shadow (ganzoo-shadow 1.2.0) registers the command "
                              "'run', which is a built-in ganzoo command; register it under "
                              "another name")
    # The built-in is the one that runs.
    help_text = cli("run", "--help").output
    assert "Train the GAN described by RECIPE" in help_text


def test_one_plugin_registering_a_name_twice_says_so(site):
    install_fake(site, "ganzoo-twice", "ganzoo_twice", '''
        import ganzoo
        @ganzoo.hookimpl
        def register_losses(registry):
            registry.add(name="my-l1", kind="reconstruction", fn="ganzoo.nn.losses:l1")
            registry.add(name="my-l1", kind="reconstruction", fn="ganzoo.nn.losses:l2")
    ''')
    with pytest.raises(DuplicateNameError) as info:
        plugins.registry("losses")
    message = one_line(info.value)
    assert message.startswith("plugin ganzoo_twice (ganzoo-twice 1.2.0) registers loss 'my-l1' "
                              "twice; give each registry.add(...) its own name")
    assert "two plugins" not in message


def test_a_broken_plugin_does_not_take_down_plugins_and_list(site, cli):
    install_fake(site, "ganzoo-broken-hook", "ganzoo_broken_hook", '''
        import ganzoo
        @ganzoo.hookimpl
        def register_architectures(registry):
            registry.add(name="half", config_cls=dict, build="ganzoo_broken_hook:x", trainer="gan")
            raise ValueError("config file missing")
    ''')
    install_fake(site, "ganzoo-noimport", "ganzoo_noimport", "import not_there_at_all\n")
    with pytest.warns(plugins.PluginWarning, match="ganzoo_noimport.*not_there_at_all"):
        listed = cli("plugins")
    assert listed.exit_code == 0
    assert ("ganzoo_broken_hook       ganzoo-broken-hook 1.2.0\n    BROKEN: plugin "
            "ganzoo_broken_hook (ganzoo-broken-hook 1.2.0) failed in register_architectures: "
            "ValueError: config file missing (until it is fixed, skip it with "
            "GANZOO_DISABLE_PLUGINS=ganzoo_broken_hook)") in listed.stdout
    assert ("BROKEN: plugin ganzoo_noimport (ganzoo-noimport 1.2.0) failed to import"
            in listed.stdout)
    as_json = {p["name"]: p for p in json.loads(cli("plugins", "--json").stdout)}
    assert "ValueError: config file missing" in as_json["ganzoo_broken_hook"]["broken"]
    assert as_json["dcgan"]["broken"] is None
    everything = cli("list", "architectures")
    assert everything.exit_code == 0 and "dcgan" in everything.stdout
    assert "half" not in everything.stdout  # all or nothing: its first entry is not kept
    assert "ganzoo: broken plugin: plugin ganzoo_broken_hook" in everything.stderr
    # Anything that needs the registries says what is wrong, once, and how to get past it.
    run = cli("show", "dcgan")
    assert run.exit_code == 1
    assert run.stderr.count("\n") == 1 and "GANZOO_DISABLE_PLUGINS=ganzoo_broken_hook" in run.stderr


def test_hooks_are_called_through_pluggys_convention(ganzoo_plugins):
    calls = []

    class NoArguments:
        @ganzoo.hookimpl
        def register_losses(self):
            calls.append("called")

    plugins.register_plugin(NoArguments(), "no-arguments")
    assert calls == ["called"]
    assert {p.name: p for p in plugins.plugins()}["no-arguments"].hooks == ("register_losses",)


def test_an_in_process_plugin_that_is_broken_raises_and_changes_nothing(ganzoo_plugins):
    class Twice:
        @ganzoo.hookimpl
        def register_losses(self, registry):
            registry.add(name="twice", kind="reconstruction", fn="ganzoo.nn.losses:l1")
            registry.add(name="twice", kind="reconstruction", fn="ganzoo.nn.losses:l1")

    before = plugins.registry("losses").names()
    with pytest.raises(DuplicateNameError,
                       match="plugin twice-plugin registers loss 'twice' twice"):
        plugins.register_plugin(Twice(), "twice-plugin")
    assert plugins.registry("losses").names() == before
    assert "twice-plugin" not in {p.name for p in plugins.plugins()}


def test_the_allow_list_loads_only_the_named_plugins(site, monkeypatch):
    install_fake(site, "ganzoo-allowed", "ganzoo_allowed", '''
        import ganzoo
        @ganzoo.hookimpl
        def register_losses(registry):
            registry.add(name="allowed-l1", kind="reconstruction", fn="ganzoo.nn.losses:l1")
    ''')
    monkeypatch.setenv("GANZOO_LOAD_PLUGINS", "ganzoo")  # ganzoo's own plugins only
    plugins.reset()
    assert "allowed-l1" not in plugins.registry("losses")
    assert "dcgan" in plugins.registry("architectures")
    monkeypatch.setenv("GANZOO_LOAD_PLUGINS", "ganzoo-allowed")  # by distribution name
    plugins.reset()
    assert "allowed-l1" in plugins.registry("losses")
    assert "dcgan" not in plugins.registry("architectures")
    assert "l1" in plugins.registry("losses"), "default plugins are always loaded"
    monkeypatch.setenv("GANZOO_LOAD_PLUGINS", "")  # no entry-point plugins at all
    plugins.reset()
    assert plugins.registry("architectures").names() == []
    assert {p.name for p in plugins.plugins()} == set(plugins.BUILTIN_PLUGINS)


def test_the_command_line_says_each_broken_plugin_in_one_line(site, tmp_path):
    import os
    import subprocess

    install_fake(site, "ganzoo-noimp", "ganzoo_noimp", "import not_there_either\n")
    install_fake(site, "ganzoo-unmarked", "ganzoo_unmarked",
                 "def register_losses(registry):\n    pass\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    env.pop("GANZOO_LOAD_PLUGINS", None)

    def ganzoo_cli(*args):
        return subprocess.run([sys.executable, "-m", "ganzoo", *args], env=env, cwd=tmp_path,
                              capture_output=True, text=True)

    listed = ganzoo_cli("list", "architectures")
    assert listed.returncode == 0 and "dcgan" in listed.stdout
    assert sorted(listed.stderr.splitlines()) == [
        "ganzoo: broken plugin: plugin ganzoo_unmarked (ganzoo-unmarked 1.2.0) defines "
        "register_losses without @ganzoo.hookimpl, so ganzoo would never call it; decorate it "
        "with @ganzoo.hookimpl (until it is fixed, skip it with "
        "GANZOO_DISABLE_PLUGINS=ganzoo_unmarked)",
        "ganzoo: warning: plugin ganzoo_noimp (ganzoo-noimp 1.2.0) failed to import and was "
        "skipped: ModuleNotFoundError: No module named 'not_there_either' (until it is fixed, "
        "skip it with GANZOO_DISABLE_PLUGINS=ganzoo_noimp)"]
    env["GANZOO_DISABLE_PLUGINS"] = "ganzoo_unmarked,ganzoo-noimp"
    shown = ganzoo_cli("show", "dcgan")
    assert shown.returncode == 0 and shown.stderr == ""


def _ref_fields():
    import attrs

    from ganzoo.plugin.registry import REGISTRY_KINDS, _checks_ref

    return [(kind, f.name) for kind, cls in REGISTRY_KINDS.items() for f in attrs.fields(cls)
            if _checks_ref(f.validator)]


def _minimal(kind: str) -> dict:
    from ganzoo.data.configs import DigitsConfig

    ref = "ganzoo.nn.losses:l1"
    return {
        "architectures": dict(config_cls=DigitsConfig, build=ref, trainer="gan"),
        "losses": dict(kind="adversarial", fn=ref, g_fn=ref),
        "trainers": dict(step=ref),
        "datasets": dict(config_cls=DigitsConfig, build=ref),
        "metrics": dict(compute=ref),
        "weights": dict(architecture="dcgan", url="https://example.org/w.pth", converter=ref),
        "editors": dict(build=ref),
        "features": dict(compute=ref),
        "loggers": dict(build=ref),
        "commands": dict(command=ref),
    }[kind] | {"name": "typo-entry"}


@pytest.mark.parametrize("kind, field", _ref_fields(), ids="-".join)
def test_every_reference_field_has_its_module_checked_at_registration(ganzoo_plugins, kind,
                                                                      field):
    fields = _minimal(kind) | {field: "ganzoo.nn.lossez:l1"}

    class Plugin:
        pass

    def hook(self, registry):
        registry.add(**fields)

    setattr(Plugin, f"register_{kind}", ganzoo.hookimpl(hook))
    with pytest.raises(PluginError) as info:
        plugins.register_plugin(Plugin(), "typo")
    assert one_line(info.value).endswith(
        f"{field}='ganzoo.nn.lossez:l1': no module named 'ganzoo.nn.lossez' (did you mean "
        "'ganzoo.nn.losses'?)")
    # ...and every registry's minimal entry is valid, so the typo is what the test catches.
    fields[field] = "ganzoo.nn.losses:l1"
    plugins.register_plugin(Plugin(), "fine")


def test_every_registry_has_a_reference_field_under_test():
    from ganzoo.plugin.registry import REGISTRY_KINDS

    assert {kind for kind, _ in _ref_fields()} == set(REGISTRY_KINDS)
