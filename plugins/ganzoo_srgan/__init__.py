"""SRGAN and SRResNet (Ledig et al. 2017) as a ganzoo plugin: photo-realistic 4x
super-resolution.

One architecture (``srgan``: the SRResNet generator and the VGG-style discriminator), two
trainers (``srresnet``: pixel-MSE pre-training; ``srgan``: the GAN stage, started from an
SRResNet run), the ``super-resolution`` and ``sr-photos`` datasets, metrics under the paper's
and the RGB protocols, the ``ganzoo upscale`` command (any ``ganzoo.Upscaler``), and the
converter of Lornatang/SRGAN-PyTorch's published weights. This module only registers; torch
loads on first use.
"""

from __future__ import annotations

import ganzoo

PAPER = "https://arxiv.org/abs/1609.04802"
#: Lornatang/SRGAN-PyTorch's published checkpoints (see convert.py).
HUB = "https://huggingface.co/goodfellowliu/SRGAN-PyTorch/resolve/main/{name}.pth.tar"
#: Its published x4 generators: (ganzoo weights name, file stem, what it is).
#: Real-ESRGAN's x4 RRDBNet generator (BasicSR's layout; ESRGAN's own files convert the same way).
REAL_ESRGAN = "https://github.com/xinntao/Real-ESRGAN/releases/download/v0.1.0/RealESRGAN_x4plus.pth"
PUBLISHED = (
    ("srresnet-x4-imagenet", "SRResNet_x4-SRGAN_ImageNet", "SRResNet (MSE) x4"),
    ("srgan-x4-imagenet", "SRGAN_x4-SRGAN_ImageNet", "SRGAN (VGG54 + adversarial) x4"),
)


@ganzoo.hookimpl
def register_architectures(registry) -> None:
    from .config import SRGANConfig

    registry.add(
        name="srgan",
        config_cls=SRGANConfig,
        build="ganzoo_srgan.networks:SRGAN",
        trainer="srgan",
        task="super-resolution",
        summary="Super-resolution: SRResNet generator (residual blocks, sub-pixel x2 "
                "upsamplers) and a VGG-style discriminator; MSE or VGG content loss + 1e-3 GAN.",
        paper=PAPER,
        tiny={"blocks": 1, "width": 4, "disc_width": 2, "resolution": 16},
    )


@ganzoo.hookimpl
def register_trainers(registry) -> None:
    from .config import ESRGANTrainConfig, SRGANTrainConfig, SRResNetTrainConfig

    registry.add(
        name="srresnet",
        step="ganzoo_srgan.train:srresnet_step",
        optimizers="ganzoo_srgan.train:srresnet_optimizers",
        config_cls=SRResNetTrainConfig,
        summary="SRResNet: the generator alone on the content loss (pixel MSE by default); the "
                "paper's first stage.",
    )
    registry.add(
        name="srgan",
        step="ganzoo_srgan.train:srgan_step",
        optimizers="ganzoo_srgan.train:srgan_optimizers",
        config_cls=SRGANTrainConfig,
        summary="SRGAN: D on real vs super-resolved crops, then G on content loss + 1e-3 x "
                "adversarial loss; starts from an SRResNet run ([model] srresnet).",
    )
    registry.add(
        name="esrgan",
        step="ganzoo_srgan.train:esrgan_step",
        optimizers="ganzoo_srgan.train:srgan_optimizers",
        config_cls=ESRGANTrainConfig,
        summary="ESRGAN's GAN stage: the relativistic-average GAN (D: is a real crop more real "
                "than the average fake?) + 5e-3 x it for G on top of L1 content loss.",
    )


@ganzoo.hookimpl
def register_datasets(registry) -> None:
    from .config import SRPhotosConfig, SuperResolutionConfig

    registry.add(name="super-resolution", config_cls=SuperResolutionConfig,
                 build="ganzoo_srgan.data:build_folder", kind="paired",
                 summary="(low-res, high-res) pairs from a folder of images (MATLAB-bicubic "
                         "downsampling) or the DIV2K, Set5, Set14, BSD100 release layouts.")
    registry.add(name="sr-photos", config_cls=SRPhotosConfig,
                 build="ganzoo_srgan.data:build_photos", kind="paired",
                 summary="Embedded: the scikit-image/scikit-learn photos as (low-res, high-res) "
                         "pairs; two whole photos held out for the test split.")


@ganzoo.hookimpl
def register_metrics(registry) -> None:
    for name, cls, what in [("sr-psnr", "SRPSNR", "PSNR in dB"),
                            ("sr-ssim", "SRSSIM", "SSIM"),
                            ("sr-sharpness", "SRSharpness",
                             "gradient-magnitude ratio to the truth")]:
        registry.add(name=name, compute=f"ganzoo_srgan.metrics:{cls}",
                     summary=f"Upscalers: {what} on the whole held-out images, paper protocol "
                             "(Y channel, border cropped); RGB and bicubic in the details.")


@ganzoo.hookimpl
def register_weights(registry) -> None:
    for name, stem, what in PUBLISHED:
        registry.add(name=name, architecture="srgan", url=HUB.format(name=stem),
                     converter="ganzoo_srgan.convert:convert", license="apache-2.0",
                     paper=PAPER, dataset="imagenet",
                     summary=f"{what} from Lornatang/SRGAN-PyTorch (16 blocks, width 64), "
                             "converted from its published checkpoint on first use.")
    registry.add(name="realesrgan-x4plus", architecture="srgan", url=REAL_ESRGAN,
                 converter="ganzoo_srgan.convert_esrgan:convert", license="bsd-3-clause",
                 paper="https://arxiv.org/abs/2107.10833", dataset="df2k-ost",
                 summary="Real-ESRGAN x4plus (ESRGAN's RRDBNet: 23 blocks, width 64, growth 32; "
                         "trained on synthetic real-world degradations), converted on first use.")


@ganzoo.hookimpl
def register_commands(registry) -> None:
    registry.add(name="upscale", command="ganzoo_srgan.cli:upscale",
                 summary="Upscale images with any super-resolution model, tile by tile.")
