"""The mutual-information term of InfoGAN as pure functions of Q's outputs.

InfoGAN maximises a variational lower bound of I(c; G(z, c)):
``L_I = E[log Q(c | G(z, c))] + H(c) <= I(c; G(z, c))``; minimising these negative
log-likelihoods maximises it. Both take Q's raw outputs: the categorical one applies the softmax
itself, once (a Softmax layer in front of it is the double-softmax bug of popular ports).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def categorical_nll(code_logits: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """``-mean log softmax(code_logits)[code]``: cross-entropy on logits ``[n, K]`` of codes
    ``[n]``. ``log K`` minus it is the lower bound of the mutual information (nats) for a
    uniform code."""
    return F.cross_entropy(code_logits.float(), codes)


def gaussian_nll(mean: torch.Tensor, codes: torch.Tensor,
                 log_std: torch.Tensor | None = None) -> torch.Tensor:
    """``-log N(codes; mean, exp(log_std)^2)`` summed over the codes ``[n, C]``, averaged over the
    batch; ``log_std=None`` fixes the standard deviation at 1 (half the squared error plus a
    constant)."""
    mean, codes = mean.float(), codes.float()
    if log_std is None:
        log_std = torch.zeros_like(mean)
    log_std = log_std.float()
    z = (codes - mean) * torch.exp(-log_std)
    nll = 0.5 * z.square() + log_std + 0.5 * math.log(2 * math.pi)
    return nll.sum(dim=1).mean()


def real_clustering_loss(code_logits: torch.Tensor) -> torch.Tensor:
    """``mean_x H(p(code | x)) - H(mean_x p(code | x))`` for Q's code logits ``[n, K]`` of a batch
    of *real* images: minus the batch estimate of the mutual information between an image and
    the code Q assigns it (Krause et al. 2010, "Discriminative clustering by regularized
    information maximization"). It is ``-log K`` when Q is sure of every image and uses every
    code equally often, 0 when it tells the images apart not at all. Not in InfoGAN: Q sees only
    fakes there, so nothing stops two codes from drawing one kind of real image."""
    log_p = F.log_softmax(code_logits.float(), dim=1)
    p = log_p.exp()
    conditional = -(p * log_p).sum(dim=1).mean()
    marginal = p.mean(dim=0)
    return conditional + (marginal * torch.log(marginal.clamp_min(1e-12))).sum()
