"""InfoGAN's training step (registered as trainer ``infogan``).

The paper's objective is ``min_{G,Q} max_D V(D, G) - lambda L_I(G, Q)`` with Q sharing D's trunk,
so the information term is minimised by everything it depends on: the Q head and the trunk (in
the discriminator's update, on the detached fakes) and G (in the generator's update, through the
frozen D and Q). This is what the authors' code does; ports that give the trunk only the
adversarial loss leave Q a linear probe of D's features.

Not in the paper, and off unless ``[train]`` asks: ``lambda_real_clustering`` also has Q cluster
the real batch in D's update (``losses.real_clustering_loss``), so that two codes cannot settle
on one kind of real image; ``augment``/``instance_noise``/``real_label`` change what D sees; and
``r1_gamma`` penalises D's slope at the real images.
"""

from __future__ import annotations

import math

import torch

from . import augment


def info_loss(heads, code: torch.Tensor, c: torch.Tensor, ctx) -> tuple[torch.Tensor, ...]:
    """``(lambda-weighted sum, categorical NLL, continuous NLL)`` of the drawn codes under Q."""
    cfg = ctx.cfg
    categorical = ctx.loss("info-categorical")(heads.code_logits, code)
    total = cfg.lambda_categorical * categorical
    continuous = torch.zeros((), device=code.device)
    if c.shape[1]:
        continuous = ctx.loss("info-gaussian")(heads.c_mean, c, heads.c_log_std)
        total = total + cfg.lambda_continuous * continuous
    return total, categorical, continuous


def score_real(model, real: torch.Tensor, ctx) -> tuple[torch.Tensor, torch.Tensor | None]:
    """D's logits for the real batch, and with ``lambda_real_clustering`` Q's clustering loss
    on it (from the same pass of the trunk); ``None`` without."""
    if not ctx.cfg.lambda_real_clustering:
        return model.disc(real), None
    heads = model.disc.heads(real)
    return heads.logits, ctx.loss("info-real-clustering")(heads.code_logits)


def sees_changed(cfg) -> bool:
    """Whether ``[train]`` changes what D sees (augmentation, instance noise or smoothing)."""
    return cfg.augment != "none" or cfg.instance_noise > 0 or cfg.real_label != 1.0


def train_step(batch, model, opt, ctx) -> dict[str, torch.Tensor]:
    if sees_changed(ctx.cfg):
        return augmented_train_step(batch, model, opt, ctx)
    adversarial = ctx.loss(ctx.cfg.loss)
    real = batch["image"]
    z, code, c = model.sample_inputs(real.shape[0])  # the priors: z_prior, uniform, U(-1, 1)

    # (1) Discriminator and Q: score real images up and generated ones down, and recover the
    #     codes the fakes were drawn with. Both heads read one trunk, and both losses train it.
    #     The fake batch is made once and reused by the generator update below.
    #     With ``r1_gamma``, D's slope at the real images is penalised too (R1).
    r1 = ctx.cfg.r1_gamma
    if r1:
        real = real.detach().requires_grad_(True)
    with ctx.autocast():
        fake = model.gen(z, code, c)
        real_logits, clustering = score_real(model, real, ctx)
        fake_heads = model.disc.heads(fake.detach())
        info_d, _, _ = info_loss(fake_heads, code, c, ctx)
        loss_d = adversarial.d(real_logits, fake_heads.logits) + info_d
        if clustering is not None:
            loss_d = loss_d + ctx.cfg.lambda_real_clustering * clustering
        if r1:
            penalty = ctx.loss("r1")(real_logits, real)
            loss_d = loss_d + r1 / 2 * penalty
    ctx.update(opt.disc, loss_d)

    # (2) Generator: make D score the same fakes as real, and make their codes recoverable by Q
    #     (the mutual-information term reaches G only through Q). D and Q are frozen so no
    #     gradient is computed for them only to be thrown away.
    with ctx.frozen(model.disc), ctx.autocast():
        fake_heads = model.disc.heads(fake)
        info_g, categorical, continuous = info_loss(fake_heads, code, c, ctx)
        loss_g = adversarial.g(fake_heads.logits) + info_g
    ctx.update(opt.gen, loss_g)

    return _losses(loss_d, loss_g, categorical, continuous, fake_heads.code_logits.shape[1],
                   **({"r1": penalty} if r1 else {}),
                   **({"real_clustering": clustering} if clustering is not None else {}))


