"""One WGAN-GP step: n_critic critic updates, then one generator update (Algorithm 1)."""

from __future__ import annotations

import torch


def train_step(batch, model, opt, ctx) -> dict[str, torch.Tensor]:
    cfg = ctx.cfg
    wasserstein = ctx.loss("wgan")
    penalty = ctx.loss("gradient-penalty")

    # (1) Critic: n_critic updates, each on its own share of the real batch and fresh fakes.
    shares = batch["image"].chunk(cfg.n_critic)
    for real in shares:
        with torch.no_grad():
            fake = model.generate(real.shape[0])
        with ctx.autocast():
            loss_critic = wasserstein.d(model.disc(real), model.disc(fake))
        gp = penalty(model.disc, real, fake)
        ctx.update(opt.disc, loss_critic + cfg.gp_weight * gp)

    # (2) Generator: raise the critic's score of new fakes; the critic's weights stay fixed.
    n = shares[0].shape[0]  # as many fakes as one critic update saw
    with ctx.frozen(model.disc), ctx.autocast():
        loss_g = wasserstein.g(model.disc(model.generate(n)))
    ctx.update(opt.gen, loss_g)

    return {"loss_critic": loss_critic.detach(), "gp": gp.detach(), "loss_g": loss_g.detach()}
