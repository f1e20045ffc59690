"""SRGAN's ``[model]``, ``[train]`` and ``[data]`` tables (attrs only: cheap to import)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import attrs
from attrs import validators as v

import ganzoo

#: The content losses of the paper: pixel MSE, or the MSE between VGG19 feature maps after the
#: j-th convolution (and its ReLU) before the i-th max-pooling ("vgg22", "vgg54").
CONTENT_LOSSES = ("mse", "l1", "vgg22", "vgg54")
#: Environment variable naming a VGG19 weights file (torchvision's ``vgg19`` state dict, as
#: ``.safetensors`` or a ``.pth`` that loads with ``weights_only=True``).
VGG_WEIGHTS_ENV = "GANZOO_VGG19_WEIGHTS"


def _power_of_two_scale(_inst, attribute, value: int) -> None:
    if value not in (2, 4, 8):
        raise ValueError(f"{attribute.name} = {value}: expected 2, 4 or 8 (one sub-pixel x2 "
                         "upsampler per factor of two)")


def _betas(_inst, attribute, value) -> None:
    if not all(0.0 <= b < 1.0 for b in value):
        raise ValueError(f"'{attribute.name}' must be two numbers in [0, 1), got {list(value)}")


@attrs.frozen(kw_only=True)
class SRGANConfig:
    """The generator and discriminator of SRGAN (Ledig et al. 2017).

    Generator (SRResNet): a 9x9 convolution and PReLU, ``blocks`` residual blocks (conv, batch
    norm, PReLU, conv, batch norm, plus the input), a 3x3 convolution and batch norm added to the
    first layer's output (the long skip), log2(``scale``) sub-pixel x2 upsamplers (a convolution
    to 4x the channels, pixel shuffle, PReLU) and a 9x9 convolution to RGB. ``width`` is the
    number of feature maps (64 in the paper, 16 blocks).

    Discriminator: eight 3x3 convolutions from ``disc_width`` to 8x ``disc_width`` feature maps,
    every second one with stride 2, batch norm and leaky ReLU (0.2), then dense 1024, leaky ReLU
    and dense 1 (a logit). Its dense layer sees the whole ``resolution`` x ``resolution``
    high-resolution crop (96 in the paper), so ``resolution`` must be a multiple of 16.

    ``generator = "rrdb"``: ESRGAN's generator instead (Wang et al. 2018; ``rrdb.py``):
    ``blocks`` residual-in-residual dense blocks (23 in ESRGAN) of ``growth`` (32) new feature
    maps per convolution, no batch norm, nearest-neighbour x2 + convolution upsamplers. Train
    its GAN stage with ``trainer = "esrgan"`` for ESRGAN's relativistic-average GAN loss.

    ``io_range``: the pixel range the generator computes in. ganzoo's images are in [-1, 1];
    ``"[0,1]"`` maps them to [0, 1] on the way in and back on the way out, which converted
    third-party weights need. ``bicubic_skip`` (not in the paper; VDSR's global residual) adds
    a bicubic upsampling of the input to the output, so the network learns only the detail that
    bicubic misses: it starts at bicubic's PSNR instead of below it, which a CPU-sized training
    needs. ``srresnet`` (GAN stage only): the SRResNet run, bundle or weights
    name whose generator the GAN stage starts from (read when training starts; ``""``: a fresh
    generator).
    """

    scale: int = attrs.field(default=4, validator=_power_of_two_scale)
    channels: Literal[1, 3] = attrs.field(default=3, validator=v.in_((1, 3)))
    blocks: int = attrs.field(default=16, validator=[v.instance_of(int), v.ge(0), v.le(64)])
    width: int = attrs.field(default=64, validator=[v.instance_of(int), v.ge(1), v.le(512)])
    disc_width: int = attrs.field(default=64, validator=[v.instance_of(int), v.ge(1), v.le(256)])
    resolution: int = attrs.field(default=96, validator=[v.instance_of(int), v.ge(16), v.le(512)])
    io_range: Literal["[-1,1]", "[0,1]"] = attrs.field(default="[-1,1]",
                                                       validator=v.in_(("[-1,1]", "[0,1]")))
    bicubic_skip: bool = attrs.field(default=False, validator=v.instance_of(bool))
    srresnet: str = attrs.field(default="", validator=v.instance_of(str))
    generator: Literal["srresnet", "rrdb"] = attrs.field(default="srresnet",
                                                         validator=v.in_(("srresnet", "rrdb")))
    growth: int = attrs.field(default=32, validator=[v.instance_of(int), v.ge(1), v.le(256)])

    @resolution.validator
    def _multiple_of_16(self, _attribute, value: int) -> None:
        if value % 16:
            raise ValueError(f"resolution = {value} must be a multiple of 16 (the discriminator "
                             "halves it four times)")


@attrs.frozen(kw_only=True, slots=False)
class _Content:
    """SRResNet: the generator alone, trained on ``content`` loss (pixel ``"mse"`` in the paper,
    which is what maximises PSNR). Adam with the paper's beta1 = 0.9, lr 1e-4.

    ``vgg_weights``: a VGG19 weights file for the ``"vgg22"``/``"vgg54"`` content losses (else
    the ``GANZOO_VGG19_WEIGHTS`` environment variable); nothing is downloaded. VGG feature
    differences are multiplied by ``vgg_scale`` (the paper rescales the feature maps by 1/12.75,
    which scales their MSE by 1/12.75^2).
    """

    content: Literal["mse", "l1", "vgg22", "vgg54"] = attrs.field(default="mse",
                                                           validator=v.in_(CONTENT_LOSSES))
    vgg_weights: str = attrs.field(default="", validator=v.instance_of(str))
    vgg_scale: float = attrs.field(default=1 / 12.75, validator=[ganzoo.finite, v.gt(0.0)])
    lr_gen: float = attrs.field(default=1e-4, validator=[ganzoo.finite, v.gt(0.0)])
    lr_disc: float = attrs.field(default=1e-4, validator=[ganzoo.finite, v.gt(0.0)])
    betas: tuple[float, float] = attrs.field(default=(0.9, 0.999), validator=_betas)
    batch_size: int = attrs.field(default=16, validator=[v.ge(1), v.le(65536)])


@attrs.frozen(kw_only=True)
class SRResNetTrainConfig(_Content, ganzoo.TrainConfig):
    __doc__ = _Content.__doc__


@attrs.frozen(kw_only=True)
class SRGANTrainConfig(_Content, ganzoo.AdversarialTrainConfig):
    """The GAN stage: content loss + ``adversarial_weight`` (1e-3 in the paper) x the generator's
    adversarial loss (``loss``, the non-saturating -log D(G(x)) of the paper by default)."""

    adversarial_weight: float = attrs.field(default=1e-3, validator=[ganzoo.finite, v.gt(0.0)])


@attrs.frozen(kw_only=True)
class ESRGANTrainConfig(_Content, ganzoo.TrainConfig):
    """ESRGAN's GAN stage (Wang et al. 2018): content loss (``"l1"`` by default) +
    ``adversarial_weight`` (5e-3 in ESRGAN) x the relativistic-average GAN loss
    (``ganzoo.nn.losses.relativistic_average_d`` / ``relativistic_average_g``). ESRGAN's
    perceptual term on VGG features *before* their activation is not offered: the
    ``vgg22``/``vgg54`` content losses compare them after it, as SRGAN does."""

    content: Literal["mse", "l1", "vgg22", "vgg54"] = attrs.field(default="l1",
                                                                 validator=v.in_(CONTENT_LOSSES))
    adversarial_weight: float = attrs.field(default=5e-3, validator=[ganzoo.finite, v.gt(0.0)])


def _positive_int(maximum: int):
    return [v.instance_of(int), v.ge(1), v.le(maximum)]


#: Folder layouts of the super-resolution datasets (see SuperResolutionConfig).
LAYOUTS = ("auto", "folder", "div2k", "benchmark")


@attrs.frozen(kw_only=True)
class SuperResolutionConfig:
    """(low-res, high-res) pairs from a folder of high-resolution images.

    ``layout``:

    - ``"folder"``: every image under ``root`` (or ``root/train`` and ``root/test``); the
      low-resolution inputs are made by MATLAB-style bicubic downsampling by ``scale``.
    - ``"div2k"``: DIV2K's release: ``root/DIV2K_train_HR/0001.png`` with
      ``root/DIV2K_train_LR_bicubic/X4/0001x4.png`` (test split: ``DIV2K_valid_HR`` and
      ``DIV2K_valid_LR_bicubic``); the provided LR files are used, or made when absent.
    - ``"benchmark"``: Set5, Set14, BSD100 (and Urban100) as the SelfExSR release lays them out:
      ``root/image_SRF_4/img_001_SRF_4_HR.png`` with ``img_001_SRF_4_LR.png`` (``root`` is the
      ``Set5`` folder); evaluation sets, so only the test split exists.
    - ``"auto"``: ``"div2k"`` when ``root/DIV2K_train_HR`` or ``root/DIV2K_valid_HR`` exists,
      ``"benchmark"`` when ``root/image_SRF_<scale>`` does, else ``"folder"``.

    Training items are random aligned crops (``crop`` high-resolution pixels a side, a multiple
    of ``scale``) with random horizontal and vertical flips (``flip``); ``items`` of them make an
    epoch. The test split's items are the centre ``crop`` of each image (for sample grids); the
    super-resolution metrics score the whole images (each cut to a multiple of ``scale``).
    """

    root: Path = attrs.field(converter=Path)
    layout: Literal["auto", "folder", "div2k", "benchmark"] = attrs.field(
        default="auto", validator=v.in_(LAYOUTS))
    scale: int = attrs.field(default=4, validator=_power_of_two_scale)
    crop: int = attrs.field(default=96, validator=_positive_int(2048))
    flip: bool = attrs.field(default=True, validator=v.instance_of(bool))
    items: int = attrs.field(default=4096, validator=_positive_int(10_000_000))

    @crop.validator
    def _crop_fits(self, _attribute, value: int) -> None:
        if value % self.scale:
            raise ValueError(f"crop = {value} must be a multiple of scale = {self.scale}")

    @property
    def resolution(self) -> int:
        return self.crop


@attrs.frozen(kw_only=True)
class SRPhotosConfig:
    """Embedded: the colour photos bundled with scikit-image and scikit-learn, each resized so
    its shorter side is ``photo_size``, downsampled by ``scale`` with MATLAB-style bicubic (the
    low-resolution inputs rounded to 8 bits, as if saved as PNG).

    Training items are random aligned ``crop`` crops (high-resolution side) of the training
    photos with random flips, ``items`` an epoch. The test split: two whole photos held out
    from training (``chelsea`` the cat and scikit-learn's ``flower``). ``more_photos = true``
    adds nine more bundled photos to the training split (the stereo motorcycle's two views and
    seven grey ones, as grey RGB; ``MORE_TRAIN_PHOTOS`` in ``data.py``); the test split is the
    same either way.
    """

    scale: int = attrs.field(default=4, validator=_power_of_two_scale)
    crop: int = attrs.field(default=96, validator=_positive_int(512))
    photo_size: int = attrs.field(default=256, validator=_positive_int(1024))
    flip: bool = attrs.field(default=True, validator=v.instance_of(bool))
    items: int = attrs.field(default=4096, validator=_positive_int(10_000_000))
    more_photos: bool = attrs.field(default=False, validator=v.instance_of(bool))

    @crop.validator
    def _crop_fits(self, _attribute, value: int) -> None:
        if value % self.scale:
            raise ValueError(f"crop = {value} must be a multiple of scale = {self.scale}")
        if value > self.photo_size:
            raise ValueError(f"crop = {value} is larger than photo_size = {self.photo_size}")

    @property
    def resolution(self) -> int:
        return self.crop
