"""ONNX export: every kind of generator matches PyTorch in onnxruntime; mistakes are one line."""

from __future__ import annotations

import attrs
import numpy as np
import pytest
import torch

import ganzoo
from ganzoo.apps.export import TOLERANCE, ExportError, export_onnx
from ganzoo.testing import tiny_model

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")  # torch.onnx.export(dynamo=True) needs it


def run(path, **inputs: torch.Tensor) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {k: v.numpy() for k, v in inputs.items()})[0]


def metadata(path) -> dict[str, str]:
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


def dims(path) -> dict[str, list]:
    return {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]
            for i in onnx.load(str(path)).graph.input}


def test_the_cli_exports_the_shipped_digits_generator_and_reports_the_difference(cli, tmp_path):
    path = tmp_path / "digits.onnx"
    result = cli("export", "dcgan-digits", "--onnx", path)
    assert result.exit_code == 0, result.output
    assert f"wrote {path} (opset " in result.output and "z float32 [batch, 64]" in result.output
    reported = float(result.output.split("max abs difference ")[1].split()[0])
    assert 0 <= reported <= TOLERANCE and "(tolerance 0.0001)" in result.output
    assert dims(path) == {"z": ["batch", 64]}
    info = metadata(path)
    assert info["architecture"] == "dcgan" and info["model"] == "dcgan-digits"
    assert float(info["max_abs_diff"]) == pytest.approx(reported, rel=0.01)
    # An independent check, at a batch size the export did not check: seeds give the same digits.
    model = ganzoo.load("dcgan-digits")
    z = model.sample_latent(5, seed=7)
    with torch.no_grad():
        expected = model.generate(5, seed=7).numpy()
    got = run(path, z=z.reshape(5, -1))
    assert got.shape == (5, 1, 32, 32) and np.abs(got - expected).max() <= TOLERANCE


def test_a_conditional_generator_takes_z_and_int64_labels(tmp_path):
    torch.manual_seed(0)
    model = tiny_model("cgan").eval()
    result = export_onnx(model, tmp_path / "cgan.onnx", name="tiny-cgan")
    assert result.inputs == {"z": "float32 [batch, 8]", "labels": "int64 [batch]"}
    assert metadata(result.path)["num_classes"] == "10"
    z, labels = torch.randn(4, 8), torch.tensor([9, 0, 3, 3])
    with torch.no_grad():
        expected = model.generate(4, z=z, labels=labels).numpy()
    got = run(result.path, z=z, labels=labels)
    assert np.abs(got - expected).max() <= TOLERANCE
    # The label matters: the same z with other labels draws other images.
    assert np.abs(got - run(result.path, z=z, labels=torch.tensor([1, 2, 4, 5]))).max() > 1e-3


def test_pix2pix_runs_at_any_multiple_of_its_size_multiple(tmp_path):
    """With ``test_norm = "batch"`` (the official weights' mode: each image normalised with its
    own statistics) the batch norms export as instance norms; the output must match
    ``translate``, which runs image by image."""
    torch.manual_seed(0)
    model = tiny_model("pix2pix", test_norm="batch").eval()  # depth 4: sides multiple of 16
    result = export_onnx(model, tmp_path / "p2p.onnx")
    assert dims(result.path) == {"image": ["batch", 3, "16*height_blocks", "16*width_blocks"]}
    assert metadata(result.path)["size_multiple"] == "16"
    assert "multiples of 16" in onnx.load(str(result.path)).doc_string
    for shape in [(2, 3, 16, 16), (1, 3, 48, 32)]:
        image = torch.rand(*shape) * 2 - 1
        with torch.no_grad():
            expected = model.translate(image).numpy()
        got = run(result.path, image=image)
        assert got.shape == shape and np.abs(got - expected).max() <= TOLERANCE, shape
    with pytest.raises(Exception, match="Concat"):  # not a multiple of 16: the U-Net cannot join
        run(result.path, image=torch.zeros(1, 3, 24, 16))


def test_a_two_way_model_exports_the_direction_asked_for(tmp_path):
    if "cyclegan" not in ganzoo.list_names("architectures"):
        pytest.skip("the cyclegan plugin is not installed")
    torch.manual_seed(0)
    model = tiny_model("cyclegan", output_nc=1).eval()  # A: RGB, B: gray
    result = export_onnx(model, tmp_path / "ba.onnx", direction="ba")
    assert result.inputs == {"image": "float32 [batch, 1, 4*height_blocks, 4*width_blocks]"}
    assert metadata(result.path)["direction"] == "ba"
    assert "(B->A)" in onnx.load(str(result.path)).doc_string
    image = torch.rand(1, 1, 12, 20) * 2 - 1
    got = run(result.path, image=image)
    with torch.no_grad():
        assert got.shape == (1, 3, 12, 20)
        assert np.abs(got - model.translate(image, direction="ba").numpy()).max() <= TOLERANCE
    with pytest.raises(ExportError, match="direction 'up': expected 'ab' .* or 'ba'"):
        export_onnx(model, tmp_path / "x.onnx", direction="up")
    one_way = tiny_model("cyclegan", one_way=True).eval()  # a converted official release
    with pytest.raises(ExportError, match="direction 'ba': this CycleGAN model holds only the "
                                          "A -> B generator"):
        export_onnx(one_way, tmp_path / "x.onnx", direction="ba")


