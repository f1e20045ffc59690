"""The reference implementation's CycleGAN generators -> ganzoo's cyclegan (one-way).

junyanz/pytorch-CycleGAN-and-pix2pix saves ``ResnetGenerator.state_dict()``, whose keys ganzoo's
:class:`~ganzoo_cyclegan.networks.ResnetGenerator` shares (``model.1.weight``,
``model.10.conv_block.1.weight`` ...). The converter reads the shape of the network from the
tensors: ``gen_width`` and ``input_nc`` from the first conv, ``output_nc`` from the last, the
number of residual blocks from the ``conv_block`` keys, batch norm from affine norm weights,
zero padding from the conv positions inside the blocks. Files saved by PyTorch < 0.4 carry
``running_mean``/``running_var`` for their InstanceNorm layers, which have no such statistics;
like the reference's loader, the converter drops them. Dropout has no tensors: the official
models have none, and neither does the converted one.

Each official file holds one generator (``horse2zebra.pth`` is the A -> B half of a run,
``zebra2horse.pth`` the B -> A half), so the converted model is ``one_way``: ``gen_ab`` only.
"""

from __future__ import annotations

import re

import torch

from ganzoo.base.errors import CheckpointError

_BLOCK = re.compile(r"^model\.(\d+)\.conv_block\.(\d+)\.weight$")
_STATS = ("running_mean", "running_var", "num_batches_tracked")


def _shape(state: dict[str, torch.Tensor]) -> dict:
    """The ResnetGenerator config the state dict was saved from."""
    first = state.get("model.1.weight")
    if first is None or first.dim() != 4 or first.shape[-1] != 7:
        raise CheckpointError("not a CycleGAN ResnetGenerator: no 7x7 'model.1.weight' (expected "
                              "the reference's ResnetGenerator state dict, e.g. "
                              "latest_net_G.pth)")
    block_positions: dict[int, set[int]] = {}
    for key, value in state.items():
        match = _BLOCK.match(key)
        if match and value.dim() == 4:  # the convolutions (batch norm weights are 1-d)
            block_positions.setdefault(int(match[1]), set()).add(int(match[2]))
    blocks = len(block_positions)
    if sorted(block_positions) != list(range(10, 10 + blocks)):
        raise CheckpointError(f"the residual blocks sit at model.{sorted(block_positions)} "
                              "instead of consecutive positions from model.10: not the "
                              "reference's ResnetGenerator layout")
    positions = set().union(*block_positions.values()) if blocks else {1, 5}
    if positions not in ({1, 5}, {0, 3}):
        raise CheckpointError(f"residual block convolutions at conv_block positions "
                              f"{sorted(positions)}: dropout or an unknown padding (expected 1 and "
                              "5 with reflection padding, 0 and 3 with zero padding)")
    last = state.get(f"model.{17 + blocks}.weight")
    if last is None or last.dim() != 4:
        raise CheckpointError(f"the last convolution model.{17 + blocks}.weight of a "
                              f"{blocks}-block ResnetGenerator is missing")
    return {"input_nc": int(first.shape[1]), "output_nc": int(last.shape[0]),
            "gen_width": int(first.shape[0]), "blocks": blocks,
            "norm": "batch" if "model.2.weight" in state else "instance",
            "padding": "zero" if positions == {0, 3} else "reflect"}


def from_reference(state: dict[str, torch.Tensor]):
    """A one-way :class:`~ganzoo_cyclegan.networks.CycleGAN` whose ``gen_ab`` holds the
    reference ``ResnetGenerator`` weights in ``state`` (any number of blocks and channels,
    instance or batch norm)."""
    import ganzoo

    shape = _shape(state)
    model = ganzoo.create("cyclegan", one_way=True, resolution=256, **shape)
    expected = model.gen_ab.state_dict()
    tensors = {}
    for key, value in state.items():
        if key.rsplit(".", 1)[-1] in _STATS and key not in expected:
            continue  # InstanceNorm statistics of files saved by PyTorch < 0.4 (never used)
        if key.endswith("num_batches_tracked"):
            continue
        tensors[key] = value
    unexpected = sorted(set(tensors) - set(expected))
    if unexpected:
        raise CheckpointError(f"unexpected key {unexpected[0]!r} in the generator state dict "
                              f"({len(unexpected)} unexpected); is it a ResnetGenerator?")
    missing = sorted(set(expected) - set(tensors) - {k for k in expected
                                                     if k.endswith("num_batches_tracked")})
    if missing:
        raise CheckpointError(f"the state dict lacks {len(missing)} tensors of a "
                              f"{shape['blocks']}-block ResnetGenerator, first {missing[0]!r}")
    wrong = [k for k in tensors if tensors[k].shape != expected[k].shape]
    if wrong:
        raise CheckpointError(f"{wrong[0]!r} has shape {tuple(tensors[wrong[0]].shape)}, a "
                              f"ResnetGenerator of this width needs "
                              f"{tuple(expected[wrong[0]].shape)}")
    model.gen_ab.load_state_dict(tensors, strict=False)
    return model.eval()


def convert(state: dict[str, torch.Tensor]):
    """The registered converter of the official weights (``ganzoo convert cyclegan PATH``)."""
    return from_reference(state)
