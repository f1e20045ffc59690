"""The class-conditional training step (registered as trainer ``cgan``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def train_step(batch, model, opt, ctx) -> dict[str, torch.Tensor]:
    cfg = ctx.cfg
    adversarial = ctx.loss(cfg.loss)
    real, labels = batch["image"], batch["label"]
    n = real.shape[0]
    z = model.sample_latent(n)
    # The classes to draw are uniform, not the batch's: G must learn every class equally often.
    fake_labels = torch.randint(0, model.config.num_classes, (n,), device=real.device)

    # (1) Discriminator: score real (image, label) pairs up and generated ones down. The fake
    #     batch is made once and reused by the generator update below. AC-GAN's head also learns
    #     to classify both real and generated images (Odena et al. 2017, eq. 2-3).
    with ctx.autocast():
        fake = model.gen(z, fake_labels)
        real_logits, real_classes = model.disc.heads(real, labels)
        fake_logits, fake_classes = model.disc.heads(fake.detach(), fake_labels)
        loss_d = adversarial.d(real_logits, fake_logits)
        if real_classes is not None:
            loss_aux = (F.cross_entropy(real_classes.float(), labels)
                        + F.cross_entropy(fake_classes.float(), fake_labels))
            loss_d = loss_d + cfg.aux_weight * loss_aux
    if cfg.gp_weight:
        # Interpolates between real and fake images are scored as the real images' classes.
        critic = lambda images: model.disc(images, labels)  # noqa: E731
        loss_d = loss_d + cfg.gp_weight * ctx.loss("gradient-penalty")(critic, real, fake)
    ctx.update(opt.disc, loss_d)

    # (2) Generator: make the discriminator score the same fakes as real for their labels (and,
    #     with AC-GAN, classify them as those labels). D's weights are frozen so no gradient is
    #     computed for them only to be thrown away.
    with ctx.frozen(model.disc), ctx.autocast():
        fake_logits, fake_classes = model.disc.heads(fake, fake_labels)
        loss_g = adversarial.g(fake_logits)
        if fake_classes is not None:
            loss_g = loss_g + cfg.aux_weight * F.cross_entropy(fake_classes.float(), fake_labels)
    ctx.update(opt.gen, loss_g)

    losses = {"loss_d": loss_d.detach(), "loss_g": loss_g.detach()}
    if real_classes is not None:
        losses["loss_aux"] = loss_aux.detach()
        losses["acc_real"] = (real_classes.detach().argmax(1) == labels).float().mean()
    return losses
