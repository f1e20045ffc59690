"""``benchmarks.run --against PATH`` times the reference implementations themselves. CI has no
checkout of them, so these tests write a tiny fake one with the same module, class and loop
names and check the plumbing: the user's checkout is imported (or, for dcgan/main.py, its
classes and loop body executed), never ganzoo's re-creation. Nothing is timed for real here."""

from __future__ import annotations

import sys
import textwrap

import pytest
import torch

from benchmarks import against, configs
from benchmarks.run import main, time_pair

_TRANSLATION = '''
import torch

class {cls}:
    """Stands in for the reference's model: one net, a real optimizer step per call."""
    instances = []

    def __init__(self, opt):
        self.opt, self.calls, self.model_names = opt, [], ["G"]
        self.netG = torch.nn.Conv2d(3, 3, 1)
        self.optimizer_G = torch.optim.SGD(self.netG.parameters(), lr=0.1)
        self.instances.append(self)

    def set_input(self, input):
        self.real_A, self.real_B = input["A"], input["B"]

    def optimize_parameters(self):
        self.optimizer_G.zero_grad()
        (self.netG(self.real_A) - self.real_B).abs().mean().backward()
        self.optimizer_G.step()
        self.calls.append(tuple(self.real_A.shape))
'''

_DCGAN_MAIN = '''
import torch
import torch.nn as nn
raise SystemExit("main.py must not run: it parses arguments and loads a dataset")

class Generator(nn.Module):
    def __init__(self, ngpu):
        super().__init__()
        self.main = nn.Sequential(nn.ConvTranspose2d(nz, nc, 4, 1, 0), nn.Tanh())

    def forward(self, input):
        return self.main(input)

class Discriminator(nn.Module):
    def __init__(self, ngpu):
        super().__init__()
        self.main = nn.Sequential(nn.Conv2d(nc, 1, 4, 1, 0), nn.AdaptiveAvgPool2d(1), nn.Sigmoid())

    def forward(self, input):
        return self.main(input).view(-1, 1).squeeze(1)

for epoch in range(opt.niter):
    for i, data in enumerate(dataloader, 0):
        netD.zero_grad()
        real_cpu = data[0].to(device)
        batch_size = real_cpu.size(0)
        label = torch.full((batch_size,), real_label, dtype=real_cpu.dtype, device=device)
        errD_real = criterion(netD(real_cpu), label)
        errD_real.backward()
        noise = torch.randn(batch_size, nz, 1, 1, device=device)
        fake = netG(noise)
        label.fill_(fake_label)
        errD_fake = criterion(netD(fake.detach()), label)
        errD_fake.backward()
        optimizerD.step()
        netG.zero_grad()
        label.fill_(real_label)
        errG = criterion(netD(fake), label)
        errG.backward()
        optimizerG.step()
        print("step", i)
        if opt.dry_run:
            break
'''


@pytest.fixture
def checkouts(tmp_path):
    pix2pix = tmp_path / "pytorch-CycleGAN-and-pix2pix"
    (pix2pix / "models").mkdir(parents=True)
    (pix2pix / "models" / "__init__.py").write_text("")
    (pix2pix / "models" / "pix2pix_model.py").write_text(_TRANSLATION.format(cls="Pix2PixModel"))
    (pix2pix / "models" / "cycle_gan_model.py").write_text(
        _TRANSLATION.format(cls="CycleGANModel"))
    examples = tmp_path / "examples"
    (examples / "dcgan").mkdir(parents=True)
    (examples / "dcgan" / "main.py").write_text(textwrap.dedent(_DCGAN_MAIN))
    yield pix2pix, examples
    for name in [n for n in sys.modules if n == "models" or n.startswith("models.")]:
        del sys.modules[name]  # the fake's top-level package must not leak into other tests


def test_checkouts_are_recognised_by_their_files_and_anything_else_is_one_line(checkouts,
                                                                               tmp_path):
    pix2pix, examples = checkouts
    assert against.checkouts([str(examples), str(pix2pix)]) == {"pix2pix": pix2pix,
                                                                 "examples": examples}
    with pytest.raises(SystemExit, match=r"--against .*elsewhere: not a checkout of junyanz"):
        main(["--suite", "train", "--against", str(tmp_path / "elsewhere")])
    with pytest.raises(SystemExit, match="--against runs the reference code on the CPU only"):
        main(["--suite", "train", "--device", "cuda", "--against", str(examples)])


@pytest.mark.parametrize("architecture, config, net_g", [
    ("pix2pix", {"resolution": 16, "depth": 4}, "unet_16"),
    ("cyclegan", {"resolution": 16, "blocks": 9}, "resnet_9blocks")])
def test_translation_steps_are_the_checkouts_optimize_parameters(checkouts, architecture,
                                                                 config, net_g):
    once = against.reference_step(architecture, config, 2, against.checkouts(map(str,
                                                                                checkouts)))
    model = once.model
    assert type(model).__module__ in ("models.pix2pix_model", "models.cycle_gan_model")
    assert model.opt.netG == net_g and model.opt.input_nc == 3 and not model.opt.gpu_ids
    before = model.netG.weight.detach().clone()
    once()
    once()
    assert model.calls == [(2, 3, 16, 16)] * 2  # the configuration's batch, twice
    assert not torch.equal(model.netG.weight, before)  # its own optimizer stepped


def test_dcgan_step_is_the_loop_body_of_main_py_without_running_the_script(checkouts):
    _, examples = checkouts
    config = {"resolution": 4, "channels": 3, "z_dim": 5, "gen_width": 2, "disc_width": 2}
    once = against.reference_step("dcgan", config, 3, {"examples": examples})
    before = {name: net.main[0].weight.detach().clone() for name, net in once.nets.items()}
    once()
    assert once.nets["gen"].main[0].in_channels == 5  # main.py's globals set from the config
    for name, net in once.nets.items():
        assert not torch.equal(net.main[0].weight, before[name]), name  # both updates ran


def test_time_pair_times_the_reference_beside_both_ganzoo_modes(checkouts, monkeypatch):
    _, examples = checkouts
    monkeypatch.setitem(configs.STANDARD, "tiny-dcgan", (
        "dcgan", {"resolution": 16, "channels": 3, "z_dim": 8, "gen_width": 4, "disc_width": 4},
        2))
    rows = time_pair("tiny-dcgan", "train", "cpu", steps=2, warmup=0, against=[str(examples)])
    assert list(rows) == ["reference", "eager", "fast"]
    for row in rows.values():
        assert row["median_cpu_s"] > 0 and row["images_per_s"] > 0
        assert row["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
        # ganzoo's networks at this size, counted once: every mode is credited the same work.
        assert row["gflop_per_step"] == rows["eager"]["gflop_per_step"] > 0
    assert rows["reference"]["options"]["checkout"] == [str(examples.resolve())]
    # Without a checkout of its own, an architecture is timed against ganzoo's eager step only.
    assert list(time_pair("tiny-dcgan", "train", "cpu", steps=1, warmup=0)) == ["eager", "fast"]
