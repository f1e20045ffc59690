"""The inference fast path: what "auto" resolves to, fp32 kept bit for bit, bf16 within its
tolerance of fp32 for every kind, and the model left as it was."""

from __future__ import annotations

import pytest
import torch

import ganzoo
from ganzoo.base.errors import GanzooError
from ganzoo.nn.inference import PRECISIONS, plan

#: bf16 keeps 8 bits of mantissa: on outputs in [-1, 1] a few 1e-3 on average, and the worst
#: pixel of an untrained (badly conditioned) network within a few 1e-2.
MEAN_TOLERANCE = 5e-3
MAX_TOLERANCE = 5e-2
#: ... and on trained weights (the shipped digits generator, retrained 2026-12-01: worst pixel
#: 0.0105-0.0168 and mean 0.0012-0.0013 over seeds 0-9) the worst pixel within 3e-2, the mean 2e-3.
TRAINED_MAX_TOLERANCE = 3e-2
TRAINED_MEAN_TOLERANCE = 2e-3


#: An untrained captions encoder knows no words yet: feed StackGAN embeddings.
OVERRIDES = {"stackgan": {"text_encoder": "embeddings"}}


def tiny(architecture: str):
    torch.manual_seed(0)
    config = {**ganzoo.get("architectures", architecture).tiny, **OVERRIDES.get(architecture, {})}
    return ganzoo.create(architecture, **config)


def draw(runner, model, direction=None):
    """The kind's verb on seeded inputs (runner: the model itself or a fast path)."""
    rng = torch.Generator().manual_seed(1)
    if isinstance(model, ganzoo.TextToImage):
        embeddings = model.example_batch(3, generator=rng)["embedding"]
        return runner.generate(3, seed=1, embeddings=embeddings)
    if isinstance(model, ganzoo.LatentGenerator):
        return runner.generate(5, seed=1)
    if isinstance(model, ganzoo.Translator):
        channels = model.channels(direction or model.directions[0])[0]
        images = torch.rand(2, channels, 19, 23, generator=rng) * 2 - 1
        return runner.translate(images, direction=direction)
    images = torch.rand(2, 3, 11, 13, generator=rng) * 2 - 1
    return runner.upscale(images, tile=None)


CASES = [(name, None) for name in ganzoo.list_names("architectures")] + [("cyclegan", "ba")]


@pytest.mark.parametrize(("architecture", "direction"), CASES)
def test_bf16_channels_last_matches_fp32_within_tolerance_and_leaves_the_model_as_it_was(
        architecture, direction):
    model = tiny(architecture)
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fast = model.fast_path(precision="bf16", channels_last=True)
    assert fast.plan.dtype is torch.bfloat16 and fast.plan.channels_last
    got = draw(fast, model, direction)
    assert model.training  # given back in the mode it was in
    model.eval()
    with torch.no_grad():
        reference = draw(model, model, direction)
    assert got.dtype is torch.float32 and got.shape == reference.shape
    error = (got - reference).abs()
    assert 0 < error.max() <= MAX_TOLERANCE, f"{architecture}: max {error.max():.3g}"
    assert error.mean() <= MEAN_TOLERANCE, f"{architecture}: mean {error.mean():.3g}"
    # The model's own weights are untouched and contiguous (a bundle can still be written).
    for key, value in model.state_dict().items():
        assert value.is_contiguous() and torch.equal(value, before[key]), key
    assert all(getattr(model, name) is not None and not isinstance(
        getattr(model, name), torch._dynamo.eval_frame.OptimizedModule)
        for name in model.generator_components)


@pytest.mark.parametrize("architecture", ["dcgan", "pix2pix", "srgan"])
def test_fp32_is_the_plain_path_bit_for_bit(architecture):
    model = tiny(architecture).eval()
    exact = model.fast_path(precision="fp32")
    assert exact.plan.exact and exact.plan.dtype is None
    with torch.no_grad():
        assert torch.equal(draw(exact, model), draw(model, model))


def test_trained_digits_in_bf16_stay_close_to_fp32():
    model = ganzoo.load("dcgan-digits")
    with torch.no_grad():
        reference = model.generate(64, seed=3)
    got = model.fast_path(precision="bf16").generate(64, seed=3)
    difference = (got - reference).abs()
    assert 0 < difference.max() <= TRAINED_MAX_TOLERANCE
    assert difference.mean() <= TRAINED_MEAN_TOLERANCE


def test_auto_takes_the_native_precision_and_the_architectures_channels_last(monkeypatch):
    model = tiny("dcgan")
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True)
    auto = plan(model)
    assert (auto.precision, auto.requested, auto.compile) == ("bf16", "auto", False)
    assert auto.channels_last is type(model).fast_channels_last
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    assert plan(model).precision == "fp32"  # AVX2 / AVX-512 without bf16: fp32 is faster
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True)
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx2")
    assert plan(model).precision == "fp32"  # torch capped to AVX2 to emulate an older CPU
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    assert not plan(model, precision="fp32").channels_last  # exact means exact
    assert plan(model, precision="fp32", channels_last=True).channels_last  # unless asked
    monkeypatch.setattr(type(model), "fast_channels_last", not type(model).fast_channels_last)
    assert plan(model).channels_last is type(model).fast_channels_last
    assert "fp32" in plan(model, precision="fp32").describe()
    assert plan(model, precision="bf16").describe().startswith("bf16 autocast")


def test_an_unknown_precision_is_one_line_naming_the_choices():
    with pytest.raises(GanzooError, match=r"precision 'fp64': expected one of 'auto', 'fp32'"):
        plan(tiny("dcgan"), precision="fp64")


def test_a_verb_of_another_kind_says_which_kind_it_is_for():
    with pytest.raises(GanzooError, match=r"a translator \(pix2pix\) has no generate\(\)"):
        tiny("pix2pix").fast_path().generate(2)


def test_the_cli_spells_the_same_precisions():
    from ganzoo.apps import cli_inference

    assert cli_inference.PRECISIONS == PRECISIONS


def test_sample_and_translate_take_a_precision(cli, tmp_path):
    from PIL import Image

    out = tmp_path / "g.png"
    assert cli("sample", "dcgan-digits", "-n", "4", "-o", out, "--precision", "bf16"
               ).exit_code == 0
    assert Image.open(out).size == (2 * 34 + 2, 2 * 34 + 2)
    bad = cli("sample", "dcgan-digits", "-o", out, "--precision", "fp64")
    assert bad.exit_code == 2 and "'fp64' is not one of 'auto', 'fp32', 'bf16', 'fp16'" in \
        bad.output
    both = cli("sample", "dcgan-digits", "-o", out, "--precision", "bf16", "--backend",
               "onnxruntime")
    assert both.exit_code == 2 and "--precision bf16 is for the torch backend" in both.output
    model = tiny("pix2pix")
    model.save_pretrained(tmp_path / "bundle")
    Image.new("RGB", (21, 13), (200, 30, 90)).save(tmp_path / "x.png")
    result = cli("translate", tmp_path / "bundle", tmp_path / "x.png", "-o", tmp_path / "out",
                 "--precision", "auto")
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "out" / "x.png").size == (21, 13)
