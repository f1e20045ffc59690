"""Projecting real images onto a generator's manifold (Zhu et al. 2016, iGAN, section 3.1).

Find ``z`` with ``G(z) ≈ x`` in three ways:

- ``"optimise"``: minimise ``pixel MSE + feature_weight · feature MSE + prior_weight · mean(z²)``
  over ``z`` with L-BFGS or Adam from several random starts, keeping each image's best.
  The features are the shipped digits classifier's penultimate layer (1-channel models only).
- ``"encoder"``: one pass of an encoder network trained on generated pairs ``(z, G(z))`` to
  predict ``z`` (latent MSE) and to reconstruct ``G(z)`` through the generator (pixel MSE).
- ``"hybrid"``: the encoder's guess as the first start of the optimisation.

The encoder starts from scratch or, with ``train_encoder(..., init="discriminator")``, is grown
from the trained discriminator ("transfer learning: from discriminator to encoder"): a copy of
its convolutional trunk (everything before the layer that makes the real/fake logit) with a
linear z regressor as the new head, fine-tuned on the same generated pairs.

The generator's own weights are never changed.
"""

from __future__ import annotations

import math
from typing import Literal

import attrs
import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.base.errors import GanzooError

METHODS = ("optimise", "encoder", "hybrid")
INITS = ("scratch", "discriminator")
OPTIMIZERS = ("lbfgs", "adam")


@attrs.frozen(kw_only=True)
class Projection:
    """Latents ``z`` (the model's latent shape), their images, and per-image pixel MSE."""

    z: torch.Tensor
    images: torch.Tensor
    mse: torch.Tensor
    method: str


class Encoder(nn.Sequential):
    """Image ``[N, C, R, R]`` → latent ``[N, z_dim]``: strided convs halving to 4×4, then linear."""

    def __init__(self, *, channels: int, resolution: int, z_dim: int, width: int = 32):
        downs = int(math.log2(resolution)) - 2
        assert 2 ** (downs + 2) == resolution, f"resolution must be a power of 2, got {resolution}"
        layers: list[nn.Module] = []
        c = channels
        for i in range(downs):
            layers += [nn.Conv2d(c, width * 2 ** i, 4, 2, 1), nn.LeakyReLU(0.2, True)]
            c = width * 2 ** i
        layers += [nn.Flatten(), nn.Linear(c * 16, z_dim)]
        super().__init__(*layers)
        self.config = {"channels": channels, "resolution": resolution, "z_dim": z_dim,
                       "width": width}


class GrownEncoder(nn.Sequential):
    """Image → latent through a copy of a discriminator's trunk and a linear z regressor."""

    def __init__(self, *, trunk: nn.Sequential, channels: int, resolution: int, z_dim: int,
                 architecture: str):
        with torch.no_grad():
            features = trunk(torch.zeros(2, channels, resolution, resolution)).flatten(1).shape[1]
        super().__init__(*trunk, nn.Flatten(), nn.Linear(features, z_dim))
        self.config = {"init": "discriminator", "architecture": architecture,
                       "channels": channels, "resolution": resolution, "z_dim": z_dim}


def discriminator_trunk(model, *, fresh: bool = False) -> nn.Sequential:
    """A copy of ``model``'s (first) discriminator less its head: the layers before the last
    convolution or linear layer, which makes the real/fake logit. ``fresh``: the same layers
    freshly initialised (the shape to load saved weights into)."""
    import copy

    from ganzoo.hub.bundle import NotLoaded

    names = [n for n in model.components if n not in model.generator_components]
    if not names:
        raise GanzooError(f"{model.architecture or type(model).__name__} has no discriminator "
                          "to grow an encoder from; use init='scratch'")
    disc = getattr(type(model)(model.config), names[0]) if fresh else getattr(model, names[0])
    if isinstance(disc, NotLoaded):
        raise GanzooError(f"cannot grow an encoder from the discriminator: {disc.message}")
    heads = [i for i, layer in enumerate(disc.children())
             if isinstance(layer, (nn.Conv2d, nn.Linear))] if isinstance(disc, nn.Sequential) else []
    if len(heads) < 2:
        raise GanzooError(f"{model.architecture}'s discriminator {names[0]!r} is not a "
                          "sequence of layers ending in a logit layer; its trunk cannot be cut")
    return copy.deepcopy(nn.Sequential(*list(disc.children())[:heads[-1]])).cpu().train()


def _shape(model) -> tuple[int, int, int]:
    cfg = model.config
    return cfg.channels, cfg.resolution, cfg.z_dim


