"""Shared helpers: tiny recipes that train in well under a second a step on CPU."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest
import tomli_w
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]

# The core's tests see ganzoo's own plugins only, whatever else is installed in the environment.
# Tests of third-party plugins lift this (plugin_fixtures.site, test_example_plugin.ENV).
os.environ.setdefault("GANZOO_LOAD_PLUGINS", "ganzoo")

# pytest-xdist runs the suite in one worker per core (addopts in pyproject.toml): each worker, and
# every process it starts, then uses one thread, since workers with torch's default of one thread
# per core each would oversubscribe the CPU (two trainings at once ran 7x slower that way).
if os.environ.get("PYTEST_XDIST_WORKER"):
    for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_variable] = "1"
    import torch

    torch.set_num_threads(1)
RECIPES = ROOT / "recipes"

TINY_DIGITS = {
    "architecture": "dcgan",
    "seed": 3,
    "data": {"dataset": "digits", "resolution": 16},
    "model": {"resolution": 16, "channels": 1, "z_dim": 8, "gen_width": 8, "disc_width": 8},
    "train": {"steps": 12, "batch_size": 8, "log_every": 2, "sample_every": 6,
              "checkpoint_every": 4, "sample_count": 4, "device": "cpu"},
}


def write_recipe(path: Path, data: dict) -> Path:
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def tiny_recipe(tmp_path: Path) -> Path:
    """A recipe file for a DCGAN on 16x16 digits, 12 steps of batch 8."""
    return write_recipe(tmp_path / "tiny.toml", TINY_DIGITS)


@pytest.fixture
def cli():
    """Invoke ``ganzoo ARGS...`` in-process; returns click's Result (output, exit_code)."""
    from ganzoo.apps.cli import cli as command

    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(command, [str(a) for a in args], catch_exceptions=False)

    return invoke


def load_toml(path: Path) -> dict:
    return tomllib.loads(Path(path).read_text(encoding="utf-8"))
