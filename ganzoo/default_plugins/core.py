"""ganzoo's default plugin: the losses, datasets, metrics and features every architecture can use.

Written exactly like a third-party plugin (public API only, ``"module:attribute"`` references);
only its loading differs: it is listed in :data:`ganzoo.default_plugins.DEFAULT_PLUGINS`.
"""

from __future__ import annotations

import ganzoo

_LOSSES = "ganzoo.nn.losses"


@ganzoo.hookimpl
def register_losses(registry) -> None:
    adversarial = [
        ("bce", "bce_d", "bce_g", "Original minimax GAN loss (Goodfellow et al. 2014)."),
        ("non-saturating", "bce_d", "non_saturating_g",
         "Minimax discriminator, non-saturating generator: -log D(G(z))."),
        ("lsgan", "lsgan_d", "lsgan_g", "Least squares GAN (Mao et al. 2017)."),
        ("hinge", "hinge_d", "hinge_g", "Hinge loss (Lim & Ye 2017; Miyato et al. 2018)."),
        ("wgan", "wgan_d", "wgan_g",
         "Wasserstein critic loss (Arjovsky et al. 2017); pair with gradient-penalty."),
    ]
    for name, d, g, summary in adversarial:
        registry.add(name=name, kind="adversarial", fn=f"{_LOSSES}:{d}", g_fn=f"{_LOSSES}:{g}",
                     summary=summary)
    for name, fn, kind, summary in [
        ("gradient-penalty", "gradient_penalty", "regularizer",
         "WGAN-GP penalty (||grad D(x_hat)|| - 1)^2 (Gulrajani et al. 2017)."),
        ("r1", "r1_penalty", "regularizer",
         "R1 penalty mean ||grad_x D(x)||^2 at the real images (Mescheder et al. 2018)."),
        ("l1", "l1", "reconstruction", "Mean absolute error."),
        ("l2", "l2", "reconstruction", "Mean squared error."),
        ("cycle", "cycle", "reconstruction", "Cycle consistency |F(G(x)) - x| (Zhu et al. 2017)."),
        ("identity", "identity", "reconstruction", "Identity mapping |G(y) - y| (CycleGAN)."),
        ("kl", "kl_normal", "regularizer",
         "KL(N(mu, sigma^2) || N(0, I)), conditioning augmentation (Zhang et al. 2017)."),
        ("gradient-magnitude", "gradient_magnitude", "reconstruction",
         "|grad luma(pred)| vs |grad luma(target)|, L1 at 3 scales: sharp, sign-free edges."),
    ]:
        registry.add(name=name, kind=kind, fn=f"{_LOSSES}:{fn}", summary=summary)


@ganzoo.hookimpl
def register_datasets(registry) -> None:
    from ganzoo.data.configs import (CelebAConfig, DigitsConfig, DigitStylesConfig,
                                     ImageFolderConfig, PairedFolderConfig, PhotoCropsConfig,
                                     PhotoPairsConfig, UnpairedFolderConfig)

    registry.add(name="digits", config_cls=DigitsConfig, build="ganzoo.data.digits:build",
                 kind="labelled",
                 summary="scikit-learn's 1797 bundled 8x8 digits, resized; fixed 80/20 split.")
    registry.add(name="image-folder", config_cls=ImageFolderConfig,
                 build="ganzoo.data.folder:build", kind="images",
                 summary="Your own images: every image file under a folder (train/ and test/ "
                         "subfolders become the splits).")
    registry.add(name="celeba", config_cls=CelebAConfig, build="ganzoo.data.celeba:build",
                 kind="images",
                 summary="CelebA aligned faces from a folder in torchvision's CelebA layout, "
                         "with the 40 attributes.")
    registry.add(name="paired-folder", config_cls=PairedFolderConfig,
                 build="ganzoo.data.paired:build_folder", kind="paired",
                 summary="Paired images: pix2pix's aligned A|B files (train/, test/ or val/) or "
                         "separate A/ and B/ folders with matching names.")
    registry.add(name="photo-pairs", config_cls=PhotoPairsConfig,
                 build="ganzoo.data.paired:build_photos", kind="paired",
                 summary="Embedded: crops of scikit-image/scikit-learn photos with their edge "
                         "maps or grayscale; two whole photos held out for the test split.")
    registry.add(name="photo-crops", config_cls=PhotoCropsConfig,
                 build="ganzoo.data.photos:build", kind="images",
                 summary="Embedded: colour crops of the scikit-image/scikit-learn photos at "
                         "several scales; two whole photos held out for the test split.")

    registry.add(name="unpaired-folder", config_cls=UnpairedFolderConfig,
                 build="ganzoo.data.unpaired:build_folder", kind="unpaired",
                 summary="Unpaired images in CycleGAN's layout: trainA/, trainB/, testA/, "
                         "testB/ folders; B drawn at random for each A (or in order).")
    registry.add(name="digit-styles", config_cls=DigitStylesConfig,
                 build="ganzoo.data.digit_styles:build", kind="unpaired",
                 summary="Embedded: the digits (A) and the same digits bold in yellow on navy "
                         "(B), unpaired in training; the test split knows each true counterpart.")

    from ganzoo.data.hub_configs import (HubImagesConfig, HubLabelledConfig, HubPairedConfig,
                                         HubUnpairedConfig)

    hub = "ganzoo.data.hub_datasets"
    for name, config_cls, build, kind, summary in [
        ("hub-paired", HubPairedConfig, "build_paired", "paired",
         "Paired images from a Hub dataset repo's imageA/imageB columns (huggan's pix2pix "
         "sets), as paired-folder."),
        ("hub-unpaired", HubUnpairedConfig, "build_unpaired", "unpaired",
         "Two unpaired domains from a Hub dataset repo's imageA/imageB columns (huggan's "
         "CycleGAN sets), as unpaired-folder."),
        ("hub-images", HubImagesConfig, "build_images", "images",
         "Images from a Hub dataset repo's image column, as image-folder."),
        ("hub-labelled", HubLabelledConfig, "build_labelled", "labelled",
         "Images and integer class labels from a Hub dataset repo's image and label columns."),
    ]:
        registry.add(name=name, config_cls=config_cls, build=f"{hub}:{build}", kind=kind,
                     summary=summary)


