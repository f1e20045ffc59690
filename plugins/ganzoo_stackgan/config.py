"""StackGAN's ``[model]``, ``[train]`` and ``[data]`` tables (attrs only: cheap to import)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import attrs
from attrs import validators as v

import ganzoo

TEXT_ENCODERS = ("embeddings", "captions", "sentence")
#: ``stage1 = "untrained"``: Stage II on a freshly initialised Stage I (benchmarks, tests).
UNTRAINED = "untrained"

#: The fields that describe the Stage-I networks (text encoder, conditioning augmentation,
#: Stage-I generator). A Stage-II run checks that its Stage-I source was trained with the same.
STAGE1_FIELDS = ("channels", "text_encoder", "embedding_dim", "max_words", "sentence_model",
                 "condition_dim", "z_dim", "stage1_resolution", "gen_width")


def _power_of_two(_inst, attribute, value: int) -> None:
    if value < 8 or value & (value - 1):
        raise ValueError(f"'{attribute.name}' must be a power of two of at least 8, got {value}")


def _words(_inst, attribute, value: tuple[str, ...]) -> None:
    for word in value:
        if not isinstance(word, str) or not word or word != word.strip().lower() or " " in word:
            raise ValueError(f"'{attribute.name}' must hold lower-case words without spaces, got "
                             f"{word!r}")
    if len(set(value)) != len(value):
        raise ValueError(f"'{attribute.name}' lists a word twice")


@attrs.frozen(kw_only=True)
class StackGANConfig:
    """Both stages of StackGAN (Zhang et al. 2017) and the text encoder in front of them.

    ``stage = 1`` is the text → low-resolution model (conditioning augmentation, Stage-I generator
    and discriminator); ``stage = 2`` adds the Stage-II generator on top of a frozen Stage-I and
    trains it with its own discriminator. A Stage-II config holds every Stage-I field too, so one
    bundle rebuilds text → Stage-I → Stage-II from its config alone. ``stage1`` names the Stage-I
    run directory, bundle or weights that Stage-II training starts from (only read when training
    begins; a trained bundle does not need it any more); ``"untrained"`` keeps the freshly
    initialised Stage I (to time or test Stage II alone).

    Text encoders (``text_encoder``): ``"embeddings"`` takes the dataset's precomputed text
    embeddings (CUB's char-CNN-RNN, ``embedding_dim = 1024``); ``"captions"`` is ganzoo's
    trainable bag-of-words encoder on raw captions, whose ``vocabulary`` (at most ``max_words``
    words) is learnt from the training captions and saved here, so inference tokenises as
    training did; ``"sentence"`` runs the sentence-transformers model at ``sentence_model`` (a
    local folder or a model name; needs ``pip install 'ganzoo[sentence]'``), frozen.

    Sizes follow the paper's names: ``condition_dim`` is N_g (the CA output), ``z_dim`` N_z,
    ``disc_condition_dim`` N_d (the embedding as the discriminators compress it). ``gen_width``
    is the authors' GF_DIM (the Stage-I generator starts at 8 × it at 4×4 and halves at each
    upsampling; Stage-II works at 4 × it), ``disc_width`` DF_DIM, ``residual_blocks`` the
    Stage-II residual blocks.
    """

    stage: Literal[1, 2] = attrs.field(default=1, validator=v.in_((1, 2)))
    stage1: str = attrs.field(default="", validator=v.instance_of(str))
    channels: Literal[1, 3] = attrs.field(default=3, validator=v.in_((1, 3)))
    text_encoder: Literal["embeddings", "captions", "sentence"] = attrs.field(
        default="embeddings", validator=v.in_(TEXT_ENCODERS))
    embedding_dim: int = attrs.field(default=1024, validator=[v.ge(1), v.le(16384)])
    vocabulary: tuple[str, ...] = attrs.field(default=(), converter=tuple, validator=_words)
    max_words: int = attrs.field(default=8000, validator=[v.ge(1), v.le(1_000_000)])
    sentence_model: str = attrs.field(default="", validator=v.instance_of(str))
    condition_dim: int = attrs.field(default=128, validator=[v.ge(1), v.le(4096)])
    z_dim: int = attrs.field(default=100, validator=[v.ge(1), v.le(4096)])
    disc_condition_dim: int = attrs.field(default=128, validator=[v.ge(1), v.le(4096)])
    stage1_resolution: int = attrs.field(default=64, validator=[_power_of_two, v.le(1024)])
    stage2_resolution: int = attrs.field(default=256, validator=[_power_of_two, v.le(4096)])
    gen_width: int = attrs.field(default=128, validator=[v.ge(1), v.le(1024)])
    disc_width: int = attrs.field(default=64, validator=[v.ge(1), v.le(1024)])
    residual_blocks: int = attrs.field(default=4, validator=[v.ge(0), v.le(32)])

    def __attrs_post_init__(self) -> None:
        if len(self.vocabulary) > self.max_words:
            raise ValueError(f"vocabulary has {len(self.vocabulary)} words, more than max_words = "
                             f"{self.max_words}")
        if self.text_encoder == "sentence" and not self.sentence_model:
            raise ValueError("text_encoder = \"sentence\" needs sentence_model = a local folder "
                             "or model name of sentence-transformers")
        if self.stage == 2:
            ratio = self.stage2_resolution / self.stage1_resolution
            if ratio < 2 or ratio > 16:
                raise ValueError(f"stage2_resolution = {self.stage2_resolution} must be 2 to 16 "
                                 f"times stage1_resolution = {self.stage1_resolution}")
            if not self.stage1:
                raise ValueError("stage = 2 needs stage1 = the Stage-I run directory, bundle or "
                                 "weights name to start from (e.g. stage1 = \"runs/stage1\"; "
                                 f"\"{UNTRAINED}\" keeps a freshly initialised Stage I, for "
                                 "benchmarks and tests only)")

    @property
    def resolution(self) -> int:
        """The output resolution of this stage (what the training data must have)."""
        return self.stage1_resolution if self.stage == 1 else self.stage2_resolution

    @property
    def stage2_upsamplings(self) -> int:
        """Stage-II encodes down to a quarter of Stage-I's size, then upsamples this often."""
        return int(math.log2(self.stage2_resolution * 4 // self.stage1_resolution))


@attrs.frozen(kw_only=True)
class StackGANTrainConfig(ganzoo.AdversarialTrainConfig):
    """StackGAN's objective: matching-aware discriminator + ``kl_weight`` × KL (λ in the paper).

    The discriminator loss is ``real/right-text + (fake + real/wrong-text) / 2``; the wrong text
    of each image is the next item's in the batch with a different caption. The learning rates
    follow ``lr_schedule = "step"`` by default: multiplied by ``lr_decay`` every
    ``lr_decay_every`` steps (0: never), set by the loop as a pure function of the step so a
    resumed run continues with exactly the same rates. ``text_pretrain_steps``:
    see :mod:`ganzoo_stackgan.matching`.
    """

    kl_weight: float = attrs.field(default=1.0, validator=[ganzoo.finite, v.ge(0.0)])
    #: Stage I with the ``"captions"`` encoder: the first ``text_pretrain_steps`` steps train the
    #: text encoder as a joint image-text embedding (contrastive, ``text_pretrain_lr``); then it
    #: is frozen and the GAN trains (0: the encoder learns through D's loss instead).
    text_pretrain_steps: int = attrs.field(default=0, validator=v.ge(0))
    text_pretrain_lr: float = attrs.field(default=1e-3, validator=[ganzoo.finite, v.gt(0.0)])
    lr_schedule: str = attrs.field(default="step", validator=ganzoo.one_of(ganzoo.LR_SCHEDULES))

    def __attrs_post_init__(self) -> None:
        self.check_schedule()
        if self.text_pretrain_steps >= self.steps:
            raise ValueError(f"text_pretrain_steps = {self.text_pretrain_steps} leaves no GAN "
                             f"steps: it must be less than steps = {self.steps}")


@attrs.frozen(kw_only=True)
class DigitCaptionsConfig:
    """The bundled digits with a caption each, from the label and measured attributes.

    E.g. ``"a thin upright three"`` or ``"a small thick slanted seven"``: stroke thickness
    (thin/thick), slant (upright/slanted) and size (small/large) are measured on every image
    (``ganzoo.editing.measure``) and split at the training split's medians.
    ``attributes`` picks which appear in captions. The images are upsampled to ``resolution``.
    """

    resolution: Literal[8, 16, 32, 64, 128] = attrs.field(default=32,
                                                           validator=v.in_((8, 16, 32, 64, 128)))
    attributes: tuple[Literal["thickness", "slant", "size"], ...] = attrs.field(
        default=("thickness", "slant"), converter=tuple)

    @attributes.validator
    def _known(self, _attribute, value) -> None:
        for name in value:
            if name not in ("thickness", "slant", "size"):
                raise ValueError(f"attributes: {name!r} is not one of 'thickness', 'slant', "
                                 "'size'")
        if len(set(value)) != len(value):
            raise ValueError("attributes lists one twice")


@attrs.frozen(kw_only=True)
class CUBConfig:
    """CUB-200-2011 birds in the layout of the StackGAN authors' release under ``root``.

    ``root/CUB_200_2011/{images.txt, bounding_boxes.txt, images/<class>/<file>.jpg}``,
    ``root/train/`` and ``root/test/`` with ``filenames.pickle``, ``class_info.pickle`` and
    ``char-CNN-RNN-embeddings.pickle`` (10 embeddings of 1024 per image), and optionally the raw
    captions ``root/text_c10/<class>/<file>.txt`` (``captions = true``, for the ``"captions"``
    and ``"sentence"`` encoders). Each bird is cropped to a square of 1.5 × the longer side of
    its bounding box around the box centre (the authors' crop), resized to ``load_size`` and
    randomly cropped to ``resolution`` (``load_size = resolution * 76 / 64`` in their code) and
    flipped. One of the ten embeddings (captions) is drawn per item and epoch.
    """

    root: Path = attrs.field(converter=Path)
    resolution: int = attrs.field(default=64, validator=[_power_of_two, v.le(1024)])
    load_size: int = attrs.field(default=0, validator=[v.ge(0), v.le(2048)])  # 0: the authors'
    embeddings: bool = True
    captions: bool = False
    flip: bool = True

    @load_size.validator
    def _fits(self, _attribute, value: int) -> None:
        if value and value < self.resolution:
            raise ValueError(f"load_size = {value} is smaller than resolution = "
                             f"{self.resolution}")

    @property
    def scaled_size(self) -> int:
        return self.load_size or self.resolution * 76 // 64
