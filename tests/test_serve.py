"""``ganzoo serve``: the demo page, driven end to end in headless Chromium on loopback."""

from __future__ import annotations

import contextlib
import io
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import ganzoo
from ganzoo.testing import tiny_model

pytest.importorskip("gradio")
sync_api = pytest.importorskip("playwright.sync_api")

from ganzoo.apps.serve import Demo, ServeError, build_app, launch, to_pil  # noqa: E402

# gradio's queue calls pandas options that pandas 3 deprecates: not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")

CHROMIUM = Path("/usr/bin/chromium")
LOOPBACK = ("127.0.0.1", "::1", "localhost")


@pytest.fixture(scope="module")
def digits():
    return ganzoo.load("dcgan-digits")


@pytest.fixture(scope="module")
def axes(digits):
    """Tiny axes: 40 samples are enough for a direction to move along (not a good one)."""
    from ganzoo_tlgan.axes import fit_axes

    return fit_axes(digits, ["thickness", "slant"], samples=40, generator_name="dcgan-digits")


class Outbound:
    """Records every connection this process opens to anything but loopback."""

    def __init__(self):
        self.attempts: list = []

    @contextlib.contextmanager
    def watch(self):
        connect = socket.socket.connect

        def guarded(sock, address):
            host = address[0] if isinstance(address, tuple) else None
            if host is not None and host not in LOOPBACK:
                self.attempts.append(address)
            return connect(sock, address)

        socket.socket.connect = guarded
        try:
            yield self
        finally:
            socket.socket.connect = connect


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served(digits, axes, tmp_path_factory):
    """Three pages on loopback (digits with axes, a tiny cGAN, a tiny pix2pix), one browser."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (Debian's chromium package; CI installs it)")
    torch.manual_seed(0)
    models = {"digits": digits, "cgan": tiny_model("cgan").eval(),
              "pix2pix": tiny_model("pix2pix").eval()}
    outbound = Outbound()
    with pytest.MonkeyPatch.context() as mp, outbound.watch(), sync_api.sync_playwright() as pw:
        mp.setenv("GRADIO_TEMP_DIR", str(tmp_path_factory.mktemp("gradio")))
        apps = {"digits": build_app(digits, axes, name="dcgan-digits"),
                "cgan": build_app(models["cgan"]), "pix2pix": build_app(models["pix2pix"])}
        try:
            urls = {k: launch(app, port=free_port(), block=False) for k, app in apps.items()}
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
            requests: list[str] = []
            yield {"urls": urls, "models": models, "browser": browser, "requests": requests,
                   "outbound": outbound}
            browser.close()
        finally:
            for app in apps.values():
                app.close()


def open_page(served, name):
    page = served["browser"].new_page()
    page.on("request", lambda request: served["requests"].append(request.url))
    page.goto(served["urls"][name])
    return page


def next_image(page, previous: str = "") -> tuple[str, np.ndarray]:
    """Wait until the output shows a loaded image other than ``previous``; (src, RGB pixels)."""
    page.wait_for_function(
        """previous => { const img = document.querySelector('#ganzoo-output img');
                         return img && img.complete && img.naturalWidth > 0
                                && img.src !== previous; }""", arg=previous, timeout=30_000)
    src = page.locator("#ganzoo-output img").get_attribute("src")
    width = page.evaluate("() => document.querySelector('#ganzoo-output img').naturalWidth")
    body = page.request.get(src).body()
    pixels = np.asarray(Image.open(io.BytesIO(body)).convert("RGB"))
    assert pixels.shape[1] == width
    return src, pixels


def rgb(image) -> np.ndarray:
    return np.asarray(image.convert("RGB"))


def only_loopback(served):
    hosts = {url.split("/")[2].rsplit(":", 1)[0] for url in served["requests"]
             if url.startswith("http")}
    assert hosts <= {"127.0.0.1"}, hosts
    assert served["outbound"].attempts == []


def test_generate_then_move_along_an_axis(served, axes, tmp_path):
    model = served["models"]["digits"]
    page = open_page(served, "digits")
    page.click("#ganzoo-run")
    src, shown = next_image(page)
    with torch.no_grad():  # seed 0, one image, 32x32 shown 16 times larger
        assert np.array_equal(shown, rgb(to_pil(model.generate(1, seed=0))))
    assert shown.shape == (512, 512, 3)

    page.locator("#ganzoo-axis-0 input[type=range]").fill("2")  # the thickness slider
    _, moved = next_image(page, src)
    z = axes.edit(model.sample_latent(1, seed=0), {"thickness": 2.0, "slant": 0.0})
    with torch.no_grad():
        assert np.array_equal(moved, rgb(to_pil(model.generate(1, z=z))))
    assert not np.array_equal(moved, shown)

    page.wait_for_selector("#ganzoo-output [data-testid=status-tracker].hide", state="attached")
    shot = tmp_path / "page.png"
    page.screenshot(path=str(shot), full_page=True)
    image = Image.open(shot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and image.width >= 800
    assert len(image.convert("L").getcolors(2**16) or ()) > 50  # text, sliders and a digit
    only_loopback(served)


def test_a_conditional_model_draws_the_class_chosen(served):
    model = served["models"]["cgan"]
    page = open_page(served, "cgan")
    page.locator("#ganzoo-label input").click()
    page.get_by_role("option", name="3", exact=True).click()  # choosing draws at once
    _, shown = next_image(page)
    with torch.no_grad():
        assert np.array_equal(shown, rgb(to_pil(model.generate(1, seed=0, labels=[3]))))
        assert not np.array_equal(shown, rgb(to_pil(model.generate(1, seed=0, labels=[4]))))
    only_loopback(served)


def test_an_uploaded_image_is_translated(served, tmp_path):
    model = served["models"]["pix2pix"]
    source = Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 24, 3), np.uint8))
    source.save(tmp_path / "in.png")
    page = open_page(served, "pix2pix")
    page.locator("#ganzoo-input input[type=file]").set_input_files(str(tmp_path / "in.png"))
    _, shown = next_image(page)
    assert shown.shape == (40 * 12, 24 * 12, 3)  # any size: padded, translated, cropped back
    with torch.no_grad():
        assert np.array_equal(shown, rgb(to_pil(model.translate(source))))
    only_loopback(served)


def test_the_page_refuses_what_it_cannot_show(digits, axes):
    demo = Demo(digits, axes)
    with pytest.raises(ServeError, match="count 17: expected 1 to 16"):
        demo.sample(0, 17)
    with pytest.raises(ServeError, match="axes move a generator's latents; pix2pix is an "
                                         "image-to-image model"):
        Demo(tiny_model("pix2pix"), axes)
    from ganzoo_tlgan.axes import AxesError

    torch.manual_seed(0)
    with pytest.raises(AxesError, match="these axes were fitted for generator 'dcgan-digits'"):
        build_app(ganzoo.create("dcgan", z_dim=64, resolution=32, channels=1), axes)
    with pytest.raises(ServeError, match="upload an image first"):
        Demo(tiny_model("pix2pix")).translate(None)
    with pytest.raises(ServeError, match="axes move a generator's latents; stackgan is a "
                                         "text-to-image model"):
        Demo(tiny_model("stackgan"), axes)


def test_a_text_to_image_model_draws_the_captions_written():
    torch.manual_seed(0)
    model = tiny_model("stackgan").eval()
    model.learn_words(["a thick seven", "a thin one"])
    demo = Demo(model)
    page = demo.caption("a thick seven\n\na thin one\n", seed=5, count=2)
    with torch.no_grad():
        expected = to_pil(model.generate(4, seed=5, text=["a thick seven"] * 2 + ["a thin one"] * 2),
                          nrow=2)
    assert np.array_equal(rgb(page), rgb(expected))
    with pytest.raises(ServeError, match="write a caption first"):
        demo.caption("  \n", seed=0, count=1)
    with pytest.raises(ServeError, match="'purple'"):
        demo.caption("a purple seven", seed=0, count=1)
    with pytest.raises(ServeError, match="at most 16 images at once"):
        demo.caption("a thick seven\n" * 3, seed=0, count=8)
    build_app(model)  # the page builds, with its caption box


def test_a_two_way_model_translates_in_the_direction_chosen():
    if "cyclegan" not in ganzoo.list_names("architectures"):
        pytest.skip("the cyclegan plugin is not installed")
    torch.manual_seed(0)
    model = tiny_model("cyclegan").eval()
    demo = Demo(model)
    source = Image.fromarray(np.random.default_rng(0).integers(0, 256, (12, 20, 3), np.uint8))
    with torch.no_grad():
        for direction in ("ab", "ba"):
            expected = to_pil(model.translate(source, direction=direction))
            assert np.array_equal(rgb(demo.translate(source, direction)), rgb(expected))
        assert not np.array_equal(rgb(demo.translate(source, "ab")),
                                  rgb(demo.translate(source, "ba")))
    build_app(model)  # the page builds, with its direction choice


def test_the_command_loads_the_axes_and_serves_on_loopback(cli, axes, tmp_path, monkeypatch):
    """``ganzoo serve`` in-process; its launch returns at once instead of serving until Ctrl-C."""
    import urllib.request

    import ganzoo.apps.serve

    launched = {}

    def launch_and_return(app, **options):
        launched["app"], launched["options"] = app, options
        return launch(app, **{**options, "block": False})  # the real one, imported above

    monkeypatch.setattr(ganzoo.apps.serve, "launch", launch_and_return)
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    axes.save(tmp_path / "axes")
    port = free_port()
    result = cli("serve", "dcgan-digits", "--axes", tmp_path / "axes", "--port", port)
    try:
        assert result.exit_code == 0, result.output
        assert result.output == f"serving ganzoo: dcgan-digits at http://127.0.0.1:{port}/ " \
                                "(Ctrl-C stops it)\n"
        assert launched["options"]["host"] == "127.0.0.1"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=30) as page:
            config = page.read().decode()
        assert '"thickness"' in config and '"slant"' in config  # one slider per axis
    finally:
        if "app" in launched:
            launched["app"].close()


def test_serve_mistakes_fail_before_any_server_starts(cli, tmp_path):
    result = cli("serve", "dcgan-digitz")
    assert result.exit_code == 1 and "no weights named 'dcgan-digitz'" in result.output
    result = cli("serve", "dcgan-digits", "--axes", tmp_path / "no-axes")
    assert result.exit_code == 1 and "no-axes: no such axes folder" in result.output
    assert cli("serve", "dcgan-digits", "--port", "0").exit_code == 2


def test_an_upload_over_the_limit_is_refused_before_it_reaches_the_model(monkeypatch):
    import httpx

    from ganzoo.apps import serve

    monkeypatch.setattr(serve, "MAX_UPLOAD_BYTES", 4096)
    app = build_app(tiny_model("pix2pix"))
    url = launch(app, port=free_port(), block=False)
    try:
        small = httpx.post(f"{url}gradio_api/upload",
                           files={"files": ("small.png", b"x" * 1000, "image/png")}, timeout=30)
        large = httpx.post(f"{url}gradio_api/upload",
                           files={"files": ("large.png", b"x" * 20000, "image/png")}, timeout=30)
    finally:
        app.close()
    assert small.status_code == 200
    assert large.status_code == 413