@ganzoo.hookimpl
def register_metrics(registry) -> None:
    for name, compute, summary in [
        ("fd-digits", "digits:fd_digits",
         "Fréchet distance to the digits train split in ganzoo's digits-classifier features."),
        ("kid-digits", "digits:kid_digits",
         "Kernel distance (KID, unbiased MMD^2, cubic kernel) in digits-classifier features."),
        ("precision-digits", "digits:precision_digits",
         "Improved precision (Kynkäänniemi et al. 2019, k=3) in digits-classifier features."),
        ("recall-digits", "digits:recall_digits",
         "Improved recall (Kynkäänniemi et al. 2019, k=3) in digits-classifier features."),
        ("accuracy", "digits:ClassAccuracy",
         "Conditional models: digits-classifier accuracy on samples of each requested class."),
        ("code-accuracy", "codes:CodeAccuracy",
         "Models with a categorical input (InfoGAN's code): digits-classifier accuracy after "
         "the best one-to-one matching of code values to digits (Hungarian)."),
        ("fid", "inception:fid",
         "FID: Fréchet distance in Inception-v3 pool3 features, TF1 bilinear resize "
         "(torch-fidelity; set GANZOO_INCEPTION_WEIGHTS)."),
        ("kid", "inception:kid",
         "KID in Inception-v3 pool3 features, TF1 bilinear resize (torch-fidelity; set "
         "GANZOO_INCEPTION_WEIGHTS)."),
        ("fid-clean", "inception:fid_clean",
         "FID under clean-fid's protocol: PIL bicubic resize (set GANZOO_INCEPTION_WEIGHTS)."),
        ("kid-clean", "inception:kid_clean",
         "KID under clean-fid's protocol: PIL bicubic resize (set GANZOO_INCEPTION_WEIGHTS)."),
        ("fid-torchmetrics", "inception:fid_torchmetrics",
         "FID with torchmetrics' antialiased bilinear resize (set GANZOO_INCEPTION_WEIGHTS)."),
        ("kid-torchmetrics", "inception:kid_torchmetrics",
         "KID with torchmetrics' antialiased bilinear resize (set GANZOO_INCEPTION_WEIGHTS)."),
    ]:
        registry.add(name=name, compute=f"ganzoo.metrics.{compute}", summary=summary)
    for name, cls, what in [("paired-l1", "PairedL1", "mean absolute error"),
                            ("psnr", "PSNR", "PSNR in dB"),
                            ("ssim", "SSIM", "SSIM (Gaussian 11x11, sigma 1.5)")]:
        registry.add(name=name, compute=f"ganzoo.metrics.paired:{cls}",
                     summary=f"Image-to-image models: {what} of model.translate(input) against "
                             "the target, over the held-out split.")
    registry.add(name="lpips", compute="ganzoo.metrics.perceptual:LPIPS",
                 summary="Image-to-image models: LPIPS (torchmetrics) of model.translate(input) "
                         "against the target; set GANZOO_LPIPS_BACKBONE to torchvision's AlexNet "
                         "or VGG16 weights file.")


@ganzoo.hookimpl
def register_features(registry) -> None:
    for name, fn, kind, summary in [
        ("thickness", "thickness", "regressor", "Stroke thickness of a digit in pixels (ink area / half its perimeter)."),
        ("slant", "slant", "regressor", "Slant of a digit from its ink moments (0 = upright, positive leans right)."),
        ("size", "size", "regressor", "Size of a digit: radius of gyration of its ink over the image height."),
        ("class", "digit_class", "classifier",
         "The shipped digits classifier's probabilities of the ten digits."),
    ]:
        registry.add(name=name, compute=f"ganzoo.editing.features:{fn}", kind=kind,
                     domain="digits", summary=summary)


@ganzoo.hookimpl
def register_loggers(registry) -> None:
    registry.add(name="tensorboard", build="ganzoo.training.tensorboard:TensorBoardLogger",
                 requires=("tensorboard",), install="pip install 'ganzoo[tensorboard]'",
                 summary="TensorBoard event files in RUN/tensorboard/ (tensorboard --logdir "
                         "runs).")
    registry.add(name="mlflow", build="ganzoo.training.mlflow_logger:MLflowLogger",
                 requires=("mlflow",), install="pip install 'ganzoo[mlflow]'",
                 summary="An MLflow run on MLFLOW_TRACKING_URI (experiment: the recipe's name, "
                         "or MLFLOW_EXPERIMENT_NAME); a resumed run continues it.")
    registry.add(name="wandb", build="ganzoo.training.wandb_logger:WandbLogger",
                 requires=("wandb",), install="pip install 'ganzoo[wandb]'",
                 summary="A Weights & Biases run, files in RUN/wandb/ (WANDB_MODE=offline: "
                         "upload later with wandb sync); a resumed run continues it.")
