"""The demo page's iGAN editing tab: its callbacks, and the page end to end in headless Chromium
(draw a stroke with the mouse, press Edit, the candidates follow the stroke's colour)."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import ganzoo

pytest.importorskip("gradio")

from ganzoo.editing.constraints import EditError  # noqa: E402
from ganzoo.apps.serve_editing import CANVAS, EditingDemo  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")
CHROMIUM = Path("/usr/bin/chromium")
RED = np.array([255, 0, 0])


@pytest.fixture(scope="module")
def photos():
    return ganzoo.load("dcgan-photos", components="all")


def _stroke_value(box, colour=(255, 0, 0)):
    layer = np.zeros((CANVAS, CANVAS, 4), np.uint8)
    top, left, bottom, right = box
    layer[top:bottom, left:right] = (*colour, 255)
    return {"background": None, "layers": [layer], "composite": None}


def _redness(pixels: np.ndarray, box) -> float:
    top, left, bottom, right = box
    patch = pixels[top:bottom, left:right, :3].astype(float)
    return float(np.abs(patch - RED).mean())


def test_the_callbacks_edit_towards_the_stroke_and_restart_from_a_frame(photos):
    demo = EditingDemo(photos, critic=photos.disc)
    state = demo.start_from_seed(3)
    start = np.asarray(demo.start_image(state))
    box = (40, 40, 140, 140)
    state, pictures, caption = demo.run_edit(state, _stroke_value(box), None, 8)
    assert 1 <= len(pictures) <= 16 and "candidates" in caption
    assert _redness(np.asarray(pictures[0]), box) < _redness(start, box)
    frame, photo = demo.frame(state, 0, 15)
    assert np.array_equal(np.asarray(frame), np.asarray(pictures[0])) and photo is None
    again = demo.restart(state, 0, 7)
    assert torch.equal(again["z0"], state["morphs"][0].z[7]) and again["candidates"] is None


def test_the_callbacks_refuse_an_empty_canvas_and_an_edit_before_a_start(photos):
    demo = EditingDemo(photos)
    with pytest.raises(EditError, match="paint a colour stroke"):
        demo.run_edit(demo.start_from_seed(0), _stroke_value((0, 0, 0, 0)), None)
    with pytest.raises(EditError, match="choose a start"):
        demo.run_edit(None, _stroke_value((0, 0, 9, 9)), None)
    with pytest.raises(EditError, match="press Edit first"):
        demo.frame(demo.start_from_seed(0), 0, 3)


def test_a_photo_is_projected_and_the_edit_transferred_at_its_size(photos):
    demo = EditingDemo(photos)
    photo = Image.fromarray((np.random.default_rng(0).random((40, 56, 3)) * 255).astype(np.uint8))
    state = demo.project(photo)
    state, _, _ = demo.run_edit(state, _stroke_value((10, 10, 60, 60)), None, 4)
    _, moved = demo.frame(state, 0, 15)
    assert moved is not None and moved.size[0] % 56 == 0 and moved.size[1] % 40 == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_draw_a_stroke_press_edit_and_the_candidates_follow_it(photos, tmp_path, monkeypatch):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (Debian's chromium package; CI installs it)")
    from ganzoo.apps.serve import build_app, launch

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    app = build_app(photos, name="dcgan-photos")
    try:
        url = launch(app, port=_free_port(), block=False)
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            page.goto(url)
            page.get_by_role("tab", name="Edit (iGAN)").click()
            page.fill("#ganzoo-edit-seed input", "3")
            page.click("#ganzoo-edit-from-seed")
            # Wait until the start image is on the canvas (a new value clears the strokes).
            page.wait_for_function(
                """() => { const t = document.querySelector(
                               '#ganzoo-edit-color [data-testid=status-tracker]');
                           return !t || t.classList.contains('hide'); }""", timeout=60_000)
            page.wait_for_timeout(2000)
            page.locator("#ganzoo-edit-color").get_by_role("button", name="Brush").first.click()
            canvas = page.locator("#ganzoo-edit-color canvas").first
            shown = canvas.bounding_box()
            # A thick red stroke across the middle third of the canvas.
            x0, y0 = shown["x"] + shown["width"] * 0.35, shown["y"] + shown["height"] * 0.5
            page.mouse.move(x0, y0)
            page.mouse.down()
            for step in range(1, 11):
                page.mouse.move(x0 + shown["width"] * 0.03 * step, y0, steps=2)
            page.mouse.up()
            page.wait_for_timeout(500)
            page.fill("#ganzoo-edit-starts input[type=number]", "8")
            page.click("#ganzoo-edit-run")
            page.wait_for_selector("#ganzoo-edit-candidates img", timeout=60_000)
            src = page.locator("#ganzoo-edit-candidates img").first.get_attribute("src")
            candidate = np.asarray(Image.open(io.BytesIO(page.request.get(src).body()))
                                   .convert("RGB"))
            page.screenshot(path=str(tmp_path / "edit.png"), full_page=True)
            browser.close()
    finally:
        app.close()
    demo = EditingDemo(photos)
    start = np.asarray(demo.start_image(demo.start_from_seed(3)))
    box = (int(CANVAS * 0.47), int(CANVAS * 0.45), int(CANVAS * 0.53), int(CANVAS * 0.55))
    assert candidate.shape == (CANVAS, CANVAS, 3)
    assert _redness(candidate, box) < _redness(start, box)
