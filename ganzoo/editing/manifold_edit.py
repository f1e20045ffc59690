"""Editing on the generator's manifold (Zhu et al. 2016, iGAN, section 4): find latents ``z``
near the start ``z0`` whose images satisfy the user's constraints.

The objective per latent, as the authors' code has it (weights are options, these the defaults)::

    cost(z) = colour_weight · masked mean (G(z) - colour)²
            + edge_weight   · masked mean (E(G(z)) - E(sketch))²     (E: the HOG-style response)
            + prior_weight  · mean (z - z0)²
            + realism_weight · softplus(-D(G(z)))                     (off by default)

with ``colour_weight = 1``, ``edge_weight = 0.2``, ``prior_weight = 5``, ``realism_weight = 0``.
Masked means divide by the mask's weight and ``(z - z0)²`` is averaged over z's dimensions, so the
weights do not depend on the stroke's size or on ``z_dim``.

The prior: the authors' generators draw z uniformly from a box and optimise through ``tanh`` to stay
in it; ``prior_box=b`` does the same (``z = b · tanh(u)``). ganzoo's generators draw z ~ N(0, I),
which has no box, so by default z is optimised freely and only the ``prior_weight`` term keeps it
near its start (and so near the typical set the start came from).

The search: ``starts`` latents (64: ``z0`` itself plus ``z0 + spread · N(0, I)``), each optimised
by Adam (lr 0.1, 40 iterations) on its own cost; the results whose cost is within ``within`` (2x)
of the mean cost of the best ``best`` (8) are kept, at most ``keep`` (16), cheapest first.
"""

from __future__ import annotations

import time

import attrs
import torch
import torch.nn.functional as F

from ganzoo.editing.constraints import CELL, ORIENTATIONS, Constraints, EditError, cell_mask, edge_response, \
    sketch_target


@attrs.frozen(kw_only=True)
class EditSettings:
    """The weights and counts of :func:`edit` (defaults: the authors')."""

    color_weight: float = 1.0
    edge_weight: float = 0.2
    prior_weight: float = 5.0
    realism_weight: float = 0.0
    starts: int = attrs.field(default=64, validator=attrs.validators.ge(1))
    iterations: int = attrs.field(default=40, validator=attrs.validators.ge(0))
    lr: float = 0.1
    spread: float = 0.3
    keep: int = attrs.field(default=16, validator=attrs.validators.ge(1))
    best: int = attrs.field(default=8, validator=attrs.validators.ge(1))
    within: float = 2.0
    prior_box: float | None = None
    orientations: int = ORIENTATIONS
    cell: int = CELL


@attrs.frozen(kw_only=True)
class Candidates:
    """The ranked results of an edit: latents (the model's shape), images, and per result its
    cost, constraint error (colour and edge terms, weighted), and realism score (the
    discriminator's logit, higher is more real; NaN without a discriminator)."""

    z: torch.Tensor
    images: torch.Tensor
    cost: torch.Tensor
    color_error: torch.Tensor
    edge_error: torch.Tensor
    realism: torch.Tensor
    z0: torch.Tensor
    seconds: float

    @property
    def constraint_error(self) -> torch.Tensor:
        return self.color_error + self.edge_error

    def __len__(self) -> int:
        return len(self.z)


def check_generator(model, name: str | None = None):
    """``model`` if it is a :class:`ganzoo.LatentGenerator`, else one clear error."""
    from ganzoo.nn.kinds import LatentGenerator, kind_of

    if not isinstance(model, LatentGenerator):
        label = name or getattr(model, "architecture", type(model).__name__)
        raise EditError(f"{label} is a {kind_of(model) if hasattr(model, 'config') else 'object'}"
                        f", not a latent generator: iGAN editing moves a generator's z "
                        "(e.g. dcgan-photos, dcgan-digits)")
    return model


def find_critic(model):
    """The model's discriminator as ``images -> logits`` when its weights were loaded
    (``ganzoo.load(..., components="all")`` of a bundle that ships it), else None."""
    index = getattr(model, "bundle_index", None)
    disc = getattr(model, "disc", None)
    if index is None or disc is None or "disc" not in index.training_components:
        return None
    return disc.eval()


class _Terms:
    """The constraint terms at the generator's size, ready for a batch of images."""

    def __init__(self, constraints: Constraints, *, channels: int, resolution: int,
                 settings: EditSettings, device):
        c = constraints.resized(resolution).with_channels(channels)
        self.settings = settings
        self.color = self.color_mask = self.edges = self.edge_mask = None
        if c.color is not None and bool((c.color_mask > 0).any()):
            self.color = c.color[None].to(device)
            self.color_mask = c.color_mask[None].to(device)
        if c.sketch is not None and bool((c.sketch > 0).any()):
            sketch = c.sketch[None].to(device)
            self.edges = edge_response(sketch_target(sketch), orientations=settings.orientations,
                                       cell=settings.cell)
            self.edge_mask = cell_mask(sketch, cell=settings.cell)

    def color_error(self, images: torch.Tensor) -> torch.Tensor:
        if self.color is None:
            return images.new_zeros(len(images))
        squared = (images - self.color).square() * self.color_mask
        return squared.flatten(1).sum(1) / (self.color_mask.sum() * images.shape[1])

    def edge_error(self, images: torch.Tensor) -> torch.Tensor:
        if self.edges is None:
            return images.new_zeros(len(images))
        s = self.settings
        response = edge_response(images, orientations=s.orientations, cell=s.cell)
        squared = (response - self.edges).square() * self.edge_mask
        return squared.flatten(1).sum(1) / (self.edge_mask.sum() * response.shape[1])


