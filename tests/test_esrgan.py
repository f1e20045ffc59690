"""ESRGAN inside the srgan plugin: the RRDB generator, the relativistic-average GAN stage and the
converter of ESRGAN's and Real-ESRGAN's published RRDBNet weights."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import ganzoo
from ganzoo.nn.losses import relativistic_average_d, relativistic_average_g
from ganzoo.testing import check_architecture, tiny_model, train_steps

pytest.importorskip("ganzoo_srgan")


def test_the_rrdb_architecture_passes_the_conformance_check(tmp_path):
    check_architecture("srgan", tmp_path, generator="rrdb", growth=4)


def test_the_rrdb_generator_has_esrgans_size_and_upscales_x4():
    model = ganzoo.create("srgan", generator="rrdb", blocks=23)
    gen = model.gen
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in gen.modules())  # ESRGAN: no BN
    # RRDBNet(3, 3, 64, 23, gc=32), as published: 16,697,987 parameters
    assert sum(p.numel() for p in gen.parameters()) == 16_697_987
    small = ganzoo.create("srgan", generator="rrdb", blocks=1, width=8, growth=4).eval()
    with torch.no_grad():
        assert small.upscale(torch.zeros(1, 3, 5, 7), tile=None).shape == (1, 3, 20, 28)


def test_rrdb_tiled_upscaling_equals_untiled():
    torch.manual_seed(0)
    model = tiny_model("srgan", generator="rrdb", blocks=1, width=8, growth=4).eval()
    for p in model.gen.parameters():
        p.data.normal_(0, 0.2)
    image = torch.rand(1, 3, 45, 61) * 2 - 1
    with torch.no_grad():
        whole = model.upscale(image, tile=None)
        tiled = model.upscale(image, tile=16)
        rough = model.upscale(image, tile=16, overlap=2)
    assert (tiled - whole).abs().max() < 1e-4
    assert (rough - whole).abs().max() > 1e-3  # the radius matters: too little context shows


def test_the_relativistic_average_losses():
    real, fake = torch.tensor([3.0, 5.0]), torch.tensor([-4.0, -2.0])
    # real - mean(fake) = 6, 8 and fake - mean(real) = -8, -6: BCE on logits is softplus(-x)
    sp = lambda x: math.log1p(math.exp(-x))  # noqa: E731
    expected = 0.5 * ((sp(6) + sp(8)) / 2 + (sp(8) + sp(6)) / 2)
    assert math.isclose(float(relativistic_average_d(real, fake)), expected, rel_tol=1e-5)
    assert expected < 2e-3  # D sure and right
    assert relativistic_average_g(real, fake) > 5.0  # so G is far from fooling it
    same = torch.zeros(4)
    assert math.isclose(float(relativistic_average_d(same, same)), math.log(2), rel_tol=1e-6)
    assert torch.equal(relativistic_average_g(real, fake), relativistic_average_d(fake, real))


def test_the_esrgan_step_updates_the_discriminator_then_the_generator():
    torch.manual_seed(0)
    model = tiny_model("srgan", generator="rrdb", growth=4)
    batch = model.example_batch(2, generator=torch.Generator().manual_seed(0))
    disc_before = [p.clone() for p in model.disc.parameters()]
    gen_before = [p.clone() for p in model.gen.parameters()]
    losses = train_steps(model, "esrgan", batch, steps=1)[0]
    assert set(losses) == {"loss_d", "loss_g_content", "loss_g_gan"}
    assert any(not torch.equal(a, b) for a, b in zip(disc_before, model.disc.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(gen_before, model.gen.parameters()))


def test_the_esrgan_trainer_refuses_an_adversarial_loss_it_would_ignore():
    recipe = {"architecture": "srgan", "trainer": "esrgan",
              "data": {"dataset": "sr-photos", "crop": 16, "photo_size": 32},
              "model": {"generator": "rrdb", "blocks": 1, "width": 4, "resolution": 16},
              "train": {"loss": "hinge"}}
    with pytest.raises(ganzoo.RecipeError, match="loss"):
        ganzoo.Recipe.from_dict(recipe)


# -- converting RRDBNet weights ----------------------------------------------------------------
def _rrdbnet_state(blocks: int, *, scheme: str, nf: int = 64, gc: int = 32, seed: int = 0):
    """A state dict with exactly the key names and shapes of xinntao's RRDBNet (``scheme``:
    ``"esrgan"`` for ESRGAN's RRDBNet_arch.py, ``"basicsr"`` for BasicSR/Real-ESRGAN)."""
    g = torch.Generator().manual_seed(seed)

    def conv(cin, cout):
        return {"weight": torch.randn(cout, cin, 3, 3, generator=g) * 0.05,
                "bias": torch.randn(cout, generator=g) * 0.01}

    names = {"esrgan": ("RRDB_trunk.{i}.RDB{j}.conv{k}", "trunk_conv", "upconv{u}", "HRconv"),
             "basicsr": ("body.{i}.rdb{j}.conv{k}", "conv_body", "conv_up{u}", "conv_hr")}[scheme]
    layers = {"conv_first": conv(3, nf)}
    for i in range(blocks):
        for j in (1, 2, 3):
            for k in range(1, 6):
                layers[names[0].format(i=i, j=j, k=k)] = conv(nf + (k - 1) * gc, gc if k < 5 else nf)
    layers[names[1]] = conv(nf, nf)
    for u in (1, 2):
        layers[names[2].format(u=u)] = conv(nf, nf)
    layers[names[3]] = conv(nf, nf)
    layers["conv_last"] = conv(nf, 3)
    return {f"{layer}.{p}": t for layer, params in layers.items() for p, t in params.items()}


