"""pix2pix's training step (registered as trainer ``pix2pix``).

Batches are ``{"source": [N, input_nc, H, W], "target": [N, output_nc, H, W]}`` in [-1, 1].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F



def train_step(batch, model, opt, ctx) -> dict[str, torch.Tensor]:
    cfg = ctx.cfg
    adversarial = ctx.loss(cfg.loss)
    source, target = batch["source"], batch["target"]

    # (1) Discriminator: real (input, target) pairs up, (input, output) pairs down. Its loss is
    #     scaled (0.5 in the paper) so that D learns more slowly than G. The fake pairs go
    #     through D first, as in the reference: the order sets D's batch-norm running averages.
    with ctx.autocast():
        fake = model.gen(source)
        fake_logits = model.judge(source, fake.detach())
        loss_d = cfg.disc_loss_scale * adversarial.d(model.judge(source, target), fake_logits)
    if cfg.gp_weight:
        critic = lambda images: model.judge(source, images)  # noqa: E731
        loss_d = loss_d + cfg.gp_weight * ctx.loss("gradient-penalty")(critic, target, fake)
    ctx.update(opt.disc, loss_d)

    # (2) Generator: fool D on the same outputs and stay close to the target in L1, which carries
    #     the low frequencies while D's patches judge the high ones; optionally also match the
    #     target's gradient magnitudes (edges drawn where the target has them).
    with ctx.frozen(model.disc), ctx.autocast():
        g_gan = adversarial.g(model.judge(source, fake))
        g_l1 = F.l1_loss(fake.float(), target.float())
        loss_g = g_gan + cfg.l1_weight * g_l1
        logs = {"loss_d": loss_d.detach(), "loss_g_gan": g_gan.detach(), "loss_g_l1": g_l1.detach()}
        if cfg.grad_weight:
            g_grad = ctx.loss("gradient-magnitude")(fake, target)
            loss_g = loss_g + cfg.grad_weight * g_grad
            logs["loss_g_grad"] = g_grad.detach()
    ctx.update(opt.gen, loss_g)
    return logs
