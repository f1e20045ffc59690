"""`ganzoo report`: a self-contained page with curves, samples, scores and recipe, that renders."""

from __future__ import annotations

import base64
import html
import io
import re
from pathlib import Path

import pytest
import torch
from PIL import Image

from ganzoo import Recipe, RunDirError
from ganzoo.apps.report import render, write_report
from ganzoo.training.context import native_amp
from ganzoo.training.loop import train

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_recipe_module):
    run_dir = tmp_path_factory.mktemp("report") / "run"
    recipe = Recipe.from_toml(tiny_recipe_module, ["train.steps=12", "train.log_every=2",
                                                   "train.sample_every=6",
                                                   "train.eval_metrics=['fd-digits']",
                                                   "train.eval_every=6", "train.eval_samples=32"])
    train(recipe, run_dir, progress=False)
    return run_dir


@pytest.fixture(scope="module")
def tiny_recipe_module(tmp_path_factory):
    from conftest import TINY_DIGITS, write_recipe

    return write_recipe(tmp_path_factory.mktemp("recipe") / "tiny.toml", TINY_DIGITS)


def embedded_pngs(page: str) -> list[Image.Image]:
    return [Image.open(io.BytesIO(base64.b64decode(data)))
            for data in re.findall(r'src="data:image/png;base64,([^"]+)"', page)]


def test_report_embeds_curves_samples_scores_and_recipe(run_dir, cli):
    result = cli("report", run_dir)
    assert result.exit_code == 0, result.output
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    images = embedded_pngs(page)
    # The curves, then the grids at steps 6 and 12 and the final one: nothing links outside.
    assert [im.size for im in images[1:]] == [(38, 38)] * 3
    assert images[0].size == (1000, 360)
    assert "step 6" in page and "step 12" in page and ">final<" in page
    assert 'id="scores"' in page and "fd-digits" in page
    assert '"n_fake": 32' in html.unescape(page)  # the protocol, escaped into the page
    assert "steps = 12" in page  # the resolved recipe
    assert "finished" in page and "at step 12 of 12" in page
    # The environment names the device and the precision amp = "auto" resolved to.
    precision = native_amp(torch.device("cpu"))
    assert "<td>device</td><td>cpu</td>" in page
    assert f"<td>precision</td><td>{precision}</td>" in page
    assert not re.search(r'(src|href)="(?!data:|#)', page)


def test_report_of_a_missing_or_foreign_folder_is_a_clear_error(tmp_path, cli):
    with pytest.raises(RunDirError, match="no such run directory"):
        render(tmp_path / "nope")
    result = cli("report", tmp_path)
    assert result.exit_code == 1
    assert f"ganzoo: {tmp_path}: not a ganzoo run directory (no recipe.toml)" in result.output


def test_report_of_a_run_in_progress(run_dir, tmp_path):
    import shutil

    partial = tmp_path / "partial"
    shutil.copytree(run_dir, partial)
    shutil.rmtree(partial / "weights")
    lines = (partial / "metrics.jsonl").read_text().splitlines()
    (partial / "metrics.jsonl").write_text("\n".join(lines[:2]) + '\n{"step": 6, "los')  # cut
    page = write_report(partial, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "in progress or interrupted" in page and "at step 4 of 12" in page


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                                                  "(apt-get install chromium; CI installs it)")
def test_report_renders_in_headless_chromium(run_dir, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    path = write_report(run_dir, tmp_path / "report.html")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(path.as_uri())
        images = page.evaluate("""() => [...document.images].map(i => ({
            cls: i.className, ok: i.complete && i.naturalWidth > 0,
            w: i.getBoundingClientRect().width, h: i.getBoundingClientRect().height}))""")
        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert [i["cls"] for i in images] == ["curves", "sample", "sample", "sample"]
    assert all(i["ok"] and i["w"] > 30 and i["h"] > 30 for i in images), images
    picture = Image.open(shot).convert("L")
    assert picture.width == 1100 and picture.height > 900
    # The page shows more than a blank sheet: dark curve lines and grids on white.
    histogram = picture.histogram()
    assert sum(histogram[:128]) > 0.01 * picture.width * picture.height
