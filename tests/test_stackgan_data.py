"""StackGAN's datasets (CUB in the authors' layout, digit-captions), its metrics, its shipped
recipes end to end at tiny sizes, and `ganzoo generate --text/--embeddings`."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from conftest import RECIPES
from cub_fixtures import BLUE, GREEN, RED, make_cub

import ganzoo
from ganzoo import DataError, Recipe
from ganzoo.training.data_order import SeededItems
from ganzoo_stackgan.config import CUBConfig, DigitCaptionsConfig
from ganzoo_stackgan.cub import bird_box, build as build_cub
from ganzoo_stackgan.digit_captions import DIGITS, build as build_digit_captions

TINY_DIGITS = ["model.embedding_dim=8", "model.condition_dim=4", "model.z_dim=4",
               "model.disc_condition_dim=4", "model.gen_width=2", "model.disc_width=2",
               "model.residual_blocks=1", "train.batch_size=16", "train.log_every=1",
               "train.sample_every=2", "train.checkpoint_every=2", "train.sample_count=4",
               "train.eval_samples=20", "train.eval_every=0", "train.ema=0.0",
               "train.device='cpu'", "train.steps=2", "train.text_pretrain_steps=1"]


@pytest.fixture(scope="module")
def cub_root(tmp_path_factory):
    return make_cub(tmp_path_factory.mktemp("cub") / "birds")


def _colour_fractions(image: torch.Tensor) -> dict[str, float]:
    pixels = ((image + 1) * 127.5).round().permute(1, 2, 0).reshape(-1, 3)
    out = {}
    for name, colour in (("blue", BLUE), ("green", GREEN), ("red", RED)):
        near = (pixels - torch.tensor(colour, dtype=pixels.dtype)).abs().max(dim=1).values < 60
        out[name] = float(near.float().mean())
    return out


def test_the_authors_crop_is_a_square_of_one_and_a_half_times_the_box():
    # box 20x10 at (30, 40): centre (40, 45), half side 0.75 * 20 = 15
    assert bird_box((30.0, 40.0, 20.0, 10.0), 200, 200) == (25, 30, 55, 60)
    assert bird_box((0.0, 2.0, 20.0, 10.0), 200, 200) == (0, 0, 25, 22)  # clipped to the image


def test_cub_items_are_bird_crops_with_one_of_their_ten_embeddings(cub_root):
    train = build_cub(CUBConfig(root=cub_root, resolution=16, captions=True), "train")
    assert len(train) == 6 and train.embeddings.shape == (6, 10, 16)
    assert train.filenames[0] == "001.Black_footed_Albatross/Black_footed_Albatross_0000_100"
    assert train.labels == [1, 2, 1, 2, 1, 2]  # class_info.pickle
    seeded = SeededItems(train, seed=0)
    picks = set()
    for epoch in range(12):
        item = seeded[(epoch, 3)]
        assert item["image"].shape == (3, 16, 16) and item["image"].abs().max() <= 1
        row = [k for k in range(10) if torch.equal(item["embedding"],
                                                   torch.from_numpy(train.embeddings[3, k]))]
        assert len(row) == 1, "the embedding is one of the item's ten"
        assert item["caption"].endswith(f"number {row[0]}")  # caption k goes with embedding k
        picks.add(row[0])
        again = seeded[(epoch, 3)]
        assert torch.equal(again["image"], item["image"])  # a function of (seed, epoch, index)
        assert torch.equal(again["embedding"], item["embedding"])
    assert len(picks) > 3, "a different description is drawn in different epochs"
    # The crop holds the box (red) and the square around it (green), not the background.
    test = build_cub(CUBConfig(root=cub_root, resolution=32, load_size=32), "test")
    for index in range(len(test)):
        colours = _colour_fractions(test[index]["image"])
        assert colours["red"] > 0.15 and colours["green"] > 0.15, colours
        assert colours["blue"] < 0.1, colours
        assert "caption" not in test[index]


def test_cub_layout_errors_name_the_file(cub_root, tmp_path):
    with pytest.raises(DataError, match="no such folder; expected the StackGAN authors' layout"):
        build_cub(CUBConfig(root=tmp_path / "none"), "train")
    broken = make_cub(tmp_path / "broken", n_train=2, n_test=1, captions=False)
    with pytest.raises(DataError, match="text_c10.*missing; \\[data\\] captions = true needs"):
        build_cub(CUBConfig(root=broken, captions=True), "train")
    (broken / "train" / "char-CNN-RNN-embeddings.pickle").write_bytes(
        pickle.dumps(np.zeros((3, 10, 4)), protocol=2))
    with pytest.raises(DataError, match="embeddings of shape \\[3, 10, 4\\]; expected \\[2, 10, D\\]"):
        build_cub(CUBConfig(root=broken), "train")


def test_a_tampered_cub_pickle_is_refused_and_runs_nothing(tmp_path):
    root = make_cub(tmp_path / "birds", n_train=2, n_test=1, captions=False)
    victim = tmp_path / "created-by-the-pickle"

    class Payload:
        def __reduce__(self):
            return (open, (str(victim), "w"))

    path = root / "train" / "filenames.pickle"
    path.write_bytes(pickle.dumps(["001.Black_footed_Albatross/a", Payload()], protocol=2))
    with pytest.raises(DataError, match=f"{path}: refused to unpickle the global"):
        build_cub(CUBConfig(root=root), "train")
    assert not victim.exists()


def test_digit_captions_say_the_digit_and_the_measured_attributes():
    data = build_digit_captions(DigitCaptionsConfig(resolution=16,
                                                    attributes=("thickness", "slant", "size")),
                                "test")
    assert len(data) == 360 and data[0]["image"].shape == (1, 16, 16)
    for i in (0, 1, 100):
        words = data[i]["caption"].split()
        assert words[0] == "a" and words[-1] == DIGITS[int(data[i]["label"])]
        high = data.high[i].tolist()  # size, thickness, slant
        assert words[1:-1] == [("small", "large")[high[0]], ("thin", "thick")[high[1]],
                               ("upright", "slanted")[high[2]]]
    # Split at the training medians: each word is used about half of the time.
    assert ((data.high.float().mean(0) - 0.5).abs() < 0.1).all()
    two = build_digit_captions(DigitCaptionsConfig(resolution=16), "test")
    assert len(two[0]["caption"].split()) == 4  # thickness and slant only, by default


def test_caption_metrics_score_real_digits_as_right_and_noise_as_wrong():
    from ganzoo_stackgan.metrics import CaptionAccuracy, CaptionAttribute

    data = build_digit_captions(DigitCaptionsConfig(resolution=32), "test")

    class Oracle:
        """Draws the held-out digit each caption was written for (noise with ``noisy``)."""

        config = type("C", (), {"text_encoder": "captions"})()

        def __init__(self, noisy):
            self.noisy = noisy

        def generate(self, n, *, seed, text, unknown_words):
            index = [data.captions.index(t) for t in text]  # first image with that caption
            images = data.images[index]
            return torch.rand_like(images) * 2 - 1 if self.noisy else images

    right, noise = Oracle(False), Oracle(True)
    accuracy = CaptionAccuracy().compute(right, n=100, seed=0, device="cpu", data=data)
    assert accuracy.value > 0.95 and accuracy.protocol.n_fake == 100
    assert CaptionAccuracy().compute(noise, n=100, seed=0, device="cpu", data=data).value < 0.4
    slant = CaptionAttribute("slant")
    assert slant.compute(right, n=100, seed=0, device="cpu", data=data).value == 1.0
    with pytest.raises(ganzoo.GanzooError, match="do not mention size"):
        CaptionAttribute("size").compute(right, n=10, seed=0, device="cpu", data=data)


def test_the_digit_recipes_train_both_stages_into_one_bundle(tmp_path, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the Stage-II recipe names runs/stackgan-digits-stage1
    first = ganzoo.train(RECIPES / "stackgan_digit_captions_stage1.toml",
                         "runs/stackgan-digits-stage1", overrides=TINY_DIGITS, progress=False)
    assert first.status == "finished"
    scores = (tmp_path / "runs/stackgan-digits-stage1/metrics.jsonl").read_text()
    assert '"caption-accuracy"' in scores and '"caption-slant"' in scores
    second = ganzoo.train(RECIPES / "stackgan_digit_captions.toml", "runs/stackgan-digits",
                          overrides=TINY_DIGITS, progress=False)
    assert second.status == "finished"
    model = ganzoo.load("runs/stackgan-digits")
    assert model.config.stage == 2 and "three" in model.config.vocabulary
    with torch.no_grad():
        assert model.generate(2, seed=0, text=["a thin upright three"] * 2).shape == (2, 1, 32,
                                                                                     32)
    out = tmp_path / "threes.png"
    result = cli("generate", "runs/stackgan-digits", "--text", "a thin upright three", "--text",
                 "a thick slanted seven", "-n", "4", "-o", out)
    assert result.exit_code == 0, result.output
    bad = cli("generate", "runs/stackgan-digits", "--text", "a purple three", "-o", out)
    assert bad.exit_code == 2 and "'purple' is not in the model's vocabulary" in bad.output


def test_the_cub_recipes_train_both_stages_on_the_authors_layout(cub_root, tmp_path, cli):
    tiny = [f"data.root='{cub_root}'", "model.embedding_dim=16", "model.condition_dim=4",
            "model.z_dim=4", "model.disc_condition_dim=4", "model.gen_width=2",
            "model.disc_width=2", "model.residual_blocks=1", "model.stage1_resolution=16",
            "model.stage2_resolution=32", "data.resolution=16", "train.batch_size=2",
            "train.log_every=1", "train.sample_every=2", "train.checkpoint_every=2",
            "train.sample_count=2", "train.device='cpu'", "train.steps=2"]
    stage1 = tmp_path / "stage1"
    assert ganzoo.train(RECIPES / "stackgan_cub_stage1.toml", stage1, overrides=tiny,
                        progress=False).status == "finished"
    stage2 = Recipe.from_toml(RECIPES / "stackgan_cub.toml",
                              [*tiny, "data.resolution=32", f"model.stage1='{stage1}'"])
    assert (stage2.model.stage, stage2.model.stage2_resolution) == (2, 32)
    assert ganzoo.train(stage2, tmp_path / "stage2", progress=False).status == "finished"
    embeddings = tmp_path / "embeddings.npy"
    np.save(embeddings, np.random.default_rng(0).standard_normal((3, 16)).astype(np.float32))
    out = tmp_path / "birds.png"
    result = cli("generate", tmp_path / "stage2", "--embeddings", embeddings, "-o", out)
    assert result.exit_code == 0, result.output
    text = cli("generate", tmp_path / "stage2", "--text", "a red bird", "-o", out)
    assert text.exit_code == 2 and "cannot encode captions" in text.output
