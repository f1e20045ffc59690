"""Attribute vectors (Larsen et al. 2016; Radford et al. 2015): the mean latent of images that
have an attribute minus the mean latent of images that do not. Adding the vector to a latent adds
the attribute; subtracting it removes it.

Latents of real images come from an encoder (a trained :class:`~ganzoo.editing.projection.Encoder`
or any ``images -> [N, z_dim]`` callable, e.g. a projection); latents of generated images are
already known.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ganzoo.base.errors import GanzooError


def encode(encoder: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor,
           batch_size: int = 256) -> torch.Tensor:
    """``[N, z_dim]`` latents of ``images`` by ``encoder``, without gradients."""
    with torch.no_grad():
        return torch.cat([encoder(chunk).flatten(1) for chunk in images.split(batch_size)])


def attribute_vector(with_latents: torch.Tensor, without_latents: torch.Tensor) -> torch.Tensor:
    """``mean(with) - mean(without)`` of two ``[k, ...]`` stacks of latents."""
    if len(with_latents) == 0 or len(without_latents) == 0:
        raise GanzooError("an attribute vector needs at least one latent with and one without "
                          "the attribute")
    return with_latents.flatten(1).mean(0) - without_latents.flatten(1).mean(0)


def attribute_vector_from_images(encoder, with_images: torch.Tensor,
                                 without_images: torch.Tensor) -> torch.Tensor:
    """:func:`attribute_vector` of the encoder's latents of the two image sets."""
    return attribute_vector(encode(encoder, with_images), encode(encoder, without_images))


def apply_attribute(z: torch.Tensor, vector: torch.Tensor, strength: float = 1.0) -> torch.Tensor:
    """``z + strength · vector`` in ``z``'s shape (negative strength removes the attribute)."""
    return z + strength * vector.view(1, *z.shape[1:]).to(z)
