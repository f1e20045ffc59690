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


#: The values of ``[train] augment``: DiffAugment's policies that make sense for digits (no
#: colour, no flips).
AUGMENT_POLICIES = ("none", "translation", "cutout", "translation,cutout")


@attrs.frozen(kw_only=True)
class InfoGANTrainConfig(ganzoo.AdversarialTrainConfig):
    """``lambda_categorical``/``lambda_continuous`` weight the codes' negative log-likelihoods
    under Q (the paper's lambda: 1 for discrete codes, smaller for continuous ones: 0.1 here, as
    on MNIST).

    ``augment``, ``augment_ratio``, ``q_sees``, ``instance_noise`` and ``real_label`` change
    what the discriminator sees, against D overfitting a small dataset (docs/infogan.md).
    ``r1_gamma`` adds the R1 penalty of Mescheder et al. 2018 to D's loss,
    ``r1_gamma / 2 * E_real ||grad_x D(x)||^2`` on the real batch (0, the default: none); unlike
    ``gp_weight`` (WGAN-GP, on interpolates) it penalises D's slope at the data only."""

    lambda_categorical: float = attrs.field(default=1.0, validator=[ganzoo.finite, v.ge(0.0)])
    lambda_continuous: float = attrs.field(default=0.1, validator=[ganzoo.finite, v.ge(0.0)])
    r1_gamma: float = attrs.field(default=0.0, validator=[ganzoo.finite, v.ge(0.0),
                                                          v.le(1e6)])
    #: Weight of Q's clustering of the real batch (loss ``info-real-clustering``, in D's update:
    #: Q sure of each real image, every code used equally often); 0, the default: none.
    lambda_real_clustering: float = attrs.field(default=0.0, validator=[ganzoo.finite,
                                                                        v.ge(0.0), v.le(1e3)])

    # What D sees (``ganzoo_infogan/augment.py``); all off by default, and then a run is
    # bit-identical to one without these keys.
    #: DiffAugment policy applied to real and fake images before D, in both updates.
    augment: Literal["none", "translation", "cutout", "translation,cutout"] = attrs.field(
        default="none", validator=v.in_(AUGMENT_POLICIES))
    #: Largest translation, as a fraction of the image side (1/8: 4 pixels of 32).
    augment_ratio: float = attrs.field(default=0.125, validator=[ganzoo.finite, v.gt(0.0),
                                                                 v.le(0.5)])
    #: Whether Q reads the codes from the ``"augmented"`` (and noised) fakes D scores, or from
    #: the ``"clean"`` fakes (one more pass of the trunk per update).
    q_sees: Literal["augmented", "clean"] = attrs.field(default="augmented",
                                                       validator=v.in_(("augmented", "clean")))
    #: Standard deviation of Gaussian noise added to D's inputs at step 0, annealed linearly to
    #: 0 at the last step (images are in [-1, 1]).
    instance_noise: float = attrs.field(default=0.0, validator=[ganzoo.finite, v.ge(0.0),
                                                                v.le(2.0)])
    #: D's target for real images (one-sided label smoothing: 0.9 in Salimans et al. 2016);
    #: only with ``loss = "non-saturating"`` or ``"bce"``, whose D loss is a cross-entropy.
    real_label: float = attrs.field(default=1.0, validator=[ganzoo.finite, v.gt(0.5),
                                                            v.le(1.0)])

    def __attrs_post_init__(self) -> None:
        self.check_schedule()
        if self.gp_weight:
            raise ValueError(f"gp_weight = {self.gp_weight!r}: the infogan trainer has no "
                             "WGAN-GP term; use r1_gamma for a gradient penalty, or remove "
                             "gp_weight")
        if self.real_label != 1.0 and self.loss not in ("non-saturating", "bce"):
            raise ValueError(f"real_label = {self.real_label!r} smooths a cross-entropy D loss, "
                             f"but loss = {self.loss!r}; use loss = \"non-saturating\" or "
                             f"\"bce\", or remove real_label")
        fields = attrs.fields_dict(type(self))
        if self.augment == "none":
            for key in ("augment_ratio",):
                if getattr(self, key) != fields[key].default:
                    raise ValueError(f"{key} = {getattr(self, key)!r} is read only with an "
                                     f"augment policy, but augment = \"none\"; set augment = "
                                     f"\"translation\" or remove {key}")
        if (self.q_sees != fields["q_sees"].default and self.augment == "none"
                and self.instance_noise == 0.0):
            raise ValueError(f"q_sees = {self.q_sees!r} chooses what Q reads when D's inputs "
                             f"are augmented or noised, but augment = \"none\" and "
                             f"instance_noise = 0; set one of them or remove q_sees")
