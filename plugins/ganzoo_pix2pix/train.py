"""pix2pix's training step (registered as trainer ``pix2pix``).

Batches are ``{"source": [N, input_nc, H, W], "target": [N, output_nc, H, W]}`` in [-1, 1].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganzoo.errors import RecipeError
from ganzoo.training.schedules import linear_decay, set_lr


def train_step(batch, model, opt, ctx) -> dict[str, torch.Tensor]:
    cfg = ctx.cfg
    adversarial = ctx.loss(cfg.loss)
    source, target = batch["source"], batch["target"]
    if source.shape[1] != model.config.input_nc or target.shape[1] != model.config.output_nc:
        raise RecipeError(
            f"the data gives {source.shape[1]}-channel inputs and {target.shape[1]}-channel "
            f"targets but [model] has input_nc = {model.config.input_nc} and output_nc = "
            f"{model.config.output_nc}; make them agree")
    factor = linear_decay(ctx.step, cfg.steps, cfg.decay_start)
    set_lr(opt.gen, cfg.lr_gen * factor)
    set_lr(opt.disc, cfg.lr_disc * factor)

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
