"""CycleGAN's training step (registered as trainer ``cyclegan``), its setup and optimizers.

Batches are ``{"a": [N, input_nc, H, W], "b": [N, output_nc, H, W]}`` in [-1, 1]: images of the
two domains, unrelated to each other.
"""

from __future__ import annotations

import torch

from ganzoo.base.errors import RecipeError

from . import pool


def setup(model, cfg, ctx, data) -> None:
    """Refuse models the trainer cannot train, before the run directory is created."""
    config = model.config
    if config.one_way:
        raise RecipeError("[model] one_way = true builds gen_ab alone (a converted official "
                          "generator); CycleGAN trains both directions: set one_way = false")
    if cfg.identity_weight and config.input_nc != config.output_nc:
        raise RecipeError(
            f"[train] identity_weight = {cfg.identity_weight} compares gen_ab(b) with b, which "
            f"needs domains with the same number of channels, but [model] has input_nc = "
            f"{config.input_nc} and output_nc = {config.output_nc}; set identity_weight = 0")


def optimizers(model, cfg, ctx) -> dict[str, torch.optim.Optimizer]:
    """The reference's two Adams: ``gen`` over both generators, ``disc`` over both
    discriminators."""
    gens = [*model.gen_ab.parameters(), *model.gen_ba.parameters()]
    discs = [*model.disc_a.parameters(), *model.disc_b.parameters()]
    return {"gen": ctx.adam(gens, cfg.lr_gen), "disc": ctx.adam(discs, cfg.lr_disc)}


def train_step(batch, model, opt, ctx) -> dict[str, torch.Tensor]:
    cfg = ctx.cfg
    adversarial = ctx.loss(cfg.loss)
    cycle, identity = ctx.loss("cycle"), ctx.loss("identity")
    real_a, real_b = batch["a"], batch["b"]

    # (1) Generators: fool the discriminators (frozen here), and come back where they started
    #     (cycle consistency). The identity term keeps each generator from changing images
    #     that already belong to its output domain (colour composition in paintings <-> photos).
    with ctx.frozen(model.disc_a, model.disc_b), ctx.autocast():
        fake_b = model.gen_ab(real_a)
        fake_a = model.gen_ba(real_b)
        g_gan = adversarial.g(model.disc_b(fake_b)) + adversarial.g(model.disc_a(fake_a))
        g_cycle = (cfg.cycle_weight_a * cycle(real_a, model.gen_ba(fake_b))
                   + cfg.cycle_weight_b * cycle(real_b, model.gen_ab(fake_a)))
        if cfg.identity_weight:
            g_identity = cfg.identity_weight * (
                cfg.cycle_weight_b * identity(real_b, model.gen_ab(real_b))
                + cfg.cycle_weight_a * identity(real_a, model.gen_ba(real_a)))
        else:
            g_identity = torch.zeros((), device=real_a.device)
        loss_g = cfg.gan_weight * g_gan + g_cycle + g_identity
    ctx.update(opt.gen, loss_g)

    # (2) Discriminators: real images up; the same step's fakes down, through the history pool
    #     (half of them swapped for older fakes) so D does not forget what G produced before.
    pooled_b = pool.query(ctx.state, "pool_b", fake_b, cfg.pool_size)
    pooled_a = pool.query(ctx.state, "pool_a", fake_a, cfg.pool_size)
    with ctx.autocast():
        loss_d_b = adversarial.d(model.disc_b(real_b), model.disc_b(pooled_b))
        loss_d_a = adversarial.d(model.disc_a(real_a), model.disc_a(pooled_a))
    loss_d = loss_d_a + loss_d_b
    if cfg.gp_weight:
        penalty = ctx.loss("gradient-penalty")
        loss_d = loss_d + cfg.gp_weight * (penalty(model.disc_b, real_b, pooled_b)
                                           + penalty(model.disc_a, real_a, pooled_a))
    ctx.update(opt.disc, loss_d)
    return {"loss_d_a": loss_d_a.detach(), "loss_d_b": loss_d_b.detach(),
            "loss_g_gan": g_gan.detach(), "loss_g_cycle": g_cycle.detach(),
            "loss_g_identity": g_identity.detach()}
