"""InfoGAN's training step (registered as trainer ``infogan``).

The paper's objective is ``min_{G,Q} max_D V(D, G) - lambda L_I(G, Q)`` with Q sharing D's trunk,
so the information term is minimised by everything it depends on: the Q head and the trunk (in
the discriminator's update, on the detached fakes) and G (in the generator's update, through the
frozen D and Q). This is what the authors' code does; ports that give the trunk only the
adversarial loss leave Q a linear probe of D's features.
"""

from __future__ import annotations

import math

import torch


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


def train_step(batch, model, opt, ctx) -> dict[str, torch.Tensor]:
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
        real_logits = model.disc(real)
        fake_heads = model.disc.heads(fake.detach())
        info_d, _, _ = info_loss(fake_heads, code, c, ctx)
        loss_d = adversarial.d(real_logits, fake_heads.logits) + info_d
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

    categories = fake_heads.code_logits.shape[1]
    return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(),
            "loss_info_code": categorical.detach(), "loss_info_c": continuous.detach(),
            # The variational lower bound of I(code; G(z, code)) in nats: H(code) - CE <= log K.
            "mi_code": math.log(categories) - categorical.detach(),
            **({"r1": penalty.detach()} if r1 else {})}