def test_a_mismatch_beyond_the_tolerance_writes_nothing(tmp_path, monkeypatch):
    torch.manual_seed(0)
    model = tiny_model("dcgan").eval()
    default = model.onnx_export_spec

    def off_by_a_hundredth(**options):  # a plugin's own spec, disagreeing with what it exports
        spec = default(**options)
        return attrs.evolve(spec, reference=lambda z: spec.reference(z) + 0.01)

    monkeypatch.setattr(model, "onnx_export_spec", off_by_a_hundredth)
    path = tmp_path / "g.onnx"
    path.write_bytes(b"previous")
    with pytest.raises(ExportError, match=r"differs from PyTorch by up to 0\.01 .*tolerance "
                                          r"0\.0001\); nothing was written"):
        export_onnx(model, path)
    assert path.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["g.onnx"]  # no temporary file left
    # Within a looser tolerance it is written; here with a fixed batch size.
    result = export_onnx(model, path, tolerance=0.02, batch=3)
    assert result.max_abs_diff == pytest.approx(0.01, abs=1e-4) and result.checks == 1
    assert dims(path) == {"z": [3, 8]}


@pytest.mark.parametrize("args,code,message", [
    (["dcgan-digitz", "--onnx", "{tmp}/g.onnx"], 1,
     "ganzoo: no weights named 'dcgan-digitz'. Did you mean 'dcgan-digits'?"),
    (["dcgan-digits", "--onnx", "{tmp}/missing/g.onnx"], 1,
     "ganzoo: {tmp}/missing/g.onnx: folder {tmp}/missing does not exist; create it first"),
    (["dcgan-digits", "--onnx", "{tmp}/g.onnx", "--direction", "ba"], 1,
     "ganzoo: direction 'ba': dcgan is an unconditional model with a single generator; a "
     "direction is only for two-way models such as CycleGAN"),
    (["dcgan-digits", "--onnx", "{tmp}/g.onnx", "--batch", "many"], 2,
     "Invalid value for --batch: 'many': expected 'dynamic' or a batch size like 8"),
    (["dcgan-digits", "--onnx", "{tmp}/g.onnx", "--opset", "99"], 1,
     "ganzoo: opset 99: this onnx"),
])
def test_mistakes_are_one_line_errors_and_write_nothing(cli, tmp_path, args, code, message):
    result = cli("export", *[a.format(tmp=tmp_path) for a in args])
    assert result.exit_code == code and message.format(tmp=tmp_path) in result.output
    assert "Traceback" not in result.output and not list(tmp_path.rglob("*.onnx"))


def test_a_one_way_translator_refuses_a_direction_it_lacks(tmp_path):
    with pytest.raises(ExportError, match="direction 'ba': this pix2pix model translates in 'ab' "
                                          "only"):
        export_onnx(tiny_model("pix2pix").eval(), tmp_path / "p.onnx", direction="ba")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("stage", [1, 2])
def test_stackgan_exports_the_path_after_its_text_encoder(tmp_path, stage):
    torch.manual_seed(0)
    model = tiny_model("stackgan", stage=stage, stage1="untrained" if stage == 2 else "").eval()
    result = export_onnx(model, tmp_path / "stackgan.onnx", name="tiny-stackgan")
    noises = {"noise1": "float32 [batch, 4]", **({"noise2": "float32 [batch, 4]"}
                                                  if stage == 2 else {})}
    assert result.inputs == {"embedding": "float32 [batch, 8]", "z": "float32 [batch, 4]",
                             **noises}
    assert metadata(result.path)["stage"] == str(stage)
    # Captions encoded by the model, then the graph: the same images as model.generate.
    model.learn_words(["a thick seven", "a thin one"])
    embedding = model.embed_text(["a thick seven", "a thin one"])
    g = torch.Generator().manual_seed(3)
    inputs = {"embedding": embedding, "z": torch.randn(2, 4, generator=g),
              **{name: torch.randn(2, 4, generator=g) for name in noises}}
    with torch.no_grad():
        expected = model.gen(*inputs.values()).numpy()
    got = run(result.path, **{k: v.detach() for k, v in inputs.items()})
    assert got.shape == (2, 1, 16 * stage, 16 * stage)
    assert np.abs(got - expected).max() <= TOLERANCE
    with pytest.raises(ExportError, match="single text-to-image generator"):
        export_onnx(model, tmp_path / "x.onnx", direction="ab")
