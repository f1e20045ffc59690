"""The onnxruntime backend: the same images as torch for each kind, one cached export per set
of weights, and one-line errors for a file that does not fit the model."""

from __future__ import annotations

import os

import pytest
import torch
from PIL import Image

import ganzoo
from ganzoo.apps.export import TOLERANCE, ExportError

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")  # the exporter needs it


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One export cache for the module (``$GANZOO_CACHE``, as the CLI finds it)."""
    root = tmp_path_factory.mktemp("ganzoo-cache")
    old = os.environ.get("GANZOO_CACHE")
    os.environ["GANZOO_CACHE"] = str(root)
    yield root / "onnx"
    if old is None:
        del os.environ["GANZOO_CACHE"]
    else:
        os.environ["GANZOO_CACHE"] = old


def tiny(architecture: str):
    torch.manual_seed(0)
    return ganzoo.create(architecture, **ganzoo.get("architectures", architecture).tiny).eval()


def test_generate_matches_torch_and_the_export_is_cached_by_the_weights(cache):
    model = ganzoo.load("dcgan-digits")
    session = model.onnx_session()
    assert session.path.parent == cache and session.path.name.startswith("dcgan-default-")
    with torch.no_grad():
        expected = model.generate(7, seed=5)
    got = session.generate(7, seed=5)
    assert got.dtype is torch.float32 and got.shape == expected.shape
    assert (got - expected).abs().max() <= TOLERANCE
    z = model.sample_latent(3, seed=9)
    assert (session.generate(3, z=z) - model.generate(3, z=z).detach()).abs().max() <= TOLERANCE

    stamp = session.path.stat().st_mtime_ns
    again = ganzoo.load("dcgan-digits").onnx_session()
    assert again.path == session.path and again.path.stat().st_mtime_ns == stamp  # reused
    assert sorted(p.name for p in cache.iterdir()) == [session.path.name]  # no temporary left
    with torch.no_grad():
        model.gen[0].weight[0, 0, 0, 0] += 1  # other weights: another key, another file
    from ganzoo.apps.onnx_runtime import weights_hash

    assert weights_hash(model) != weights_hash(ganzoo.load("dcgan-digits"))


def test_the_cli_samples_with_onnxruntime_as_torch_does(cli, cache, tmp_path):
    import numpy as np

    torch_png, onnx_png = tmp_path / "torch.png", tmp_path / "onnx.png"
    assert cli("sample", "dcgan-digits", "-n", "9", "-o", torch_png).exit_code == 0
    result = cli("sample", "dcgan-digits", "-n", "9", "-o", onnx_png, "--backend", "onnxruntime")
    assert result.exit_code == 0, result.output
    a, b = (np.asarray(Image.open(p), dtype=np.int16) for p in (torch_png, onnx_png))
    assert a.shape == b.shape and np.abs(a - b).max() <= 1  # within one 8-bit level
    [exported] = cache.glob("dcgan-*.onnx")
    given = cli("sample", "dcgan-digits", "-n", "9", "-o", tmp_path / "given.png", "--onnx",
                exported)
    assert given.exit_code == 0, given.output
    assert Image.open(tmp_path / "given.png").tobytes() == Image.open(onnx_png).tobytes()
    vary = cli("sample", "dcgan-digits", "--vary", "z", "-o", tmp_path / "v.png", "--backend",
               "onnxruntime")
    assert vary.exit_code == 2 and "--vary draws with the torch backend" in vary.output


def test_an_onnx_file_of_another_architecture_is_refused_in_one_line(cache, tmp_path):
    [exported] = cache.glob("dcgan-*.onnx")
    with pytest.raises(ExportError, match=r"is an export of dcgan, not of this pix2pix model"):
        tiny("pix2pix").onnx_session(exported)
    with pytest.raises(ExportError, match=r"nope.onnx: no such ONNX file"):
        tiny("dcgan").onnx_session(tmp_path / "nope.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(ExportError, match=r"junk.onnx: onnxruntime cannot load it"):
        tiny("dcgan").onnx_session(tmp_path / "junk.onnx")


def test_translate_pads_and_crops_any_size_as_torch_does(cache):
    model = tiny("pix2pix")
    session = model.onnx_session()
    images = torch.rand(2, 3, 21, 37, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad():
        expected = model.translate(images)
    got = session.translate(images)
    assert got.shape == (2, 3, 21, 37) and (got - expected).abs().max() <= TOLERANCE
    with pytest.raises(ganzoo.GanzooError, match=r"has no generate\(\)"):
        session.generate(2)


def test_upscale_runs_each_image_whole_as_torch_does(cli, cache, tmp_path):
    model = tiny("srgan")
    session = model.onnx_session()
    images = torch.rand(1, 3, 9, 14, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad():
        expected = model.upscale(images, tile=None)
    got = session.upscale(images)
    assert got.shape == (1, 3, 36, 56) and (got - expected).abs().max() <= TOLERANCE
    with pytest.raises(ganzoo.GanzooError, match="onnxruntime upscales each image whole"):
        session.upscale(images, tile=8)
    model.save_pretrained(tmp_path / "bundle")
    Image.new("RGB", (14, 9), (20, 200, 90)).save(tmp_path / "small.png")
    result = cli("upscale", tmp_path / "bundle", tmp_path / "small.png", "-o",
                 tmp_path / "big.png", "--backend", "onnxruntime")
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "big.png").size == (56, 36)
    tiles = cli("upscale", tmp_path / "bundle", tmp_path / "small.png", "-o",
                tmp_path / "big.png", "--backend", "onnxruntime", "--tile", "8")
    assert tiles.exit_code == 2 and "--tile is for the torch backend" in tiles.output
