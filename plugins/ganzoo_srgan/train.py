"""SRResNet's and SRGAN's training steps (trainers ``srresnet`` and ``srgan``).

Batches are ``{"source": [N, C, h, w], "target": [N, C, h*scale, w*scale]}`` in [-1, 1].

The paper trains in two stages: SRResNet on the content loss alone (pixel MSE), then the GAN
stage initialised from it (``[model] srresnet``), whose generator minimises content loss plus
1e-3 x the adversarial loss. The SRResNet generator is copied in when the optimizers are made
(once per session, before the first step; a resumed run then loads its own checkpoint over it).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganzoo.hub.bundle import load_into
from ganzoo.nn.losses import relativistic_average_d, relativistic_average_g
from ganzoo.base.errors import CheckpointError, GanzooError

#: Fields the SRResNet run must share with the GAN stage that starts from it.
GENERATOR_FIELDS = ("scale", "channels", "generator", "blocks", "width", "growth", "io_range",
                    "bicubic_skip")


def content_loss(model, fake: torch.Tensor, target: torch.Tensor, cfg) -> torch.Tensor:
    """Pixel MSE or L1, or the MSE of VGG19 feature maps (``cfg.content``)."""
    if cfg.content == "mse":
        return F.mse_loss(fake.float(), target.float())
    if cfg.content == "l1":
        return F.l1_loss(fake.float(), target.float())
    from .vgg import feature_extractor, vgg_loss

    features = feature_extractor(cfg.content, cfg.vgg_weights, fake.device)
    return vgg_loss(features, fake, target, cfg.vgg_scale)


def srresnet_step(batch, model, opt, ctx) -> dict[str, torch.Tensor]:
    """SRResNet: one generator update on the content loss (no discriminator)."""
    with ctx.autocast():
        fake = model.gen(batch["source"])
        loss = content_loss(model, fake, batch["target"], ctx.cfg)
    ctx.update(opt.gen, loss)
    return {"loss_content": loss.detach()}


def srgan_step(batch, model, opt, ctx) -> dict[str, torch.Tensor]:
    cfg = ctx.cfg
    adversarial = ctx.loss(cfg.loss)
    source, target = batch["source"], batch["target"]

    # (1) Discriminator: real high-resolution crops up, super-resolved ones down.
    with ctx.autocast():
        fake = model.gen(source)
        loss_d = adversarial.d(model.disc(target), model.disc(fake.detach()))
    if cfg.gp_weight:
        loss_d = loss_d + cfg.gp_weight * ctx.loss("gradient-penalty")(model.disc, target, fake)
    ctx.update(opt.disc, loss_d)

    # (2) Generator: the perceptual loss, content loss + 1e-3 x adversarial loss: the content
    #     term keeps the image faithful, the adversarial one pushes it toward the manifold of
    #     natural images (sharper than the MSE-optimal average of plausible textures).
    with ctx.frozen(model.disc), ctx.autocast():
        g_content = content_loss(model, fake, target, cfg)
        g_gan = adversarial.g(model.disc(fake))
        loss_g = g_content + cfg.adversarial_weight * g_gan
    ctx.update(opt.gen, loss_g)
    return {"loss_d": loss_d.detach(), "loss_g_content": g_content.detach(),
            "loss_g_gan": g_gan.detach()}


def esrgan_step(batch, model, opt, ctx) -> dict[str, torch.Tensor]:
    """ESRGAN's GAN stage (trainer ``esrgan``): the relativistic-average GAN."""
    cfg = ctx.cfg
    source, target = batch["source"], batch["target"]

    # (1) Discriminator: is a real crop more real than the average fake, a fake less real than
    #     the average real crop?
    with ctx.autocast():
        fake = model.gen(source)
        loss_d = relativistic_average_d(model.disc(target), model.disc(fake.detach()))
    ctx.update(opt.disc, loss_d)

    # (2) Generator: content loss + weight x the same game reversed; both terms carry gradient
    #     to G (the real crops' side through the average over the batch of fakes).
    with ctx.frozen(model.disc), ctx.autocast():
        g_content = content_loss(model, fake, target, cfg)
        g_gan = relativistic_average_g(model.disc(target).detach(), model.disc(fake))
        loss_g = g_content + cfg.adversarial_weight * g_gan
    ctx.update(opt.gen, loss_g)
    return {"loss_d": loss_d.detach(), "loss_g_content": g_content.detach(),
            "loss_g_gan": g_gan.detach()}


def load_srresnet(model) -> None:
    """Copy the generator of ``model.config.srresnet`` into ``model`` after checking that it
    was built with the same generator settings."""
    import ganzoo

    source = model.config.srresnet
    try:
        pretrained = ganzoo.load(source)
    except GanzooError as exc:
        raise CheckpointError(f"[model] srresnet = {source!r}: cannot load the SRResNet model: "
                              f"{exc}") from None
    if pretrained.architecture != model.architecture:
        raise CheckpointError(f"[model] srresnet = {source!r} holds a "
                              f"{pretrained.architecture!r} model, not an {model.architecture!r} "
                              "one")
    for field in GENERATOR_FIELDS:
        have, want = getattr(pretrained.config, field), getattr(model.config, field)
        if have != want:
            raise CheckpointError(
                f"[model] srresnet = {source!r} was trained with {field} = {have!r} but [model] "
                f"{field} = {want!r}; set [model] {field} = {have!r} (the GAN stage starts from "
                "that generator)")
    load_into(model.gen, pretrained.gen.state_dict(), pretrained.bundle_folder)


def srresnet_optimizers(model, cfg, ctx) -> dict[str, torch.optim.Optimizer]:
    """Adam for the generator only: SRResNet has no discriminator to train."""
    return {"gen": ctx.adam(model.gen.parameters(), cfg.lr_gen)}


def srgan_optimizers(model, cfg, ctx) -> dict[str, torch.optim.Optimizer]:
    """Adam for G and D, G first initialised from the SRResNet run when one is named."""
    if model.config.srresnet:
        load_srresnet(model)
    return {"gen": ctx.adam(model.gen.parameters(), cfg.lr_gen),
            "disc": ctx.adam(model.disc.parameters(), cfg.lr_disc)}