def augmented_train_step(batch, model, opt, ctx) -> dict[str, torch.Tensor]:
    """The same two updates with D's inputs changed as ``[train]`` asks (``augment.py``): the
    real and fake images D scores are augmented with one draw of DiffAugment's parameters per
    update (the same for a batch's real and fake halves) and noised with the annealed instance
    noise, in D's update and in G's, and D's target for real images is ``real_label``; R1, if
    asked for, is taken at the transformed real images. Q reads
    the codes from the fakes D scores, or from the clean fakes when ``q_sees = "clean"``."""
    cfg = ctx.cfg
    real = batch["image"]
    z, code, c = model.sample_inputs(real.shape[0])
    std = augment.noise_std(cfg.instance_noise, ctx.step, cfg.steps)

    def seen(images, params):
        images = augment.apply(images, params)
        return images + std * torch.randn_like(images) if std > 0 else images

    def draw():
        return augment.draw(cfg.augment, real.shape[0], real.shape[-1], ratio=cfg.augment_ratio,
                            device=real.device)

    # (1) Discriminator and Q, on the transformed real and fake images. With ``r1_gamma``, D's
    #     slope is penalised at the real images it scores, augmented (as StyleGAN2-ADA does).
    r1 = cfg.r1_gamma
    with ctx.autocast():
        fake = model.gen(z, code, c)
        params = draw()
        real_seen = seen(real, params)
        if r1:
            real_seen = real_seen.detach().requires_grad_(True)
        real_logits, clustering = score_real(model, real_seen, ctx)
        fake_heads = model.disc.heads(seen(fake.detach(), params))
        q_heads = model.disc.heads(fake.detach()) if cfg.q_sees == "clean" else fake_heads
        info_d, _, _ = info_loss(q_heads, code, c, ctx)
        if cfg.real_label != 1.0:
            adversarial_d = augment.smoothed_bce_d(real_logits, fake_heads.logits, cfg.real_label)
        else:
            adversarial_d = ctx.loss(cfg.loss).d(real_logits, fake_heads.logits)
        loss_d = adversarial_d + info_d
        if clustering is not None:
            loss_d = loss_d + cfg.lambda_real_clustering * clustering
        if r1:
            penalty = ctx.loss("r1")(real_logits, real_seen)
            loss_d = loss_d + r1 / 2 * penalty
    ctx.update(opt.disc, loss_d)

    # (2) Generator, through a fresh draw of the transform (the gradient passes through it).
    with ctx.frozen(model.disc), ctx.autocast():
        fake_heads = model.disc.heads(seen(fake, draw()))
        q_heads = model.disc.heads(fake) if cfg.q_sees == "clean" else fake_heads
        info_g, categorical, continuous = info_loss(q_heads, code, c, ctx)
        loss_g = ctx.loss(cfg.loss).g(fake_heads.logits) + info_g
    ctx.update(opt.gen, loss_g)
    return _losses(loss_d, loss_g, categorical, continuous, q_heads.code_logits.shape[1],
                   **({"r1": penalty} if r1 else {}),
                   **({"real_clustering": clustering} if clustering is not None else {}))


def _losses(loss_d, loss_g, categorical, continuous, categories: int,
            **extra: torch.Tensor) -> dict[str, torch.Tensor]:
    return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(),
            "loss_info_code": categorical.detach(), "loss_info_c": continuous.detach(),
            # The variational lower bound of I(code; G(z, code)) in nats: H(code) - CE <= log K.
            "mi_code": math.log(categories) - categorical.detach(),
            **{name: value.detach() for name, value in extra.items()}}
