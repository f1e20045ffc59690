"""The ``[data]`` tables of the Hub datasets (``hub-paired``, ``hub-unpaired``, ``hub-images``,
``hub-labelled``): parquet dataset repos on the Hugging Face Hub, as the huggan organisation
publishes pix2pix's and CycleGAN's datasets.

Only attrs, typing and re are imported here (the CLI imports this module at start-up).
"""

from __future__ import annotations

import re
from typing import Literal

import attrs
from attrs import validators as v

from ganzoo.data.configs import PairedTransforms, _resolution

#: What ``repo`` must look like: ``org/name``, as the Hub spells repo ids.
REPO_ID = re.compile(r"^[\w.-]+/[\w.-]+$")
#: ``test_split`` value that carves the test split out of the training split.
HELD_OUT = "held-out"
DEFAULT_HELD_OUT = 0.1


def _repo_id(_instance, _attribute, value: str) -> None:
    if not isinstance(value, str) or not REPO_ID.match(value):
        raise ValueError(f"repo = {value!r} is not a Hub dataset id; expected 'org/name', "
                         "e.g. 'huggan/facades'")


def _split_name(_instance, attribute, value: str) -> None:
    if not isinstance(value, str) or not re.fullmatch(r"[\w.-]+", value):
        raise ValueError(f"{attribute.name} = {value!r} is not a split name (letters, digits, "
                         "'_', '-', '.'), e.g. 'train'")


def _data_dir(_instance, _attribute, value: str) -> None:
    parts = value.split("/") if isinstance(value, str) else [""]
    if any(not re.fullmatch(r"[\w.-]+", p) or p in (".", "..") for p in parts):
        raise ValueError(f"data_dir = {value!r} is not a folder of the repo, e.g. 'data' or "
                         "'default/train'")


def _column(_instance, attribute, value: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{attribute.name} must name a column of the dataset, got {value!r}")


@attrs.frozen(kw_only=True)
class HubSource:
    """Where the rows come from, shared by every Hub dataset.

    - ``repo``: the dataset repo, ``"org/name"`` (e.g. ``"huggan/facades"``); ``revision``: a
      branch, tag or commit to pin (default ``main``).
    - ``train_split`` / ``test_split``: the repo's split names (its parquet files are
      ``data/<split>-00000-of-00001.parquet``, or ``<split>/*.parquet``). Many huggan repos hold a
      single ``train`` split: ``test_split = "held-out"`` then holds out a fixed ``held_out``
      fraction (default 0.1) of the training rows as the test split, chosen by
      ``held_out_seed``, and training uses the rest. A repo with several subsets holds a
      split in several folders: ``data_dir`` picks one (only files under it are read).
    - ``max_download_mb``: the largest split ganzoo downloads, checked against the Hub's file
      sizes before anything is fetched, and the most a parquet file may decompress to (from its
      metadata, before it is read); raise it to read a larger one.
    """

    repo: str = attrs.field(validator=_repo_id)
    revision: str | None = attrs.field(
        default=None, validator=v.optional([v.instance_of(str), v.min_len(1)]))
    data_dir: str | None = attrs.field(default=None, validator=v.optional(_data_dir))
    train_split: str = attrs.field(default="train", validator=_split_name)
    test_split: str = attrs.field(default="test", validator=_split_name)
    held_out: float | None = attrs.field(
        default=None, validator=v.optional([v.instance_of(float), v.gt(0.0), v.le(0.5)]))
    held_out_seed: int = attrs.field(default=0, validator=[v.instance_of(int), v.ge(0),
                                                           v.lt(2**63)])
    max_download_mb: int = attrs.field(default=1024, validator=[v.instance_of(int), v.ge(1),
                                                                v.le(10**8)])  # 100 TB

    @held_out.validator
    def _held_out_needs_split(self, _attribute, value: float | None) -> None:
        if value is not None and self.test_split != HELD_OUT:
            raise ValueError(f"held_out = {value} only applies with test_split = "
                             f"\"{HELD_OUT}\" (test_split is {self.test_split!r})")

    @property
    def held_out_fraction(self) -> float:
        return DEFAULT_HELD_OUT if self.held_out is None else self.held_out


@attrs.frozen(kw_only=True)
class HubPairedConfig(HubSource, PairedTransforms):
    """Paired images (pix2pix) from a Hub dataset repo: each row holds an A and a B image, in
    ``column_a`` and ``column_b`` (huggan's ``imageA`` / ``imageB``).

    ``direction``, ``preprocess``, ``load_size``, ``crop_size``, ``flip``, ``input_nc`` and
    ``output_nc`` are those of ``paired-folder`` (:class:`~ganzoo.data.configs.PairedTransforms`).
    See :class:`HubSource` for the rest.
    """

    column_a: str = attrs.field(default="imageA", validator=_column)
    column_b: str = attrs.field(default="imageB", validator=_column)


@attrs.frozen(kw_only=True)
class HubUnpairedConfig(HubPairedConfig):
    """Two unpaired domains (CycleGAN) from a Hub dataset repo: domain A's images in
    ``column_a``, domain B's in ``column_b`` (huggan's ``imageA`` / ``imageB``); an empty cell
    (the shorter domain's padding) is left out of its domain.

    As ``unpaired-folder``: A in order, B at random (``serial = true``: in order), the epoch the
    larger domain. The other keys are those of ``hub-paired``.
    """

    serial: bool = attrs.field(default=False, validator=v.instance_of(bool))


@attrs.frozen(kw_only=True)
class HubImagesConfig(HubSource):
    """Unconditional images from a Hub dataset repo's ``column_image`` (default ``image``),
    resized to ``resolution`` as ``image-folder`` does (``center_crop``, ``channels``, ``flip``)."""

    column_image: str = attrs.field(default="image", validator=_column)
    resolution: int = attrs.field(default=64, validator=_resolution)
    channels: Literal[1, 3] = attrs.field(default=3, validator=v.in_((1, 3)))
    center_crop: bool = True
    flip: bool = False


@attrs.frozen(kw_only=True)
class HubLabelledConfig(HubImagesConfig):
    """Labelled images (class-conditional models): ``hub-images`` plus an integer class in
    ``column_label`` (default ``label``, the ``datasets`` ClassLabel); the class count is the
    ClassLabel's, or the largest label + 1."""

    column_label: str = attrs.field(default="label", validator=_column)
