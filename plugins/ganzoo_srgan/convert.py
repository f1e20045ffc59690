"""Lornatang/SRGAN-PyTorch's SRResNet / SRGAN generators -> ganzoo's srgan.

That project (an op-for-op reimplementation of the paper that publishes its x2/x4/x8 weights,
``SRResNet_x4-SRGAN_ImageNet.pth.tar`` and ``SRGAN_x4-SRGAN_ImageNet.pth.tar`` on the Hugging
Face Hub under ``goodfellowliu/SRGAN-PyTorch``) saves ``{"state_dict": ..., "epoch": ...}``
whose generator keys are:

==================================  ===============================
theirs                              ganzoo
==================================  ===============================
``conv1.0`` (9x9 conv), ``conv1.1``  ``head.0``, ``head.1`` (PReLU)
``trunk.{i}.rcb.{0..4}``            ``blocks.{i}.body.{0..4}``
``conv2.0``, ``conv2.1`` (BN)       ``fuse.0``, ``fuse.1``
``upsampling.{k}.upsample_block.0`` ``upsample.{k}.conv``
``upsampling.{k}.upsample_block.2`` ``upsample.{k}.act``
``conv3`` (9x9 conv)                ``tail``
==================================  ===============================

Their networks compute on RGB in [0, 1] (and clamp the output), so the converted model has
``io_range = "[0,1]"``. The file is read by ganzoo with ``torch.load(weights_only=True)``; a
pickled whole model (``torch.save(model)``) is refused there with one line.
"""

from __future__ import annotations

import re

import torch

from ganzoo.base.errors import CheckpointError


_RULES = [
    (re.compile(r"^conv1\.(0|1)\.(.+)$"), r"head.\1.\2"),
    (re.compile(r"^trunk\.(\d+)\.rcb\.([0-4])\.(.+)$"), r"blocks.\1.body.\2.\3"),
    (re.compile(r"^conv2\.(0|1)\.(.+)$"), r"fuse.\1.\2"),
    (re.compile(r"^upsampling\.(\d+)\.upsample_block\.0\.(.+)$"), r"upsample.\1.conv.\2"),
    (re.compile(r"^upsampling\.(\d+)\.upsample_block\.2\.(.+)$"), r"upsample.\1.act.\2"),
    (re.compile(r"^conv3\.(.+)$"), r"tail.\1"),
]


def rename(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Their generator keys -> ganzoo's (``module.``/``_orig_mod.`` prefixes dropped)."""
    out = {}
    for key, value in state.items():
        plain = key.removeprefix("module.").removeprefix("_orig_mod.")
        for pattern, replacement in _RULES:
            if pattern.match(plain):
                out[pattern.sub(replacement, plain)] = value
                break
        else:
            raise CheckpointError(f"unexpected key {key!r}: not a Lornatang/SRGAN-PyTorch "
                                  "SRResNet generator (expected conv1.*, trunk.*, conv2.*, "
                                  "upsampling.*, conv3.*)")
    return out


def from_lornatang(state: dict[str, torch.Tensor]):
    """An :class:`~ganzoo_srgan.networks.SRGAN` holding the generator weights in ``state``
    (any width, number of blocks and x2/x4/x8 scale; its discriminator is fresh and not saved
    in inference bundles)."""
    import ganzoo

    renamed = rename(state)
    first = renamed.get("head.0.weight")
    if first is None or first.dim() != 4:
        raise CheckpointError("not a Lornatang/SRGAN-PyTorch SRResNet generator: no conv1.0.weight")
    blocks = len({k.split(".")[1] for k in renamed if k.startswith("blocks.")})
    ups = len({k.split(".")[1] for k in renamed if k.startswith("upsample.")})
    if ups not in (1, 2, 3):
        raise CheckpointError(f"the generator has {ups} x2 upsamplers; ganzoo's srgan takes "
                              "scale 2, 4 or 8 (1 to 3 of them)")
    width, channels = int(first.shape[0]), int(first.shape[1])
    if channels not in (1, 3):
        raise CheckpointError(f"conv1.0.weight takes {channels} channels; expected 1 or 3")
    model = ganzoo.create("srgan", scale=2**ups, channels=channels, blocks=blocks, width=width,
                          io_range="[0,1]")
    expected = model.gen.state_dict()
    for key, value in expected.items():  # files from before PyTorch 0.4.1 have none of these
        if key.endswith("num_batches_tracked") and key not in renamed:
            renamed[key] = torch.zeros_like(value)
    from ganzoo.hub.bundle import load_into
    from pathlib import Path

    load_into(model.gen, renamed, Path("<Lornatang/SRGAN-PyTorch state dict>"))
    return model.eval()


def convert(state: dict[str, torch.Tensor]):
    """The registered converter (``ganzoo convert srgan-x4-imagenet PATH -o BUNDLE``)."""
    return from_lornatang(state)
