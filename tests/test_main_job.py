"""benchmarks/main_job.py: the README's command timed and scored, then the README picture,
caption and shipped bundle refreshed in the very layout they had (here into copies)."""

from __future__ import annotations

import importlib.util
import json
import shutil

import pytest
from conftest import ROOT

import ganzoo


def _main_job():
    spec = importlib.util.spec_from_file_location("main_job", ROOT / "benchmarks" / "main_job.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_a_short_main_job_is_timed_scored_and_shipped_in_the_same_layout(tmp_path, monkeypatch):
    job = _main_job()
    shipped = tmp_path / "dcgan-digits"
    shutil.copytree(job.SHIPPED, shipped)
    before = sorted(p.relative_to(shipped) for p in shipped.rglob("*"))
    shutil.copyfile(job.README, tmp_path / "README.md")
    monkeypatch.setattr(job, "SHIPPED", shipped)
    monkeypatch.setattr(job, "README", tmp_path / "README.md")
    monkeypatch.setattr(job, "PICTURE", tmp_path / "dcgan_digits.png")

    job.main(["--steps", "2", "--out", str(tmp_path / "run")])

    figures = json.loads((tmp_path / "run" / "main_job.json").read_text())
    assert figures["steps"] == 2 and figures["time"]["cpu_s"] > 0
    assert figures["time"]["command"].startswith("ganzoo run recipes/dcgan_digits.toml --out ")
    assert set(figures["scores"]) == {*job.METRICS, "confident", "mean_confidence"}
    assert 0 <= figures["scores"]["confident"] <= 1
    assert figures["machine"]["precision"] in ("none", "bf16")
    # The bundle keeps its files; it loads and draws what the run's own weights draw.
    assert sorted(p.relative_to(shipped) for p in shipped.rglob("*")) == before
    assert json.loads((shipped / "config.json").read_text())["format"] == "ganzoo-bundle"
    assert (ganzoo.load(str(shipped)).generate(4, seed=0)
            == ganzoo.load(str(tmp_path / "run")).generate(4, seed=0)).all()
    card = (shipped / "README.md").read_text()
    assert "| fd-digits |" in card and "| step | 2 |" in card
    assert "DCGAN, 2 steps," in (tmp_path / "README.md").read_text()
    assert (tmp_path / "dcgan_digits.png").is_file()
