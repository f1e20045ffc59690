"""ganzoo's ``paired-folder`` and ``unpaired-folder`` loaders give the tensors the reference's
``AlignedDataset`` / ``UnalignedDataset`` give (issue #23).

``tests/fixtures/golden/data_*.safetensors`` hold every item the reference's dataset classes and
transforms made of a few generated files (``golden_common.write_images``), recorded by
``benchmarks/golden/record.py`` with the crop and flip decisions drawn from one torch seed (B in
order). Here the same files go through ganzoo's registered loaders under the same seed.
"""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open

import golden_common as golden
import ganzoo.plugin.manager as plugins
from ganzoo.plugin.registry import load_ref
from ganzoo.config.structure import structure


def _fixture(name: str) -> tuple[dict[str, torch.Tensor], dict]:
    path = golden.FIXTURES / f"data_{name}.safetensors"
    with safe_open(str(path), "pt") as f:
        meta = json.loads(f.metadata()["golden"])
        return {k: f.get_tensor(k) for k in f.keys()}, meta


def _ganzoo_items(case: dict, root) -> list[dict]:
    golden.write_images(root, case["layout"])
    dataset = "paired-folder" if case["layout"] == "aligned" else "unpaired-folder"
    entry = plugins.registry("datasets").get(dataset)
    table = {"root": str(root), "preprocess": case["preprocess"], "load_size": case["load_size"],
             "crop_size": case["crop_size"], "flip": True, "direction": case["direction"],
             "input_nc": case["input_nc"], "output_nc": case["output_nc"]}
    if dataset == "unpaired-folder":
        table["serial"] = True  # the reference's --serial_batches: B in order
    data = load_ref(entry.build)(structure(table, entry.config_cls, section="data"), "train")
    torch.manual_seed(golden.DATA_SEED)
    return [data[i] for i in range(len(data))]


def _reference_names(case: dict, item: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """ganzoo's item as the reference's dataset gives it, (A, B) as the files hold them; the
    reference swaps them in ``set_input`` (``--direction BtoA``), ganzoo in the loader."""
    if case["layout"] == "aligned":
        if case["direction"] == "BtoA":
            return item["target"], item["source"]
        return item["source"], item["target"]
    if case["direction"] == "BtoA":
        return item["b"], item["a"]
    return item["a"], item["b"]


@pytest.mark.parametrize("name", list(golden.DATA_CASES))
def test_loaders_give_the_reference_tensors(name, tmp_path):
    expected, meta = _fixture(name)
    case = meta["case"]
    assert case == golden.DATA_CASES[name], f"{name}: re-run benchmarks/golden/record.py"
    items = _ganzoo_items(case, tmp_path)
    assert len(items) == len(meta["items"])
    for i, item in enumerate(items):
        a, b = _reference_names(case, item)
        for side, ours in (("A", a), ("B", b)):
            theirs = expected[f"{i}.{side}"]
            assert ours.shape == theirs.shape, (i, side, ours.shape, theirs.shape)
            worst = (ours - theirs).abs().max().item()
            assert worst <= 1e-6, (f"item {i} ({meta['items'][i]}) {side}: off by {worst:.3g} "
                                   f"(one 8-bit level is {2 / 255:.3g})")


def test_the_fixture_decisions_crop_and_flip():
    """The recorded decisions are not all the same, so the comparison covers crops and flips."""
    _, meta = _fixture("aligned_resize_and_crop")
    flips = {item["flip"] for item in meta["items"]}
    positions = {tuple(item["crop_pos"]) for item in meta["items"]}
    assert flips == {True, False} and len(positions) > 1, meta["items"]
