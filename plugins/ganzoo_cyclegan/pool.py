"""The history of generated images the discriminators learn from (Shrivastava et al. 2017), as
CycleGAN's reference ``ImagePool`` keeps it.

The stored images live in the trainer's ``ctx.state`` (``"<name>.<slot>"``, one ``[1, C, H, W]``
tensor a slot), so they are saved in every checkpoint and a resumed run sees the same pool; the
coin flips and slot choices come from torch's global CPU generator, which checkpoints restore too.
"""

from __future__ import annotations

import torch


def stored(state: dict[str, torch.Tensor], name: str) -> int:
    """How many images the pool ``name`` holds."""
    count = 0
    while f"{name}.{count}" in state:
        count += 1
    return count


def query(state: dict[str, torch.Tensor], name: str, images: torch.Tensor, size: int
          ) -> torch.Tensor:
    """The images the discriminator sees in place of ``images`` (a batch, detached).

    Until ``size`` images are stored each new image is stored and returned. Then each is, with
    probability 1/2, returned as it is, or else stored in a random slot whose previous image is
    returned instead. A stored image of another size than the batch's (``preprocess = "none"``
    on images of mixed sizes) is not swapped in: the new image is returned. ``size = 0`` returns
    ``images`` unchanged.
    """
    images = images.detach()
    if size == 0:
        return images
    count = stored(state, name)
    out = []
    for image in images.split(1):
        if count < size:
            state[f"{name}.{count}"] = image.clone()
            count += 1
            out.append(image)
        elif torch.rand(()).item() < 0.5:
            key = f"{name}.{int(torch.randint(0, size, ()))}"
            previous = state[key]
            if previous.shape == image.shape:
                state[key] = image.clone()
                out.append(previous.to(image.device, image.dtype))
            else:
                out.append(image)
        else:
            out.append(image)
    return torch.cat(out)
