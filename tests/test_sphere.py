"""The map of a dataset on the latent sphere (``ganzoo edit sphere``, ganzoo.editing.sphere)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import ganzoo
from ganzoo.editing import sphere
from test_tlgan import one_line_error

CHROMIUM = Path("/usr/bin/chromium")
N = 40


def test_to_sphere_keeps_the_sphere_and_orders_the_axes():
    torch.manual_seed(0)
    # Three strong directions in 32-D, plus noise: the map must find them in order.
    z = torch.randn(300, 3) * torch.tensor([5.0, 3.0, 2.0]) @ torch.linalg.qr(
        torch.randn(32, 32))[0][:3] + 0.1 * torch.randn(300, 32) + 2.0
    unit, coords, explained = sphere.to_sphere(z)
    assert torch.allclose(unit.norm(dim=1), torch.ones(300), atol=1e-5)
    assert torch.allclose(coords.norm(dim=1), torch.ones(300), atol=1e-5)
    assert explained[0] > explained[1] > explained[2] and sum(explained) > 0.9
    with pytest.raises(ganzoo.GanzooError, match="at least 3 images"):
        sphere.to_sphere(z[:2])


def test_knn_accuracy_separates_clusters_and_not_noise():
    torch.manual_seed(0)
    centres = torch.eye(3) * 10
    points = torch.cat([c + torch.randn(20, 3) for c in centres])
    labels = [str(i) for i in range(3) for _ in range(20)]
    assert sphere.knn_accuracy(points, labels, k=5) == 1.0
    shuffled = [labels[i] for i in torch.randperm(60).tolist()]
    assert sphere.knn_accuracy(points, shuffled, k=5) < 0.6
    baseline = sphere.random_sphere(torch.nn.functional.normalize(torch.randn(10, 8), dim=1),
                                    seed=1)
    assert torch.allclose(baseline.norm(dim=1), torch.ones(10), atol=1e-5)


@pytest.fixture(scope="module")
def map_dir(tmp_path_factory):
    from click.testing import CliRunner

    from ganzoo.apps.cli import cli as command

    out = tmp_path_factory.mktemp("sphere") / "map"
    result = CliRunner().invoke(command, ["edit", "sphere", "dcgan-digits", "--data", "digits",
                                          "-n", str(N), "--encoder-steps", "10", "-o", str(out)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"{N} images; 5-NN label accuracy on the map" in result.output
    return out


def test_cli_writes_projector_files_page_png_and_measure(map_dir):
    projector = map_dir / "projector"
    config = (projector / "projector_config.pbtxt").read_text()
    assert 'metadata_path: "00000/latent_sphere/metadata.tsv"' in config
    rows = (projector / "00000/latent_sphere/metadata.tsv").read_text().splitlines()
    assert rows[0] == "label\tmse" and len(rows) == N + 1
    # The first test digits' true labels, in order.
    from ganzoo.data.configs import DigitsConfig
    from ganzoo.data.digits import build

    truth = build(DigitsConfig(resolution=32), "test").labels[:N].tolist()
    assert [int(r.split("\t")[0]) for r in rows[1:]] == truth
    vectors = np.loadtxt(projector / "00000/latent_sphere/tensors.tsv")
    assert vectors.shape == (N, 64)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    sprite = Image.open(projector / "00000/latent_sphere/sprite.png")
    assert sprite.width >= 64 * 6  # input | reconstruction, 64 px wide, ceil(sqrt(N)) per row
    page = (map_dir / "sphere.html").read_text(encoding="utf-8")
    assert "<script src=" not in page and "Plotly.newPlot" in page  # offline: JS inlined
    assert Image.open(map_dir / "sphere.png").size == (1000, 500)
    measure = json.loads((map_dir / "sphere.json").read_text())
    assert measure["images"] == N and 0 <= measure["knn5_accuracy_sphere"] <= 1
    assert not [p for p in map_dir.rglob(".*")]  # no scratch or temporary files left


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                                                  "(apt-get install chromium; CI installs it)")
def test_page_renders_one_point_per_image_and_hover_shows_thumbnail(map_dir):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--no-sandbox", "--use-angle=swiftshader",
                                          "--enable-unsafe-swiftshader"])
        page = browser.new_page(viewport={"width": 900, "height": 700})
        page.goto((map_dir / "sphere.html").as_uri())
        page.wait_for_selector("#sphere-map .gl-container canvas", state="attached")
        points = page.evaluate("""() => document.getElementById('sphere-map').data
            .reduce((n, trace) => n + trace.x.length, 0)""")
        traces = page.evaluate("() => document.getElementById('sphere-map').data.length")
        assert page.is_hidden("#hover-thumb")
        # Sweep the mouse over the plot, as a user would, until a point answers.
        hit = False
        for y in range(150, 600, 10):
            for x in range(200, 700, 10):
                page.mouse.move(x, y)
                if page.is_visible("#hover-thumb"):
                    hit = True
                    break
            if hit:
                break
        thumb = page.evaluate("""() => { const img = document.querySelector('#hover-thumb img');
            return {src: img.src.slice(0, 22), w: img.naturalWidth, h: img.naturalHeight,
                    caption: document.querySelector('#hover-thumb figcaption').textContent}; }""")
        browser.close()
    assert points == N and traces == 10
    assert hit, "no point showed a thumbnail under the mouse"
    assert thumb["src"] == "data:image/png;base64," and (thumb["w"], thumb["h"]) == (64, 32)
    assert thumb["caption"].startswith("label ") and "input | reconstruction" in thumb["caption"]


def test_folder_data_is_labelled_by_subfolder(tmp_path):
    from ganzoo.data.configs import DigitsConfig
    from ganzoo.data.digits import build
    from ganzoo.base.images import to_uint8

    digits = build(DigitsConfig(resolution=32), "test")
    for i in range(6):
        folder = tmp_path / "data" / f"digit{int(digits.labels[i])}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(to_uint8(digits.images[i, 0]).numpy()).save(folder / f"{i}.png")
    model = ganzoo.load("dcgan-digits")
    images, labels = sphere.dataset_images(str(tmp_path / "data"), model)
    assert images.shape == (6, 1, 32, 32)
    assert sorted(labels) == sorted(f"digit{int(y)}" for y in digits.labels[:6])


def test_bad_input_ends_in_one_line(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    result = one_line_error(cli, "edit", "sphere", "dcgan-digits", "--data", tmp_path / "empty",
                            "-o", tmp_path / "m")
    assert result.exit_code == 1 and "no images found in" in result.stderr_line
    result = one_line_error(cli, "edit", "sphere", "dcgan-digits", "--data", "digitz",
                            "-o", tmp_path / "m")
    assert "'digitz': not 'digits' and not a folder" in result.stderr_line
    colour = ganzoo.create("dcgan", resolution=16, channels=3, z_dim=8, gen_width=4,
                           disc_width=4)
    colour.save_pretrained(tmp_path / "colour")
    result = one_line_error(cli, "edit", "sphere", tmp_path / "colour", "--data", "digits",
                            "-o", tmp_path / "m")
    assert "dataset 'digits' is 1-channel" in result.stderr_line
    translator = ganzoo.create("pix2pix", depth=2, resolution=4, gen_width=4, disc_width=4)
    translator.save_pretrained(tmp_path / "translator")
    result = one_line_error(cli, "edit", "sphere", tmp_path / "translator", "--data", "digits",
                            "-o", tmp_path / "m")
    assert "is a translator; the sphere map needs a latent generator" in result.stderr_line
    assert not (tmp_path / "m").exists()
