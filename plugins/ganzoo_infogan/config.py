"""InfoGAN's ``[model]`` and ``[train]`` tables."""

from __future__ import annotations

from typing import Literal

import attrs
from attrs import validators as v

import ganzoo


@attrs.frozen(kw_only=True)
class InfoGANConfig:
    """Sizes of the networks of the paper's MNIST experiment (Chen et al. 2016, table 1).

    The generator input is ``z`` (``z_dim``), a one-hot categorical code of ``categories`` values
    and ``continuous`` real codes. ``gen_width``/``disc_width`` are the channels of the
    convolution next to the image (64 in the paper; the other one has twice as many); ``hidden``
    is the fully connected layer (1024) and ``q_hidden`` the Q head's (128). ``q_std``:
    ``"fixed"`` treats Q's continuous output as the mean of a unit Gaussian (the paper's code
    fixes the standard deviation; the loss is then half the squared error), ``"learned"`` also
    predicts a log standard deviation per code. ``z_prior``: the noise's prior, ``"normal"``
    (N(0, I), what most ports use) or ``"uniform"`` (U(-1, 1), the authors' ``Uniform(62)`` in
    openai/InfoGAN ``launchers/run_mnist_exp.py``); the continuous codes are U(-1, 1) either way.

    ``disc_spectral_norm`` puts spectral normalisation (Miyato et al. 2018) on the three weight
    layers of D's trunk (the heads keep plain weights); ``disc_batch_norm = false`` drops the
    trunk's two batch norms. Both default to the paper's D: no spectral norm, batch norm.
    """

    resolution: Literal[16, 28, 32, 64] = attrs.field(default=32, validator=v.in_((16, 28, 32, 64)))
    channels: Literal[1, 3] = attrs.field(default=1, validator=v.in_((1, 3)))
    z_dim: int = attrs.field(default=62, validator=[v.ge(1), v.le(4096)])
    categories: int = attrs.field(default=10, validator=[v.ge(2), v.le(1000)])
    continuous: int = attrs.field(default=2, validator=[v.ge(0), v.le(64)])
    gen_width: int = attrs.field(default=64, validator=[v.ge(1), v.le(1024)])
    disc_width: int = attrs.field(default=64, validator=[v.ge(1), v.le(1024)])
    hidden: int = attrs.field(default=1024, validator=[v.ge(1), v.le(8192)])
    q_hidden: int = attrs.field(default=128, validator=[v.ge(1), v.le(8192)])
    q_std: Literal["fixed", "learned"] = attrs.field(default="fixed",
                                                     validator=v.in_(("fixed", "learned")))
    z_prior: Literal["normal", "uniform"] = attrs.field(default="normal",
                                                        validator=v.in_(("normal", "uniform")))
    disc_spectral_norm: bool = attrs.field(default=False, validator=v.instance_of(bool))
    disc_batch_norm: bool = attrs.field(default=True, validator=v.instance_of(bool))


@attrs.frozen(kw_only=True)
class InfoGANTrainConfig(ganzoo.AdversarialTrainConfig):
    """``lambda_categorical``/``lambda_continuous`` weight the codes' negative log-likelihoods
    under Q (the paper's lambda: 1 for discrete codes, smaller for continuous ones: 0.1 here, as
    on MNIST).

    ``r1_gamma`` adds the R1 penalty of Mescheder et al. 2018 to D's loss,
    ``r1_gamma / 2 * E_real ||grad_x D(x)||^2`` on the real batch (0, the default: none); unlike
    ``gp_weight`` (WGAN-GP, on interpolates) it penalises D's slope at the data only."""

    lambda_categorical: float = attrs.field(default=1.0, validator=[ganzoo.finite, v.ge(0.0)])
    lambda_continuous: float = attrs.field(default=0.1, validator=[ganzoo.finite, v.ge(0.0)])
    r1_gamma: float = attrs.field(default=0.0, validator=[ganzoo.finite, v.ge(0.0),
                                                          v.le(1e6)])
