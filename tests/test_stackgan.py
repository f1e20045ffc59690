"""StackGAN: both stages conform, conditioning augmentation, the matching-aware objective, the
frozen Stage I under Stage II, text encoders, and one bundle from text to the final image."""

from __future__ import annotations

import sys

import pytest
import torch
import torch.nn.functional as F

import ganzoo
from ganzoo.hub.bundle import state_tensors
from ganzoo.testing import check_architecture, train_steps

TINY = ganzoo.get("architectures", "stackgan").tiny


def tiny(**overrides):
    return ganzoo.create("stackgan", **{**TINY, **overrides})


def batch_of(model, n=8, seed=0, captions=None):
    batch = model.example_batch(n, generator=torch.Generator().manual_seed(seed))
    if captions is not None:
        batch["caption"] = [captions[i % len(captions)] for i in range(n)]
    return batch


@pytest.fixture(scope="module")
def stage1_bundle(tmp_path_factory):
    """A tiny Stage-I model trained a few steps on captions, saved as a bundle."""
    torch.manual_seed(0)
    model = tiny()
    train_steps(model, "stackgan", batch_of(model, captions=["a red bird", "a white bird"]),
                steps=3)
    folder = tmp_path_factory.mktemp("stage1") / "bundle"
    model.save_pretrained(folder)
    return folder, model


def test_stage1_with_precomputed_embeddings_conforms(tmp_path):
    check_architecture("stackgan", tmp_path, text_encoder="embeddings")


def test_stage2_conforms_on_top_of_a_stage1_bundle(stage1_bundle, tmp_path):
    folder, _ = stage1_bundle
    check_architecture("stackgan", tmp_path, stage=2, stage1=str(folder))


def test_conditioning_augmentation_shapes_and_values():
    model = tiny(text_encoder="embeddings")
    ca = model.gen.ca1
    embedding = torch.randn(5, TINY["embedding_dim"])
    noise = torch.randn(5, TINY["condition_dim"])
    condition, mu, logvar = ca(embedding, noise)
    assert condition.shape == mu.shape == logvar.shape == (5, TINY["condition_dim"])
    # c = mu + sigma * eps, sigma = exp(logvar / 2); with eps = 0 it is the mean.
    assert torch.allclose(condition, mu + torch.exp(0.5 * logvar) * noise)
    assert torch.equal(ca(embedding, torch.zeros_like(noise))[0], mu)
    kl = ganzoo.get("losses", "kl")
    from ganzoo.plugin.registry import load_ref

    kl_normal = load_ref(kl.fn)
    assert kl_normal(torch.zeros(3, 4), torch.zeros(3, 4)) == 0  # N(0, I) against itself
    # KL(N(1, e^1) || N(0, 1)) per element: 0.5 * (e + 1 - 1 - 1) = 0.5 * (e - 1)
    value = kl_normal(torch.ones(3, 4), torch.ones(3, 4))
    assert abs(value.item() - 0.5 * (torch.e - 1)) < 1e-6


def test_the_discriminator_loss_is_real_plus_half_fake_plus_half_wrong_text(monkeypatch):
    torch.manual_seed(0)
    model = tiny(text_encoder="embeddings")
    batch = batch_of(model, n=6)
    seen = []
    judge = type(model.disc).judge

    def recording(self, features, embedding):
        logits = judge(self, features, embedding)
        seen.append((embedding.detach().clone(), logits.detach().clone()))
        return logits

    monkeypatch.setattr(type(model.disc), "judge", recording)
    losses = train_steps(model, "stackgan", batch, steps=1)[0]
    (right, real), (wrong_text, wrong), (fake_text, fake) = seen[:3]
    assert torch.equal(right, batch["embedding"])
    # All texts differ here, so each image's wrong text is the next item's.
    assert torch.equal(wrong_text, torch.roll(batch["embedding"], -1, dims=0))  # mismatched
    assert torch.equal(fake_text, batch["embedding"])
    expected = (F.softplus(-real).mean() + 0.5 * F.softplus(fake).mean()
                + 0.5 * F.softplus(wrong).mean())
    assert abs(losses["loss_d"] - expected.item()) < 1e-5
    assert {"loss_d", "loss_g", "loss_kl", "d_real", "d_wrong", "d_fake", "match_acc"} <= set(
        losses)


def test_d_learns_to_match_text_and_g_losses_fall_on_a_fixed_batch():
    torch.manual_seed(0)
    model = tiny(text_encoder="embeddings")
    batch = batch_of(model, n=8)
    d_history = train_steps(model, "stackgan", batch, steps=15, lr_gen=1e-7, lr_disc=3e-3)
    assert d_history[-1]["loss_d"] < 0.6 * d_history[0]["loss_d"], [h["loss_d"] for h in d_history]
    assert d_history[-1]["match_acc"] == 1.0  # right text scores above the wrong one
    torch.manual_seed(0)
    model = tiny(text_encoder="embeddings")
    g_history = train_steps(model, "stackgan", batch, steps=15, lr_gen=3e-3, lr_disc=1e-7,
                            kl_weight=5.0)
    assert g_history[-1]["loss_g"] < g_history[0]["loss_g"]
    assert g_history[-1]["loss_kl"] < g_history[0]["loss_kl"]


