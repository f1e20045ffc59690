"""StackGAN's training step, its setup and optimizers (registered as trainer ``stackgan``).

Batches are ``{"image": [N, C, R, R], "embedding": [N, D]}`` and/or ``{"caption": [N strings]}``
with R the resolution of the stage being trained.

Stage 1 trains the text encoder (when it has weights: first on its own as a joint image-text
embedding for ``text_pretrain_steps``, then frozen), conditioning augmentation, the Stage-I
generator and discriminator; the ``"captions"`` encoder's vocabulary is learnt from the training
captions in the trainer's setup (once per session, before the optimizers). Stage 2 starts from a
Stage-I run (``[model] stage1``), loaded into the model in the setup too and kept frozen; only
Stage-II's CA, generator and discriminator learn. The loop applies ``[train] lr_schedule``
(``"step"``: ``lr_decay`` every ``lr_decay_every`` steps) to every optimizer.
"""

from __future__ import annotations

import attrs
import torch

from ganzoo.hub.bundle import load_into
from ganzoo.base.errors import CheckpointError, GanzooError

from .config import STAGE1_FIELDS, UNTRAINED
from .matching import matching_loss, same_text, wrong_index
from .networks import FROZEN_AT_STAGE2
from .text import captions_of


def load_stage1(model) -> None:
    """Copy the Stage-I networks (text encoder, CA, generator) of ``model.config.stage1`` into
    ``model``, after checking it was trained with the same Stage-I settings."""
    import ganzoo

    source = model.config.stage1
    try:
        stage1 = ganzoo.load(source)
    except GanzooError as exc:
        raise CheckpointError(f"[model] stage1 = {source!r}: cannot load the Stage-I model: "
                              f"{exc}") from None
    if stage1.architecture != model.architecture:
        raise CheckpointError(f"[model] stage1 = {source!r} holds a {stage1.architecture!r} "
                              f"model, not a Stage-I {model.architecture!r} one")
    for field in STAGE1_FIELDS:
        have, want = getattr(stage1.config, field), getattr(model.config, field)
        if have != want:
            raise CheckpointError(
                f"[model] stage1 = {source!r} was trained with {field} = {have!r} but [model] "
                f"{field} = {want!r}; set [model] {field} = {have!r} (Stage-II must match the "
                "Stage-I it builds on)")
    # The vocabulary learnt by Stage-I is part of what Stage-II builds on: copy it.
    model.config = attrs.evolve(model.config, vocabulary=stage1.config.vocabulary)
    tensors = {k: v for k, v in stage1.gen.state_dict().items()}
    for name in FROZEN_AT_STAGE2:
        prefix = f"{name}."
        part = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        load_into(getattr(model.gen, name), part, stage1.bundle_folder)


def pretrains_text(model, cfg) -> bool:
    """Stage I with the ``"captions"`` encoder and ``text_pretrain_steps``: the encoder is
    pre-trained as a joint image-text embedding, then frozen (matching.py)."""
    return (model.config.stage == 1 and cfg.text_pretrain_steps > 0
            and hasattr(model.disc, "matcher"))


def setup(model, cfg, ctx, data) -> None:
    """Stage II: load the frozen Stage-I networks. Stage I with the ``"captions"`` encoder: learn
    the vocabulary of every training caption, in dataset order (so a resumed run, whose config
    starts empty again, learns the same one)."""
    if model.config.stage == 2 and model.config.stage1 != UNTRAINED:
        load_stage1(model)
    if model.config.stage == 1 and model.config.text_encoder == "captions" and data is not None:
        model.learn_words(training_captions(data))


def training_captions(data) -> list[str]:
    """Every caption of the training set: the dataset's ``captions`` list where it has one
    (CUB's ten per image; no image is loaded), else each item's ``"caption"``."""
    listed = getattr(data, "captions", None)
    if listed is None:
        captions_of(data[0])  # the encoder's clear error for a dataset without captions
        listed = [data[i]["caption"] for i in range(len(data))]
    return [c for entry in listed for c in ([entry] if isinstance(entry, str) else entry)]


