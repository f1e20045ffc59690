"""The reference implementation's generators -> ganzoo's pix2pix.

junyanz/pytorch-CycleGAN-and-pix2pix saves ``UnetGenerator.state_dict()``: nested
``UnetSkipConnectionBlock`` s, each an ``nn.Sequential`` called ``model`` that holds the next
block at position 1 (outermost) or 3 (the others). Level ``i`` therefore lives under
``model.model.1.model.`` + ``3.model.`` * (i - 1), and inside it (positions of the Sequential):

============  ==========  ===========  ===========  =========
level         down conv   down norm    up conv      up norm
============  ==========  ===========  ===========  =========
outermost     0           -            3            -
middle        1           2            5            6
innermost     1           -            3            4
============  ==========  ===========  ===========  =========

BatchNorm models carry ``running_mean``/``running_var`` (and, from PyTorch 0.4.1 on,
``num_batches_tracked``); instance-norm models have no norm tensors at all. Dropout has no
tensors, so it cannot be read from the file: the official models use it, and so does the
converter unless told otherwise.
"""

from __future__ import annotations


import torch

from ganzoo.base.errors import CheckpointError

OFFICIAL = ("edges2shoes", "sat2map", "map2sat", "facades_label2photo", "day2night")
URL = "http://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/{name}.pth"

_NORM_TENSORS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def level_prefix(level: int) -> str:
    """The reference's key prefix of U-Net level ``level`` (0 = outermost)."""
    return "model.model." if level == 0 else "model.model.1.model." + "3.model." * (level - 1)


def _positions(level: int, depth: int) -> dict[str, int]:
    if level == 0:
        return {"down": 0, "up": 3}
    if level == depth - 1:
        return {"down": 1, "up": 3, "up_norm": 4}
    return {"down": 1, "down_norm": 2, "up": 5, "up_norm": 6}


def reference_depth(state: dict[str, torch.Tensor]) -> int:
    """How many levels (the reference's ``num_downs``) the state dict's U-Net has."""
    depths = [key.count("model.") - 1 for key in state if key.startswith("model.model.")]
    if not depths:
        raise CheckpointError("not a pix2pix U-Net generator: no 'model.model.*' keys (expected "
                              "the reference's UnetGenerator state dict, e.g. latest_net_G.pth)")
    return max(depths)


def rename(state: dict[str, torch.Tensor], depth: int) -> dict[str, torch.Tensor]:
    """The reference's keys -> ganzoo's ``levels.{i}.{down,down_norm,up,up_norm}.*`` keys."""
    out: dict[str, torch.Tensor] = {}
    for level in range(depth):
        prefix = level_prefix(level)
        for role, position in _positions(level, depth).items():
            head = f"{prefix}{position}."
            for key, value in state.items():
                if key.startswith(head) and "." not in key[len(head):]:
                    leaf = key[len(head):]
                    if leaf == "num_batches_tracked":
                        continue
                    out[f"levels.{level}.{role}.{leaf}"] = value
    return out


def from_reference(state: dict[str, torch.Tensor], *, dropout: bool = True):
    """A :class:`~ganzoo_pix2pix.networks.Pix2Pix` whose generator holds the reference
    ``UnetGenerator`` weights in ``state`` (any depth, batch or instance norm, 1-64 channels).

    The model normalises with per-image statistics at test time (``test_norm = "batch"``), as the
    reference's ``test.py`` runs these models; its discriminator is freshly initialised and is
    not saved in inference bundles.
    """
    import ganzoo

    depth = reference_depth(state)
    first = state.get(f"{level_prefix(0)}0.weight")
    last = state.get(f"{level_prefix(0)}3.weight")
    if first is None or last is None or first.dim() != 4 or last.dim() != 4:
        raise CheckpointError("not a pix2pix U-Net generator: the outermost block's convolutions "
                              f"({level_prefix(0)}0.weight, {level_prefix(0)}3.weight) are missing")
    width, input_nc = first.shape[:2]
    output_nc = last.shape[1]
    batch_norm = any(key.endswith("running_mean") for key in state)
    model = ganzoo.create("pix2pix", input_nc=int(input_nc), output_nc=int(output_nc),
                          depth=depth, resolution=2**depth, gen_width=int(width),
                          norm="batch" if batch_norm else "instance", dropout=dropout,
                          test_norm="batch" if batch_norm else "running")
    renamed = rename(state, depth)
    unused = sorted(set(state) - {k for k in state if k.endswith("num_batches_tracked")}
                    - _used_keys(state, depth))
    if unused:
        raise CheckpointError(f"unexpected key {unused[0]!r} in the generator state dict "
                              f"({len(unused)} unexpected); is it a U-Net generator?")
    expected = model.gen.state_dict()
    wrong = [k for k in renamed if k in expected and renamed[k].shape != expected[k].shape]
    if wrong:
        raise CheckpointError(f"{wrong[0]!r} has shape {tuple(renamed[wrong[0]].shape)}; a "
                              f"depth-{depth} U-Net of width {int(width)} needs "
                              f"{tuple(expected[wrong[0]].shape)}")
    result = model.gen.load_state_dict(renamed, strict=False)
    if result.missing_keys:
        raise CheckpointError(f"the state dict lacks {len(result.missing_keys)} tensors of a "
                              f"depth-{depth} U-Net, first {result.missing_keys[0]!r}")
    return model.eval()


def _used_keys(state, depth) -> set[str]:
    used = set()
    for level in range(depth):
        for position in _positions(level, depth).values():
            head = f"{level_prefix(level)}{position}."
            used |= {k for k in state if k.startswith(head) and "." not in k[len(head):]}
    return used


def convert(state: dict[str, torch.Tensor]):
    """The registered converter of the official weights (``ganzoo convert pix2pix PATH``)."""
    return from_reference(state)


