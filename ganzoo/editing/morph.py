"""The transition from the start image to an edit (iGAN's "transition between the original and
edited projection"): ``frames`` latents from ``z0`` to ``z1``, linear or spherical, and their
images. Any frame's latent can become the next edit's start (:meth:`Morph.start_at`)."""

from __future__ import annotations

import attrs
import torch

from ganzoo.editing.constraints import EditError
from ganzoo.editing.latent import interpolate

FRAMES = 16


@attrs.frozen(kw_only=True)
class Morph:
    """``frames`` latents ``z`` (``z[0] = z0``, ``z[-1] = z1``) and their images."""

    z: torch.Tensor
    images: torch.Tensor
    method: str

    def __len__(self) -> int:
        return len(self.z)

    def start_at(self, frame: int) -> torch.Tensor:
        """The latent of ``frame`` (negative counts from the end), to start the next edit from."""
        if not -len(self) <= frame < len(self):
            raise EditError(f"frame {frame}: the morph has frames 0 to {len(self) - 1}")
        return self.z[frame]


def morph(model, z0: torch.Tensor, z1: torch.Tensor, *, frames: int = FRAMES,
          method: str = "linear") -> Morph:
    """The morph from ``z0`` to ``z1`` (one latent each, the model's latent shape)."""
    shape = model.sample_latent(1, seed=0).shape[1:]
    z = interpolate(z0.reshape(shape), z1.reshape(shape), frames, method)
    with torch.no_grad():
        images = model.generate(0, z=z.to(model.device))
    return Morph(z=z, images=images, method=method)