def test_stage2_keeps_the_loaded_stage1_frozen(stage1_bundle):
    folder, stage1 = stage1_bundle
    model = tiny(stage=2, stage1=str(folder))
    train_steps(model, "stackgan", batch_of(model), steps=0)  # makes optimizers: loads Stage I
    expected = {k: v for k, v in state_tensors(stage1).items() if k.startswith("gen.")}
    before = state_tensors(model)
    for key, value in expected.items():
        assert torch.equal(before[key], value), key
    assert model.config.vocabulary == stage1.config.vocabulary  # copied from Stage I
    train_steps(model, "stackgan", batch_of(model, captions=["a red bird"]), steps=3)
    after = state_tensors(model)
    for key, value in expected.items():  # text encoder, CA and Stage-I generator (BN stats too)
        assert torch.equal(after[key], value), f"{key} changed while training Stage II"
    moved = [k for k in after if k.startswith("gen.stage2.") and not torch.equal(after[k],
                                                                                  before[k])]
    assert moved, "Stage II did not learn"


def test_stage2_refuses_a_stage1_trained_with_other_settings(stage1_bundle):
    folder, _ = stage1_bundle
    model = tiny(stage=2, stage1=str(folder), z_dim=5)
    with pytest.raises(ganzoo.CheckpointError, match="was trained with z_dim = 4 but \\[model\\] "
                                                     "z_dim = 5; set \\[model\\] z_dim = 4"):
        train_steps(model, "stackgan", batch_of(model), steps=1)
    model = tiny(stage=2, stage1=str(folder.parent / "nothing"))
    with pytest.raises(ganzoo.CheckpointError, match="cannot load the Stage-I model"):
        train_steps(model, "stackgan", batch_of(model), steps=1)
    with pytest.raises(ganzoo.RecipeError, match="stage = 2 needs stage1"):
        tiny(stage=2)


def test_one_bundle_from_text_to_the_final_image(stage1_bundle, tmp_path):
    folder, stage1 = stage1_bundle
    model = tiny(stage=2, stage1=str(folder))
    train_steps(model, "stackgan", batch_of(model), steps=2)
    model.save_pretrained(tmp_path / "final")
    loaded = ganzoo.load(str(tmp_path / "final"))  # needs nothing of the Stage-I bundle now
    assert loaded.config == model.config and loaded.config.vocabulary == stage1.config.vocabulary
    model.eval()
    with torch.no_grad():
        images = loaded.generate(3, seed=0, text=["a red bird", "a white bird", "A Red Bird!"])
        assert images.shape == (3, 1, 32, 32) and images.min() >= -1 and images.max() <= 1
        assert torch.equal(images, model.generate(3, seed=0, text=["a red bird", "a white bird",
                                                                   "a red bird"]))
        assert torch.equal(images[0], images[2]) is False  # same text, different noise
        # Stage I's image is what Stage II redraws: the same text and seed give the same draw.
        assert torch.equal(loaded.generate(1, seed=4, text=["a red bird"]),
                           loaded.generate(1, seed=4, text="a red bird"))
    with pytest.raises(ValueError, match="word 'purple' is not in the model's vocabulary"):
        loaded.generate(1, seed=0, text=["a purple bird"])
    with pytest.raises(ValueError, match="got 2 captions for n = 3 images"):
        loaded.generate(3, text=["a", "b"])
    with pytest.raises(ValueError, match="give text=\\[...\\] .* or embeddings="):
        loaded.generate(2, seed=0)


def test_generate_from_embeddings_and_a_clear_error_for_text():
    model = tiny(text_encoder="embeddings").eval()
    embeddings = torch.randn(4, TINY["embedding_dim"])
    with torch.no_grad():
        images = model.generate(4, seed=1, embeddings=embeddings)
        assert images.shape == (4, 1, 16, 16)
        assert torch.equal(images, model.generate(4, seed=1, embeddings=embeddings.numpy()))
        assert not torch.equal(images, model.generate(4, seed=1, embeddings=embeddings.flip(0)))
    with pytest.raises(ValueError, match="precomputed text embeddings .* cannot encode captions"):
        model.generate(1, text=["a bird"])
    with pytest.raises(ValueError, match="embeddings must have shape \\[N, 8\\]"):
        model.generate(2, embeddings=torch.zeros(2, 5))


def test_the_sentence_encoder_names_the_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # as if not installed
    with pytest.raises(ganzoo.GanzooError, match=r"pip install 'ganzoo\[sentence\]'"):
        tiny(text_encoder="sentence", sentence_model="models/all-MiniLM-L6-v2")
    with pytest.raises(ganzoo.RecipeError, match="needs sentence_model"):
        tiny(text_encoder="sentence")


