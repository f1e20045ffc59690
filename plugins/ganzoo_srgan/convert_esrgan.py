"""ESRGAN / Real-ESRGAN generators (RRDBNet) -> ganzoo's srgan with ``generator = "rrdb"``.

Two key schemes name the same network:

=====================================  ==================================  ======================
xinntao/ESRGAN (``RRDB_ESRGAN_x4.pth``)  BasicSR / Real-ESRGAN (``params_ema``)  ganzoo
=====================================  ==================================  ======================
``conv_first``                         ``conv_first``                      ``head``
``RRDB_trunk.{i}.RDB{j}.conv{k}``      ``body.{i}.rdb{j}.conv{k}``          ``blocks.{i}.dense.{j-1}.convs.{k-1}``
``trunk_conv``                         ``conv_body``                       ``fuse``
``upconv1``, ``upconv2``               ``conv_up1``, ``conv_up2``          ``upsample.0``, ``upsample.1``
``HRconv``                             ``conv_hr``                         ``hr``
``conv_last``                          ``conv_last``                       ``tail``
=====================================  ==================================  ======================

Both compute on RGB in [0, 1] at x4 (two nearest x2 upsamplings), so the converted model has
``io_range = "[0,1]"`` and ``scale = 4``. BasicSR's x2 and x1 RRDBNets first fold the input with
a pixel unshuffle (``conv_first`` then takes 12 or 48 channels), which ganzoo's generator does
not: those files are refused with one line.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from ganzoo.base.errors import CheckpointError

_RULES = [
    (re.compile(r"^conv_first\.(weight|bias)$"), r"head.\1"),
    (re.compile(r"^(?:RRDB_trunk|body)\.(\d+)\.(?:RDB|rdb)([123])\.conv([1-5])\.(weight|bias)$"),
     lambda m: f"blocks.{m[1]}.dense.{int(m[2]) - 1}.convs.{int(m[3]) - 1}.{m[4]}"),
    (re.compile(r"^(?:trunk_conv|conv_body)\.(weight|bias)$"), r"fuse.\1"),
    (re.compile(r"^(?:upconv|conv_up)([12])\.(weight|bias)$"),
     lambda m: f"upsample.{int(m[1]) - 1}.{m[2]}"),
    (re.compile(r"^(?:HRconv|conv_hr)\.(weight|bias)$"), r"hr.\1"),
    (re.compile(r"^conv_last\.(weight|bias)$"), r"tail.\1"),
]


def rename(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for key, value in state.items():
        plain = key.removeprefix("module.")
        for pattern, replacement in _RULES:
            if pattern.match(plain):
                out[pattern.sub(replacement, plain)] = value
                break
        else:
            raise CheckpointError(f"unexpected key {key!r}: not an ESRGAN/Real-ESRGAN RRDBNet "
                                  "generator (expected conv_first, RRDB_trunk.* or body.*, "
                                  "trunk_conv or conv_body, upconv*/conv_up*, HRconv/conv_hr, "
                                  "conv_last)")
    return out


def convert(state: dict[str, torch.Tensor]):
    """The registered converter: a ganzoo ``srgan`` (``generator = "rrdb"``) holding them."""
    import ganzoo
    from ganzoo.hub.bundle import load_into

    renamed = rename(state)
    first = renamed.get("head.weight")
    if first is None or first.dim() != 4:
        raise CheckpointError("not an RRDBNet generator: no conv_first.weight")
    channels, width = int(first.shape[1]), int(first.shape[0])
    if channels not in (1, 3):
        raise CheckpointError(
            f"conv_first takes {channels} input channels: a BasicSR RRDBNet for x2/x1 that "
            "pixel-unshuffles its input, which ganzoo's rrdb generator does not; x4 files "
            "(3 channels) convert")
    ups = len({k.split(".")[1] for k in renamed if k.startswith("upsample.")})
    if ups != 2:
        raise CheckpointError(f"the generator has {ups} upsampling convolutions; ESRGAN's x4 "
                              "RRDBNet has 2")
    blocks = len({k.split(".")[1] for k in renamed if k.startswith("blocks.")})
    growth_key = "blocks.0.dense.0.convs.0.weight"
    if growth_key not in renamed:
        raise CheckpointError("the generator has no RRDB blocks (no RRDB_trunk.0 / body.0)")
    growth = int(renamed[growth_key].shape[0])
    model = ganzoo.create("srgan", generator="rrdb", scale=4, channels=channels, blocks=blocks,
                          width=width, growth=growth, io_range="[0,1]")
    load_into(model.gen, renamed, Path("<ESRGAN RRDBNet state dict>"))
    return model.eval()
