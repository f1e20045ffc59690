"""The MLP GAN's ``[model]`` table."""

from __future__ import annotations

from typing import Literal

import attrs
from attrs import validators as v


@attrs.frozen(kw_only=True)
class MLPGANConfig:
    """Sizes of the paper's MNIST networks (Goodfellow et al. 2014; the authors' pylearn2 code).

    Generator: ``z_dim`` → ``gen_hidden`` ReLU → ``gen_hidden`` ReLU → pixels (tanh: images are
    in [-1, 1]). Discriminator: two maxout layers of ``disc_hidden`` units of ``pieces`` pieces
    each, then one logit; dropout (``input_dropout`` on the pixels, ``dropout`` after each maxout
    layer) as the paper trains it.
    """

    resolution: Literal[8, 16, 28, 32, 64] = attrs.field(default=32,
                                                         validator=v.in_((8, 16, 28, 32, 64)))
    channels: Literal[1, 3] = attrs.field(default=1, validator=v.in_((1, 3)))
    z_dim: int = attrs.field(default=100, validator=[v.ge(1), v.le(4096)])
    gen_hidden: int = attrs.field(default=1200, validator=[v.ge(1), v.le(16384)])
    disc_hidden: int = attrs.field(default=240, validator=[v.ge(1), v.le(16384)])
    pieces: int = attrs.field(default=5, validator=[v.ge(1), v.le(64)])
    input_dropout: float = attrs.field(default=0.2, validator=[v.ge(0.0), v.lt(1.0)])
    dropout: float = attrs.field(default=0.5, validator=[v.ge(0.0), v.lt(1.0)])