def optimizers(model, cfg, ctx) -> dict[str, torch.optim.Optimizer]:
    """Adam for G (CA and generator of the stage being trained) and for D. A text encoder with
    weights is either pre-trained with the image encoder (``"text"``, then frozen) or, without
    ``text_pretrain_steps``, trained through D's matching-aware loss (G reads the embeddings
    detached in both cases)."""
    gen = [p for name, p in model.gen.named_parameters()
           if p.requires_grad and not name.startswith("text_encoder.")]
    disc = [p for name, p in model.disc.named_parameters() if not name.startswith("matcher.")]
    text = [p for p in model.gen.text_encoder.parameters() if p.requires_grad]
    out = {"gen": ctx.adam(gen, cfg.lr_gen)}
    if pretrains_text(model, cfg):
        out["text"] = ctx.adam([*text, *model.disc.matcher.parameters()], cfg.text_pretrain_lr)
    else:
        disc += text
    out["disc"] = ctx.adam(disc, cfg.lr_disc)
    return out


def train_step(batch, model, opt, ctx) -> dict[str, torch.Tensor]:
    cfg = ctx.cfg
    adversarial = ctx.loss(cfg.loss)
    kl = ctx.loss("kl")
    real = batch["image"]
    n = real.shape[0]
    stage2 = model.config.stage == 2
    pretrain = pretrains_text(model, cfg)
    if pretrain and ctx.step < cfg.text_pretrain_steps:
        return pretrain_text_step(batch, model, opt, ctx)

    # (0) Text embeddings. Without pre-training, a text encoder with weights learns through D's
    #     loss at stage 1 (so this one keeps its graph); G always gets them detached. The wrong
    #     text of each image is the next item's with a different caption.
    if pretrain:
        with torch.no_grad():
            embedding = model.embed_batch(batch)
    else:
        embedding = model.embed_batch(batch)
    wrong = embedding[wrong_index(same_text(batch, embedding.detach()))]
    cond = embedding.detach()
    z = model.sample_latent(n)

    # (1) Discriminator, matching-aware: real images with their text up; generated images and
    #     real images with a wrong text down: real + (fake + wrong) / 2 for the BCE loss.
    with ctx.autocast():
        if stage2:
            with torch.no_grad():
                low, _, _ = model.gen.low_resolution(cond, z)
            fake, mu, logvar = model.gen.high_resolution(low, cond)
        else:
            fake, mu, logvar = model.gen.low_resolution(cond, z)
        real_features = model.disc.features(real)
        real_logits = model.disc.judge(real_features, embedding)
        wrong_logits = model.disc.judge(real_features, wrong)
        fake_logits = model.disc(fake.detach(), cond)
        loss_d = 0.5 * (adversarial.d(real_logits, fake_logits)
                        + adversarial.d(real_logits, wrong_logits))
    if cfg.gp_weight:
        critic = lambda images: model.disc(images, cond)  # noqa: E731
        loss_d = loss_d + cfg.gp_weight * ctx.loss("gradient-penalty")(critic, real, fake)
    ctx.update(opt.disc, loss_d)

    # (2) Generator: make D accept the same images with their text, and keep the conditioning
    #     distribution close to N(0, I) (the KL term keeps the text manifold smooth).
    with ctx.frozen(model.disc), ctx.autocast():
        loss_g_gan = adversarial.g(model.disc(fake, cond))
        loss_kl = kl(mu, logvar)
        loss_g = loss_g_gan + cfg.kl_weight * loss_kl
    ctx.update(opt.gen, loss_g)
    with torch.no_grad():
        acc_wrong = (wrong_logits.detach() < real_logits.detach()).float().mean()
    return {"loss_d": loss_d.detach(), "loss_g": loss_g_gan.detach(), "loss_kl": loss_kl.detach(),
            "d_real": real_logits.detach().mean(), "d_wrong": wrong_logits.detach().mean(),
            "d_fake": fake_logits.detach().mean(), "match_acc": acc_wrong}


def pretrain_text_step(batch, model, opt, ctx) -> dict[str, torch.Tensor]:
    """One step of the joint image-text embedding (the GAN does not train in these steps)."""
    with ctx.autocast():
        text = model.embed_batch(batch)
        loss, top1 = matching_loss(text, model.disc.matcher(batch["image"]),
                                   same_text(batch, text.detach()))
    ctx.update(opt.text, loss)
    return {"loss_match": loss.detach(), "match_top1": top1}
