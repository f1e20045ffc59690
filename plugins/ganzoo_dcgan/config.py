"""DCGAN's ``[model]`` table."""

from __future__ import annotations

from typing import Literal

import attrs
from attrs import validators as v


@attrs.frozen(kw_only=True)
class DCGANConfig:
    """Sizes of the DCGAN networks.

    ``gen_width``/``disc_width`` are the paper's ngf/ndf: the channels of the widest generator layer
    are ``gen_width * resolution / 8``.
    """

    resolution: Literal[16, 32, 64, 128] = 64
    channels: Literal[1, 3] = 3
    z_dim: int = attrs.field(default=100, validator=[v.ge(1), v.le(4096)])
    gen_width: int = attrs.field(default=64, validator=[v.ge(1), v.le(1024)])
    disc_width: int = attrs.field(default=64, validator=[v.ge(1), v.le(1024)])
