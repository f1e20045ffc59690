"""Pre-training the ``"captions"`` text encoder as a joint image–text embedding, then freezing it.

StackGAN's text encoder is not trained with the GAN: the paper uses the char-CNN-RNN embedding of
Reed et al. (2016), pre-trained to match images and their captions, and frozen. ganzoo's
bag-of-words encoder (``text_encoder = "captions"``) is trained the same way at the start of
Stage I: for ``[train] text_pretrain_steps`` steps a small image encoder (:class:`ImageEncoder`,
``model.disc.matcher``: training only, kept with the discriminator) and the text encoder learn
a shared space with a symmetric contrastive (InfoNCE) loss on the training pairs, where every
item with the same caption counts as a positive (:func:`matching_loss`). Then the text encoder
is frozen and the GAN trains on its embeddings.

The embedding the generator and discriminators read is the encoder's output, L2-normalised
and scaled by √D (:func:`unit_scale`): unit variance per component, whatever the encoder learnt.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

#: Temperature of the contrastive loss (cosine similarities / TEMPERATURE).
TEMPERATURE = 0.1


def unit_scale(embedding: torch.Tensor) -> torch.Tensor:
    """``embedding`` L2-normalised per row, times √D (so each component has about unit scale)."""
    return F.normalize(embedding.float(), dim=1) * math.sqrt(embedding.shape[1])


class ImageEncoder(nn.Module):
    """Images → ``embedding_dim``: stride-2 4×4 convs down to 4×4, then one linear layer."""

    def __init__(self, channels: int, resolution: int, embedding_dim: int, width: int = 32):
        super().__init__()
        layers: list[nn.Module] = []
        size, in_width = resolution, channels
        while size > 4:
            layers += [nn.Conv2d(in_width, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]
            in_width, size = width, size // 2
            width = min(width * 2, 256)
        self.features = nn.Sequential(*layers)
        self.project = nn.Linear(in_width * size * size, embedding_dim)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.project(self.features(images).flatten(1))


def same_text(batch: dict, embedding: torch.Tensor) -> torch.Tensor:
    """``[N, N]`` bools: items i and j have the same caption (or precomputed embedding)."""
    if "caption" in batch:
        captions = list(batch["caption"])
        ids = {c: k for k, c in enumerate(dict.fromkeys(captions))}
        key = torch.tensor([ids[c] for c in captions], device=embedding.device)
        return key[:, None] == key[None, :]
    return (embedding[:, None, :] == embedding[None, :, :]).all(dim=2)


def matching_loss(text: torch.Tensor, image: torch.Tensor, same: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric InfoNCE between text and image embeddings; ``same[i, j]``: j is a positive of i.

    Returns ``(loss, top-1 accuracy)``: how often an image's most similar text in the batch is
    one of its own caption's.
    """
    text, image = F.normalize(text.float(), dim=1), F.normalize(image.float(), dim=1)
    logits = text @ image.t() / TEMPERATURE
    target = same.float() / same.float().sum(dim=1, keepdim=True)
    loss = 0.5 * (torch.sum(-target * F.log_softmax(logits, dim=1), dim=1).mean()
                  + torch.sum(-target * F.log_softmax(logits.t(), dim=1), dim=1).mean())
    with torch.no_grad():
        best = logits.t().argmax(dim=1)
        top1 = same[torch.arange(len(best), device=best.device), best].float().mean()
    return loss, top1


def wrong_index(same: torch.Tensor) -> torch.Tensor:
    """For each item, the nearest following item (cyclically) whose text differs: its wrong text.

    Items whose text every other item shares get the next item's.
    """
    n = same.shape[0]
    shifts = torch.arange(1, max(n, 2), device=same.device)
    candidates = (torch.arange(n, device=same.device)[:, None] + shifts[None, :]) % n
    differs = ~same.gather(1, candidates)
    first = torch.where(differs.any(dim=1), differs.float().argmax(dim=1),
                        torch.zeros(n, dtype=torch.long, device=same.device))
    return candidates[torch.arange(n, device=same.device), first]
