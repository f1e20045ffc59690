"""Every first-party model card's "Use it" snippet runs on a tiny model of its architecture."""

from __future__ import annotations

import re

import pytest
import torch
from PIL import Image

from ganzoo.hub.bundle import index_of
from ganzoo.hub.card import make_card
from ganzoo.testing import tiny_model

#: Overrides that give a tiny model something to use (StackGAN: words in its vocabulary).
CASES = {
    "dcgan": ({}, "images", (16, None, 16, 16)),
    "cgan": ({}, "images", (4, None, 16, 16)),
    "infogan": ({}, "images", (4, 1, 16, 16)),  # one image per value of the tiny model's 4 codes
    "pix2pix": ({}, "translated", (1, 3, 20, 24)),
    "cyclegan": ({}, "translated", (1, 3, 20, 24)),
    "stackgan": ({"vocabulary": ("a", "red", "bird")}, "images", (4, 1, None, None)),
    "stackgan-embeddings": ({"text_encoder": "embeddings"}, "images", (4, 1, None, None)),
}


def snippet(card_text: str) -> str:
    use_it = card_text.split("## Use it", 1)[1]
    return re.search(r"```python\n(.*?)```", use_it, re.S).group(1)


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_card_snippet_runs(case, tmp_path, monkeypatch):
    name = case.split("-")[0]
    overrides, result, shape = CASES[name if case == name else case]
    torch.manual_seed(0)
    model = tiny_model(name, **overrides).eval()
    folder = tmp_path / "bundle"
    model.save_pretrained(folder)
    card = make_card(index_of(model), load_name=str(folder))
    code = snippet(str(card))
    assert f'ganzoo.load("{folder}")' in code
    assert ("generate" in code) == (result == "images")  # translators are told to translate
    monkeypatch.chdir(tmp_path)
    Image.new("RGB", (24, 20), (200, 30, 30)).save(tmp_path / "input.png")
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own card
    got = namespace[result]
    assert got.dim() == 4 and got.min() >= -1 and got.max() <= 1
    assert all(want in (None, have) for want, have in zip(shape, got.shape, strict=True)), (
        got.shape)
    # The card written by save_pretrained has the same snippet for its default name.
    written = (folder / "README.md").read_text()
    assert snippet(written) == snippet(str(make_card(index_of(model),
                                                     load_name=f"path/to/{name}")))


def test_the_card_names_the_command_of_the_kind(tmp_path):
    text = str(make_card(index_of(tiny_model("pix2pix")), load_name="me/p2p"))
    assert "`ganzoo translate me/p2p INPUT... -o OUTPUT_FOLDER`" in text
    assert "pipeline_tag: image-to-image" in text and "- image-to-image" in text
    assert "ganzoo sample" not in text