def _their_forward(state, x, *, scheme):
    """RRDBNet's forward, written from the ESRGAN paper on the raw state dict (RGB in [0, 1])."""
    def conv(name, t):
        return F.conv2d(t, state[f"{name}.weight"], state[f"{name}.bias"], padding=1)

    trunk, body, up, hr = {"esrgan": ("RRDB_trunk.{i}.RDB{j}.conv{k}", "trunk_conv", "upconv{u}", "HRconv"),
                           "basicsr": ("body.{i}.rdb{j}.conv{k}", "conv_body", "conv_up{u}", "conv_hr")}[scheme]
    blocks = len({k.split(".")[1] for k in state if k.startswith(trunk.split(".")[0] + ".")})
    fea = conv("conv_first", x)
    out = fea
    for i in range(blocks):
        block_in = out
        for j in (1, 2, 3):
            feats = [out]
            for k in range(1, 6):
                y = conv(trunk.format(i=i, j=j, k=k), torch.cat(feats, 1))
                if k < 5:
                    feats.append(F.leaky_relu(y, 0.2))
            out = y * 0.2 + out
        out = out * 0.2 + block_in
    fea = fea + conv(body, out)
    for u in (1, 2):
        fea = F.leaky_relu(conv(up.format(u=u), F.interpolate(fea, scale_factor=2, mode="nearest")), 0.2)
    return conv("conv_last", F.leaky_relu(conv(hr, fea), 0.2))


@pytest.mark.parametrize("scheme,wrapper", [("esrgan", None), ("basicsr", "params_ema")])
def test_converted_rrdbnet_weights_upscale_like_the_original(tmp_path, scheme, wrapper):
    from ganzoo.hub.convert import convert_file

    state = _rrdbnet_state(2, scheme=scheme)
    path = tmp_path / "RRDB.pth"
    torch.save(state if wrapper is None else {wrapper: state, "params": {}}, path)
    model = convert_file("ganzoo_srgan.convert_esrgan:convert", path, tmp_path / "bundle")
    assert (model.config.generator, model.config.blocks, model.config.growth) == ("rrdb", 2, 32)
    image = torch.rand(1, 3, 9, 11)
    with torch.no_grad():
        theirs = _their_forward(state, image, scheme=scheme).clamp(0, 1)
        ours = (ganzoo.load(str(tmp_path / "bundle")).upscale(image * 2 - 1, tile=None) + 1) / 2
    assert (ours - theirs).abs().max() < 1e-5


def test_the_x2_basicsr_rrdbnet_is_refused_in_one_line(tmp_path):
    from ganzoo.hub.convert import convert_file

    state = _rrdbnet_state(1, scheme="basicsr")
    state["conv_first.weight"] = torch.zeros(64, 12, 3, 3)  # pixel-unshuffled x2 input
    torch.save(state, tmp_path / "x2.pth")
    with pytest.raises(ganzoo.CheckpointError, match="12 input channels.*x4 files"):
        convert_file("ganzoo_srgan.convert_esrgan:convert", tmp_path / "x2.pth", tmp_path / "b")


def test_real_esrgan_is_registered_with_its_converter():
    entry = ganzoo.get("weights", "realesrgan-x4plus")
    assert entry.converter == "ganzoo_srgan.convert_esrgan:convert"
    assert entry.url.endswith("/RealESRGAN_x4plus.pth")


@pytest.mark.parametrize("damage,message", [
    ("missing", r"missing 1 tensor\(s\) e\.g\. 'blocks\.0\.dense\.1\.convs\.2\.weight'"),
    ("shape", r"shape mismatch for 'hr\.weight': file \(64, 64, 5, 5\)"),
    ("truncated", r"truncated, corrupt or not a PyTorch file"),
    ("foreign", r"unexpected key 'encoder\.weight': not an ESRGAN/Real-ESRGAN RRDBNet"),
])
def test_a_damaged_rrdbnet_file_is_one_line_naming_what_is_wrong(tmp_path, damage, message):
    from ganzoo.hub.convert import convert_file

    state = _rrdbnet_state(1, scheme="basicsr")
    if damage == "missing":
        del state["body.0.rdb2.conv3.weight"]
    elif damage == "shape":
        state["conv_hr.weight"] = torch.zeros(64, 64, 5, 5)
    elif damage == "foreign":
        state["encoder.weight"] = torch.zeros(1)
    path = tmp_path / "RRDB.pth"
    torch.save(state, path)
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(ganzoo.CheckpointError, match=message):
        convert_file("ganzoo_srgan.convert_esrgan:convert", path, tmp_path / "bundle")
    assert not (tmp_path / "bundle").exists()