def test_the_setup_learns_the_vocabulary_in_dataset_order_so_a_resume_learns_the_same():
    from ganzoo_stackgan.train import setup

    data = [{"caption": "a thin seven"}, {"caption": "A thick, seven."}, {"caption": "a one"}]
    model = tiny()
    setup(model, None, None, data)
    assert model.config.vocabulary == ("a", "thin", "seven", "thick", "one")
    resumed = tiny()  # rebuilt from the recipe: empty vocabulary, and the same data
    setup(resumed, None, None, data)
    assert resumed.config.vocabulary == model.config.vocabulary
    listed = type("Listed", (), {"captions": [["a red bird", "a small bird"]]})()
    setup(bird := tiny(), None, None, listed)  # CUB-style: ten captions per image, no image read
    assert bird.config.vocabulary == ("a", "red", "bird", "small")
    with pytest.raises(ganzoo.GanzooError, match="more than \\[model\\] max_words = 16"):
        setup(tiny(), None, None, [{"caption": " ".join(f"w{i}" for i in range(20))}])
    with pytest.raises(ganzoo.GanzooError, match="reads raw captions, but the dataset gives none"):
        setup(tiny(), None, None, [{"image": torch.zeros(1)}])


def test_the_wrong_text_of_each_image_is_a_different_caption():
    from ganzoo_stackgan.matching import same_text, wrong_index

    captions = ["a one", "a one", "a two", "a one", "a three", "a three"]
    batch = {"caption": captions}
    same = same_text(batch, torch.zeros(6, 2))
    wrong = wrong_index(same).tolist()
    assert wrong == [2, 2, 3, 4, 0, 0]  # the next item (cyclically) with another caption
    assert all(captions[j] != captions[i] for i, j in enumerate(wrong))
    # torch.roll would have paired items 0-1 and 4-5 with their own caption.
    assert wrong_index(same_text({"caption": ["x"] * 3}, torch.zeros(3, 2))).tolist() == [1, 2, 0]
    embeddings = torch.tensor([[1.0], [1.0], [2.0]])  # precomputed: equal rows are the same text
    assert wrong_index(same_text({}, embeddings)).tolist() == [2, 2, 0]


def test_the_caption_encoder_is_pretrained_as_a_joint_embedding_then_frozen():
    from types import SimpleNamespace

    from ganzoo.plugin.registry import load_ref
    from ganzoo.config.structure import structure
    from ganzoo.testing import items_of
    from ganzoo.training.context import StepContext
    from ganzoo.training.lifecycle import prepare

    torch.manual_seed(0)
    model = tiny()
    captions = ["a red bird", "a white bird"]
    batch = batch_of(model, n=16, captions=captions)
    bright = torch.tensor([i % 2 for i in range(16)], dtype=torch.float32)[:, None, None, None]
    batch["image"] = (bright * 2 - 1) * 0.8 + 0.1 * batch["image"]  # white birds are bright
    entry = ganzoo.get("trainers", "stackgan")
    cfg = structure({"device": "cpu", "steps": 40, "text_pretrain_steps": 30,
                     "text_pretrain_lr": 1e-2}, entry.config_cls, section="train")
    ctx = StepContext(cfg, torch.device("cpu"))
    opt = SimpleNamespace(**prepare(entry, model, cfg, ctx, items_of(batch)))
    step = load_ref(entry.step)
    assert set(vars(opt)) == {"gen", "disc", "text"}
    encoder = {id(p) for p in model.gen.text_encoder.parameters()}
    assert not encoder & {id(p) for g in opt.disc.param_groups for p in g["params"]}
    model.train()
    history, snapshot = [], None
    for i in range(cfg.steps):
        ctx.begin_step(i)
        if i == cfg.text_pretrain_steps:
            snapshot = state_tensors(model)
        history.append({k: float(v) for k, v in step(batch, model, opt, ctx).items()})
    pretrain, gan = history[:30], history[30:]
    assert all(set(h) == {"loss_match", "match_top1"} for h in pretrain)
    # 8 positives of 16 per item: the loss cannot go below the targets' entropy, log 8.
    floor = torch.log(torch.tensor(8.0)).item()
    assert pretrain[0]["loss_match"] > floor + 1 and pretrain[-1]["loss_match"] < floor + 0.05
    assert pretrain[-1]["match_top1"] == 1.0  # each image's nearest text is its own caption
    assert all("loss_d" in h for h in gan)
    after = state_tensors(model)
    for key in snapshot:
        if key.startswith(("gen.text_encoder.", "disc.matcher.")):
            assert torch.equal(after[key], snapshot[key]), f"{key} moved after pre-training"
    assert any(not torch.equal(after[k], snapshot[k]) for k in after if k.startswith("gen.stage1"))
    with torch.no_grad():
        red, white = model.embed_text(captions)
    assert torch.cosine_similarity(red, white, dim=0) < 0.5  # the two captions are told apart
    assert red.norm().item() == pytest.approx(TINY["embedding_dim"] ** 0.5, rel=1e-4)
    with pytest.raises(ValueError, match="\\[train\\] text_pretrain_steps = 40 leaves no GAN"):
        structure({"steps": 40, "text_pretrain_steps": 40}, entry.config_cls, section="train")