def _latent(model, z_flat: torch.Tensor) -> torch.Tensor:
    return z_flat.view(-1, *model.sample_latent(1, seed=0).shape[1:])


def train_encoder(model, *, steps: int = 500, batch_size: int = 64, lr: float = 1e-3,
                  pixel_weight: float = 1.0, seed: int = 0, width: int = 32,
                  init: str = "scratch") -> Encoder | GrownEncoder:
    """An encoder for ``model`` trained on fresh ``(z, G(z))`` pairs each step: an
    :class:`Encoder` from scratch, or with ``init="discriminator"`` a :class:`GrownEncoder`
    starting from the trained discriminator's trunk (load the model with
    ``components="all"``)."""
    if init not in INITS:
        raise GanzooError(f"unknown encoder init {init!r}; accepted: {', '.join(INITS)}")
    channels, resolution, z_dim = _shape(model)
    torch.manual_seed(seed)
    if init == "discriminator":
        encoder = GrownEncoder(trunk=discriminator_trunk(model), channels=channels,
                               resolution=resolution, z_dim=z_dim,
                               architecture=model.architecture)
    else:
        encoder = Encoder(channels=channels, resolution=resolution, z_dim=z_dim, width=width)
    encoder.to(model.device)
    opt = torch.optim.Adam(encoder.parameters(), lr=lr, betas=(0.5, 0.999))
    gen_grad = [p.requires_grad for p in model.parameters()]
    model.requires_grad_(False)
    try:
        for step in range(steps):
            z = model.sample_latent(batch_size, seed=seed * 1_000_003 + step)
            with torch.no_grad():
                target = model.generate(batch_size, z=z)
            guess = encoder(target)
            loss = F.mse_loss(guess, z.flatten(1))
            if pixel_weight:
                loss = loss + pixel_weight * F.mse_loss(model.generate(0, z=_latent(model, guess)),
                                                        target)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    finally:
        for p, flag in zip(model.parameters(), gen_grad):
            p.requires_grad_(flag)
    return encoder.eval()


def save_encoder(encoder: Encoder | GrownEncoder, path) -> None:
    """Write the encoder as a safetensors file (its config in the metadata), atomically."""
    import json

    from safetensors.torch import save_file

    from ganzoo.base.io import atomic_write_with

    tensors = {k: v.detach().cpu().contiguous() for k, v in encoder.state_dict().items()}
    atomic_write_with(path, lambda tmp: save_file(tensors, str(tmp), metadata={
        "format": "pt", "ganzoo_encoder": json.dumps(encoder.config)}))


def load_encoder(path, model=None) -> Encoder | GrownEncoder:
    """An encoder written by :func:`save_encoder`; one grown from a discriminator needs the
    ``model`` it was trained for (its discriminator's layout; the weights may be left out)."""
    import json
    from pathlib import Path

    from safetensors import safe_open

    from ganzoo.hub.bundle import read_tensors

    tensors = read_tensors(Path(path))
    with safe_open(str(path), "pt") as fh:
        meta = fh.metadata() or {}
    if "ganzoo_encoder" not in meta:
        raise GanzooError(f"{path}: not a ganzoo encoder (no 'ganzoo_encoder' metadata)")
    config = json.loads(meta["ganzoo_encoder"])
    if config.pop("init", "scratch") == "discriminator":
        if model is None or model.architecture != config["architecture"]:
            raise GanzooError(f"{path}: an encoder grown from a {config['architecture']} "
                              "discriminator; load it with that model (--encoder with MODEL)")
        encoder = GrownEncoder(trunk=discriminator_trunk(model, fresh=True), **config)
    else:
        encoder = Encoder(**config)
    encoder.load_state_dict(tensors, strict=True)
    return encoder.eval()


def _feature_fn(model, feature_weight: float):
    if not feature_weight or model.config.channels != 1:
        return None
    from ganzoo.metrics.digits_classifier import load_classifier

    return load_classifier(device=model.device).features


def per_image_loss(model, z_flat, target, *, feature_fn, target_features, feature_weight,
                   prior_weight) -> torch.Tensor:
    """The projection objective, one value per image."""
    fake = model.generate(0, z=_latent(model, z_flat))
    loss = (fake - target).pow(2).flatten(1).mean(1)
    if feature_fn is not None:
        loss = loss + feature_weight * (feature_fn(fake) - target_features).pow(2).mean(1)
    if prior_weight:
        loss = loss + prior_weight * z_flat.pow(2).mean(1)
    return loss


