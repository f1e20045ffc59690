"""The fast path (fused Adam, frozen D, bf16 autocast, channels_last) keeps the numerics of the
eager fp32 reference step. Speed itself is measured in benchmarks/, never here."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

import ganzoo
import ganzoo.plugin.manager as plugins
from ganzoo.plugin.registry import load_ref
from ganzoo.config.structure import structure
from ganzoo.testing import items_of, tiny_config
from ganzoo.training.context import StepContext
from ganzoo.training.lifecycle import prepare


def losses_over_steps(architecture: str, *, fast: bool, amp: str, steps: int = 4,
                      compile: bool = False) -> list:
    torch.manual_seed(0)
    model = ganzoo.create(architecture, **ganzoo.get("architectures", architecture).tiny)
    assert model.config == tiny_config(architecture)
    entry = plugins.registry("trainers").get(ganzoo.get("architectures", architecture).trainer)
    cfg = structure({"device": "cpu", "amp": amp if fast else "none",
                     "channels_last": fast}, entry.config_cls, section="train")
    ctx = StepContext(cfg, torch.device("cpu"))
    ctx.freeze = ctx.fused_adam = ctx.release_grads = fast
    if fast:
        model = model.to(memory_format=torch.channels_last)
    if compile:  # as the training loop does with [train] compile = true
        for name in model.components:
            getattr(model, name).compile()
    batch = ctx.to_device(model.example_batch(8, generator=torch.Generator().manual_seed(1)))
    opt = SimpleNamespace(**prepare(entry, model, cfg, ctx, items_of(batch)))
    step = load_ref(entry.step)
    history = []
    for i in range(steps):
        ctx.begin_step(i)
        history.append({k: float(v) for k, v in step(batch, model, opt, ctx).items()})
    return history


@pytest.mark.parametrize("architecture", ["dcgan", "cgan", "pix2pix"])
def test_fast_path_losses_match_the_eager_reference(architecture):
    reference = losses_over_steps(architecture, fast=False, amp="none")
    fp32_fast = losses_over_steps(architecture, fast=True, amp="none")
    bf16_fast = losses_over_steps(architecture, fast=True, amp="bf16")
    for ref, same, low in zip(reference, fp32_fast, bf16_fast, strict=True):
        for key in ref:
            # Without autocast the fast path is the same math: fp32 rounding only.
            assert same[key] == pytest.approx(ref[key], rel=1e-4, abs=1e-5), key
            # bf16 keeps ~3 significant digits; over a few steps the losses stay close.
            assert low[key] == pytest.approx(ref[key], rel=5e-2, abs=5e-2), key


@pytest.mark.slow
def test_compiled_networks_keep_the_eager_numerics():
    pytest.importorskip("torch._inductor")
    reference = losses_over_steps("dcgan", fast=False, amp="none", steps=3)
    compiled = losses_over_steps("dcgan", fast=True, amp="none", steps=3, compile=True)
    for ref, got in zip(reference, compiled, strict=True):
        for key in ref:
            assert got[key] == pytest.approx(ref[key], rel=1e-4, abs=1e-5), key


def test_compile_keeps_the_names_of_checkpoints_and_weights(tiny_recipe, tmp_path):
    from ganzoo import Recipe
    from ganzoo.hub.bundle import state_tensors
    from ganzoo.training.loop import _Session

    session = _Session(Recipe.from_toml(tiny_recipe, ["train.compile=true"]), tmp_path)
    plain = _Session(Recipe.from_toml(tiny_recipe), tmp_path)
    assert list(state_tensors(session.model)) == list(state_tensors(plain.model))


def test_auto_precision_is_the_default_and_picks_what_the_device_runs_natively(monkeypatch):
    from ganzoo.training.context import native_amp

    cfg = structure({"device": "cpu"}, ganzoo.TrainConfig, section="train")
    assert cfg.amp == "auto"
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    assert StepContext(cfg, torch.device("cpu")).amp_dtype is torch.bfloat16
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True)
    assert StepContext(cfg, torch.device("cpu")).amp == "bf16"
    # The flags say bf16 but torch's kernels are held below AVX-512 (ATEN_CPU_CAPABILITY=avx2,
    # ONEDNN_MAX_CPU_ISA=AVX2): every bf16 convolution would be emulated, so fp32.
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert native_amp(torch.device("cpu")) == "none"
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "avx512_core_amx")
    assert native_amp(torch.device("cpu")) == "bf16"
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx2")
    assert native_amp(torch.device("cpu")) == "none"
    monkeypatch.delenv("ATEN_CPU_CAPABILITY")
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    # AVX-512 without native bf16: oneDNN would emulate bf16, slower than fp32, so fp32 it is.
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True)
    assert StepContext(cfg, torch.device("cpu")).amp == "none"
    assert StepContext(cfg, torch.device("cpu")).amp_dtype is None
    fixed = structure({"device": "cpu", "amp": "none"}, ganzoo.TrainConfig, section="train")
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)
    assert StepContext(fixed, torch.device("cpu")).amp_dtype is None  # "none" means fp32
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert native_amp(torch.device("cuda")) == "fp16"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert native_amp(torch.device("cuda")) == "bf16"
    assert native_amp(torch.device("mps")) == "none"


def test_update_releases_gradients_after_the_step_unless_told_to_keep_them():
    net = torch.nn.Linear(3, 2)
    cfg = structure({"device": "cpu"}, ganzoo.TrainConfig, section="train")
    ctx = StepContext(cfg, torch.device("cpu"))
    opt = ctx.adam(net.parameters(), lr=0.1)
    before = net.weight.detach().clone()
    ctx.update(opt, net(torch.ones(4, 3)).square().mean())
    assert not torch.equal(net.weight, before)  # the step happened
    assert all(p.grad is None for p in net.parameters())  # and its gradients are gone
    ctx.release_grads = False  # the reference step keeps them until the next zero_grad
    ctx.update(opt, net(torch.ones(4, 3)).square().mean())
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())


def test_autocast_caches_weight_copies_only_when_autograd_keeps_them():
    cfg = structure({"device": "cpu", "amp": "bf16"}, ganzoo.TrainConfig, section="train")
    ctx = StepContext(cfg, torch.device("cpu"))
    net = torch.nn.Conv2d(3, 4, 3)
    x = torch.randn(2, 3, 8, 8)
    with ctx.autocast():
        assert torch.is_autocast_cache_enabled()
        trained = net(x)
    with torch.no_grad(), ctx.autocast():
        assert not torch.is_autocast_cache_enabled()  # inference: copies dropped after each op
        inferred = net(x)
    assert inferred.dtype == trained.dtype == torch.bfloat16
    torch.testing.assert_close(inferred, trained.detach())


def test_channels_last_auto_follows_the_architecture_and_resumed_runs_keep_their_layout(
        tiny_recipe, tmp_path):
    import json

    from ganzoo import Recipe
    from ganzoo.training import rundir
    from ganzoo.training.loop import _Session, _started_layout

    recipe = Recipe.from_toml(tiny_recipe)  # a DCGAN: measured to train faster channels_last
    assert recipe.train.channels_last == "auto"
    session = _Session(recipe, tmp_path / "a")
    weight = session.model.gen[0].weight
    assert session.ctx.channels_last and weight.is_contiguous(memory_format=torch.channels_last)
    forced = _Session(Recipe.from_toml(tiny_recipe, ["train.channels_last=false"]), tmp_path / "b")
    assert not forced.ctx.channels_last and forced.model.gen[0].weight.is_contiguous()

    pix2pix = ganzoo.create("pix2pix", **ganzoo.get("architectures", "pix2pix").tiny)
    cfg = structure({"device": "cpu"}, ganzoo.TrainConfig, section="train")
    assert StepContext(cfg, torch.device("cpu")).use_channels_last(pix2pix) is False

    # A run that started before the layout was recorded continues in the default layout.
    run = tmp_path / "run"
    run.mkdir()
    (run / rundir.RUN_INFO_NAME).write_text(json.dumps({"precision": "fp32"}))
    assert _started_layout(run, recipe) is False
    (run / rundir.RUN_INFO_NAME).write_text(json.dumps({"channels_last": True}))
    assert _started_layout(run, recipe) is True
    forced = Recipe.from_toml(tiny_recipe, ["train.channels_last=false"])
    assert _started_layout(run, forced) is None  # the recipe decides
