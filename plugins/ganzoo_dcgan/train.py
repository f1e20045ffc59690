"""The training step shared by unconditional GANs (registered as trainer ``gan``)."""

from __future__ import annotations

import torch


def train_step(batch, model, opt, ctx) -> dict[str, torch.Tensor]:
    cfg = ctx.cfg
    adversarial = ctx.loss(cfg.loss)
    real = batch["image"]
    z = model.sample_latent(real.shape[0])

    # (1) Discriminator: score real images up and generated ones down. The fake batch is made once
    #     and reused by the generator update below.
    with ctx.autocast():
        fake = model.gen(z)
        loss_d = adversarial.d(model.disc(real), model.disc(fake.detach()))
    if cfg.gp_weight:
        loss_d = loss_d + cfg.gp_weight * ctx.loss("gradient-penalty")(model.disc, real, fake)
    ctx.update(opt.disc, loss_d)

    # (2) Generator: make the discriminator score the same fakes as real. D's weights are frozen
    #     so no gradient is computed for them only to be thrown away.
    with ctx.frozen(model.disc), ctx.autocast():
        loss_g = adversarial.g(model.disc(fake))
    ctx.update(opt.gen, loss_g)

    return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach()}
