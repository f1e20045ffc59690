"""examples/ganzoo-wgan-gp is installed as a real third-party package and used like one.

pip installs it into a temporary folder (``--target``) put on PYTHONPATH for the subprocesses,
so 'uninstalling' is leaving that folder off the path, and the test environment is untouched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT

EXAMPLE = ROOT / "examples" / "ganzoo-wgan-gp"
# What a user's environment has: no allow-list (conftest sets one for the core's own tests).
ENV = {k: v for k, v in os.environ.items() if k != "GANZOO_LOAD_PLUGINS"}


def ganzoo_cli(*args, env, cwd):
    return subprocess.run([sys.executable, "-m", "ganzoo", *map(str, args)], env=env, cwd=cwd,
                          capture_output=True, text=True)


def pip_install_to_target(package, target, build):
    """pip install ``package`` into the folder ``target`` (no dependencies, no network)."""
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                           "--no-build-isolation", "--no-index", "--target", str(target),
                           str(package)], capture_output=True, text=True,
                          env={**ENV, "TMPDIR": str(build)})
    assert proc.returncode == 0, proc.stderr
    return {**ENV, "PYTHONPATH": os.pathsep.join(
        [str(target), ENV.get("PYTHONPATH", "")])}


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    pip_install_to_target(EXAMPLE, target, tmp_path_factory.mktemp("build"))
    return target


def test_a_third_party_plugin_installs_lists_trains_loads_and_uninstalls(installed, tmp_path):
    with_plugin = {**ENV, "PYTHONPATH": os.pathsep.join(
        [str(installed), ENV.get("PYTHONPATH", "")])}
    listed = json.loads(ganzoo_cli("plugins", "--json", env=with_plugin, cwd=tmp_path).stdout)
    entry = next(p for p in listed if p["name"] == "wgan_gp")
    assert (entry["distribution"], entry["version"]) == ("ganzoo-wgan-gp", "0.1.0")
    assert entry["registered"] == {"architectures": ["wgan-gp"], "trainers": ["wgan-gp"]}

    run = ganzoo_cli("run", EXAMPLE / "recipes" / "wgan_gp_digits.toml", "--out", "run", "-q",
                     "--set", "train.steps=3", "--set", "train.batch_size=20",
                     "--set", "train.eval_samples=50", "--set", "model.gen_width=4",
                     "--set", "model.critic_width=4", env=with_plugin, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    load = subprocess.run([sys.executable, "-c", "import ganzoo; m = ganzoo.load('run'); "
                           "print(tuple(m.generate(2, seed=0).shape))"], env=with_plugin,
                          cwd=tmp_path, capture_output=True, text=True)
    assert load.stdout.strip() == "(2, 1, 32, 32)", load.stderr

    requirements = ganzoo_cli("plugins", "--requirements", env=with_plugin, cwd=tmp_path)
    assert requirements.stdout.split() == ["ganzoo-wgan-gp==0.1.0"]

    # The plugin's own tests pass with ganzoo's testing kit.
    own = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          str(EXAMPLE / "tests")], env=with_plugin, cwd=tmp_path,
                         capture_output=True, text=True)
    assert own.returncode == 0, own.stdout + own.stderr

    # Uninstalled: everything else works, and its weights say which package to install.
    without = dict(ENV)
    names = [p["name"] for p in json.loads(
        ganzoo_cli("plugins", "--json", env=without, cwd=tmp_path).stdout)]
    assert "wgan_gp" not in names and "dcgan" in names
    assert ganzoo_cli("list", "architectures", env=without, cwd=tmp_path).returncode == 0
    orphan = ganzoo_cli("sample", "run", "-o", "x.png", env=without, cwd=tmp_path)
    assert orphan.returncode == 1
    assert "architecture 'wgan-gp' is not installed" in orphan.stderr
    assert "pip install ganzoo-wgan-gp" in orphan.stderr


def test_new_plugin_scaffolds_a_package_that_installs_and_passes_its_tests(tmp_path, cli):
    result = cli("new-plugin", "info-gan", "--dir", tmp_path)
    assert result.exit_code == 0, result.output
    package = tmp_path / "ganzoo-info-gan"
    assert (package / "ganzoo_info_gan" / "__init__.py").is_file()
    env = pip_install_to_target(package, tmp_path / "site", tmp_path)
    listed = json.loads(ganzoo_cli("plugins", "--json", env=env, cwd=tmp_path).stdout)
    entry = next(p for p in listed if p["name"] == "info_gan")
    assert entry["distribution"] == "ganzoo-info-gan"
    assert entry["registered"] == {"architectures": ["info-gan"], "trainers": ["info-gan"]}
    own = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          str(package / "tests")], env=env, cwd=tmp_path, capture_output=True,
                         text=True)
    assert own.returncode == 0, own.stdout + own.stderr
    again = cli("new-plugin", "info-gan", "--dir", tmp_path)
    assert again.exit_code == 1 and "already exists" in again.output
    bad = cli("new-plugin", "Info GAN!", "--dir", tmp_path)
    assert bad.exit_code == 1 and "use lowercase letters and digits" in bad.output


def test_torch_hub_loads_models_through_hubconf():
    import torch

    model = torch.hub.load(str(ROOT), "dcgan_digits", source="local")
    same = torch.hub.load(str(ROOT), "load", "dcgan-digits", source="local")
    with torch.no_grad():
        assert torch.equal(model.generate(2, seed=0), same.generate(2, seed=0))


def test_install_runs_pip_in_ganzoos_environment(tmp_path):
    target = tmp_path / "site"
    env = {**ENV, "TMPDIR": str(tmp_path), "PIP_TARGET": str(target),
           "PIP_NO_DEPS": "1", "PIP_NO_BUILD_ISOLATION": "0", "PIP_NO_INDEX": "1"}
    proc = ganzoo_cli("install", EXAMPLE, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"{sys.executable} -m pip install {EXAMPLE}" in proc.stderr
    assert (target / "ganzoo_wgan_gp" / "__init__.py").is_file()
    failed = ganzoo_cli("install", tmp_path / "no-such-package", env=env, cwd=tmp_path)
    assert failed.returncode == 1 and "pip failed" in failed.stderr