def optimise(model, images: torch.Tensor, init: torch.Tensor, *, steps: int = 100,
             optimizer: Literal["lbfgs", "adam"] = "lbfgs", lr: float = 0.05,
             feature_weight: float = 0.1, prior_weight: float = 1e-3) -> tuple[torch.Tensor,
                                                                               torch.Tensor]:
    """Optimise flat latents ``init [N, z_dim]`` towards ``images``; returns (z, per-image loss).

    L-BFGS runs ``steps`` iterations with a strong-Wolfe line search (``lr`` is unused);
    Adam takes ``steps`` steps of size ``lr``. Each image's loss depends only on its own latent,
    so optimising the sum optimises every image; an image whose loss did not improve keeps its
    start.
    """
    if optimizer not in OPTIMIZERS:
        raise GanzooError(f"unknown optimizer {optimizer!r}; accepted: {', '.join(OPTIMIZERS)}")
    feature_fn = _feature_fn(model, feature_weight)
    target = images.to(model.device)
    with torch.no_grad():
        target_features = feature_fn(target) if feature_fn is not None else None
    z = init.detach().clone().to(model.device).requires_grad_(True)
    kwargs = dict(feature_fn=feature_fn, target_features=target_features,
                  feature_weight=feature_weight, prior_weight=prior_weight)
    flags = [p.requires_grad for p in model.parameters()]
    model.requires_grad_(False)
    try:
        with torch.no_grad():
            start_loss = per_image_loss(model, z, target, **kwargs)
        with torch.enable_grad():
            if optimizer == "lbfgs":
                opt = torch.optim.LBFGS([z], lr=1.0, max_iter=steps, history_size=20,
                                        line_search_fn="strong_wolfe")

                def closure():
                    opt.zero_grad()
                    loss = per_image_loss(model, z, target, **kwargs).sum()
                    loss.backward()
                    return loss

                opt.step(closure)
            else:
                opt = torch.optim.Adam([z], lr=lr)
                for _ in range(steps):
                    loss = per_image_loss(model, z, target, **kwargs).sum()
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
        with torch.no_grad():
            final = per_image_loss(model, z, target, **kwargs)
    finally:
        for p, flag in zip(model.parameters(), flags):
            p.requires_grad_(flag)
    # Never return something worse than the start (Adam can overshoot; NaN counts as worse).
    worse = ~(final <= start_loss)
    z = torch.where(worse.view(-1, 1), init.to(z.device), z.detach())
    return z, torch.where(worse, start_loss, final)


def project(model, images: torch.Tensor, *, method: str = "hybrid", encoder: Encoder | None = None,
            steps: int = 100, restarts: int = 3, optimizer: str = "lbfgs", lr: float = 0.05,
            feature_weight: float = 0.1, prior_weight: float = 1e-3, seed: int = 0) -> Projection:
    """Project ``images`` (``[N, C, H, W]`` in [-1, 1], the model's size) onto ``model``.

    ``restarts`` random starts for ``"optimise"``; ``"hybrid"`` starts from the encoder's guess
    and adds ``restarts - 1`` random starts; each image keeps its lowest-loss result.
    """
    if method not in METHODS:
        raise GanzooError(f"unknown projection method {method!r}; accepted: {', '.join(METHODS)}")
    channels, resolution, z_dim = _shape(model)
    if images.ndim != 4 or tuple(images.shape[1:]) != (channels, resolution, resolution):
        raise GanzooError(f"images of shape {tuple(images.shape[1:])} do not fit this generator "
                          f"({channels}x{resolution}x{resolution})")
    if method in ("encoder", "hybrid") and encoder is None:
        raise GanzooError(f"method {method!r} needs an encoder: train one with "
                          "ganzoo.editing.projection.train_encoder(model)")
    images = images.to(model.device)
    n = len(images)
    starts: list[torch.Tensor] = []
    if encoder is not None and method != "optimise":
        with torch.no_grad():
            starts.append(encoder.to(model.device)(images))
    if method != "encoder":
        for r in range(max(restarts - len(starts), 0)):
            starts.append(model.sample_latent(n, seed=seed + r).flatten(1))
    best_z = starts[0]
    if method != "encoder":
        best_loss = torch.full((n,), math.inf, device=model.device)
        for start in starts:
            z, loss = optimise(model, images, start, steps=steps, optimizer=optimizer, lr=lr,
                               feature_weight=feature_weight, prior_weight=prior_weight)
            better = loss < best_loss
            best_z = torch.where(better.view(-1, 1), z, best_z)
            best_loss = torch.where(better, loss, best_loss)
    z = _latent(model, best_z)
    with torch.no_grad():
        fake = model.generate(0, z=z)
    mse = (fake - images).pow(2).flatten(1).mean(1)
    return Projection(z=z, images=fake, mse=mse, method=method)