def edit(model, z0: torch.Tensor, constraints: Constraints, *, settings: EditSettings | None = None,
         critic=None, seed: int = 0) -> Candidates:
    """Candidates for ``constraints`` near ``z0`` (one latent, any shape the model takes, or
    ``[1, ...]``); see the module docstring. ``critic`` (``images -> logits``, e.g.
    :func:`find_critic`) scores realism and, with ``realism_weight``, joins the cost."""
    check_generator(model)
    s = settings or EditSettings()
    if s.realism_weight and critic is None:
        raise EditError("realism_weight > 0 needs the discriminator; load the model with "
                        "components='all' from a bundle that ships it")
    started = time.perf_counter()
    cfg = model.config
    device = model.device
    terms = _Terms(constraints, channels=cfg.channels, resolution=cfg.resolution, settings=s,
                   device=device)
    shape = model.sample_latent(1, seed=0).shape[1:]
    z0 = z0.detach().to(device).reshape(1, -1).float()
    noise = torch.randn(s.starts, z0.shape[1], generator=torch.Generator().manual_seed(seed))
    noise[0] = 0  # the start itself is one of the starts
    z_start = z0 + s.spread * noise.to(device)
    box = s.prior_box
    if box is not None:
        z_start = z_start.clamp(-box * 0.999, box * 0.999)
        param = torch.atanh(z_start / box)
    else:
        param = z_start.clone()
    param.requires_grad_(True)

    def latents(p: torch.Tensor) -> torch.Tensor:
        return box * torch.tanh(p) if box is not None else p

    def costs(p: torch.Tensor):
        z = latents(p)
        images = model.generate(0, z=z.view(-1, *shape))
        color = s.color_weight * terms.color_error(images)
        edges = s.edge_weight * terms.edge_error(images)
        cost = color + edges + s.prior_weight * (z - z0).square().mean(1)
        if s.realism_weight:
            cost = cost + s.realism_weight * F.softplus(-critic(images).flatten())
        return cost, color, edges, images

    flags = [p.requires_grad for p in model.parameters()]
    model.requires_grad_(False)
    try:
        with torch.enable_grad():
            opt = torch.optim.Adam([param], lr=s.lr)
            for _ in range(s.iterations):
                cost = costs(param)[0]
                opt.zero_grad(set_to_none=True)
                cost.sum().backward()  # each start's cost depends on its own z only
                opt.step()
        with torch.no_grad():
            cost, color, edges, images = costs(param)
            realism = (critic(images).flatten().float() if critic is not None
                       else torch.full_like(cost, float("nan")))
    finally:
        for p, flag in zip(model.parameters(), flags):
            p.requires_grad_(flag)
    order = rank(cost, keep=s.keep, best=s.best, within=s.within)
    z = latents(param.detach())[order]
    return Candidates(z=z.view(-1, *shape), images=images[order], cost=cost[order],
                      color_error=color[order], edge_error=edges[order], realism=realism[order],
                      z0=z0.view(shape), seconds=time.perf_counter() - started)


def rank(cost: torch.Tensor, *, keep: int = 16, best: int = 8, within: float = 2.0
         ) -> torch.Tensor:
    """Indices of at most ``keep`` costs, cheapest first, each within ``within`` times the mean of
    the ``best`` cheapest (NaN costs are never kept)."""
    finite = torch.nan_to_num(cost, nan=float("inf"))
    order = finite.argsort()
    bound = within * finite[order[:best]].mean()
    chosen = order[finite[order] <= bound][:keep]
    if len(chosen) == 0:  # every cost is inf/NaN, or the bound is: keep the single cheapest
        chosen = order[:1]
    return chosen


def errors(model, images: torch.Tensor, constraints: Constraints,
           settings: EditSettings | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The weighted ``(colour, edge)`` errors ``[N]`` of ``images`` (e.g. the projection's) under
    ``constraints``, as :func:`edit` reports them for its candidates."""
    s = settings or EditSettings()
    cfg = model.config
    terms = _Terms(constraints, channels=cfg.channels, resolution=cfg.resolution, settings=s,
                   device=images.device)
    with torch.no_grad():
        return s.color_weight * terms.color_error(images), s.edge_weight * terms.edge_error(images)
