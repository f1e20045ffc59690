"""What the golden-value recorder (``benchmarks/golden/record.py``) and the golden tests share.

Both sides must start from the same weights and see the same batches without either importing
the other's code, so both are functions of a seed and of the reference's tensor names/shapes (the
recorder writes those into the fixture). Weights and Adam moments are compared by summaries, not
by full tensors, so that the fixtures stay small:

``summary(t)`` = [mean, mean |t|, rms, projection], the projection being ``mean(t * r)`` for a
fixed +-1 vector ``r`` (seeded by the tensor's size), which moves when values move between
positions (a transposed or permuted kernel), where the first three would not.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "golden"

#: Each case: the reference's options (their names) and the run recorded from them.
CASES = {
    "pix2pix_unet128": {
        "model": "pix2pix", "netG": "unet_128", "ngf": 8, "ndf": 8, "n_layers_D": 3,
        "norm": "batch", "dropout": True, "gan_mode": "vanilla", "lambda_L1": 100.0,
        "lr": 2e-4, "beta1": 0.5, "input_nc": 3, "output_nc": 3, "size": 128, "batch": 2,
        "steps": 3},
    "pix2pix_unet256": {
        "model": "pix2pix", "netG": "unet_256", "ngf": 4, "ndf": 4, "n_layers_D": 3,
        "norm": "batch", "dropout": True, "gan_mode": "vanilla", "lambda_L1": 100.0,
        "lr": 2e-4, "beta1": 0.5, "input_nc": 3, "output_nc": 1, "size": 256, "batch": 2,
        "steps": 3},
    "cyclegan_resnet9": {
        "model": "cycle_gan", "netG": "resnet_9blocks", "ngf": 8, "ndf": 8, "n_layers_D": 3,
        "norm": "instance", "dropout": False, "gan_mode": "lsgan", "lambda_A": 10.0,
        "lambda_B": 10.0, "lambda_identity": 0.5, "pool_size": 50, "lr": 2e-4, "beta1": 0.5,
        "input_nc": 3, "output_nc": 3, "size": 64, "batch": 2, "steps": 3},
    "dcgan": {
        "model": "dcgan", "nz": 16, "ngf": 8, "ndf": 8, "nc": 3, "lr": 2e-4, "beta1": 0.5,
        "size": 64, "batch": 4, "steps": 3},
}

INIT_SEED = 1234    # initial weights
BATCH_SEED = 5678   # the batches
STEP_SEED = 42      # torch's global RNG at the first step (dropout masks, DCGAN's z)


def initial_state(shapes: list[tuple[str, list[int]]], seed: int = INIT_SEED
                  ) -> dict[str, torch.Tensor]:
    """The reference init's distributions, drawn in ``shapes`` order from one seeded generator:
    conv weights N(0, 0.02), norm scales N(1, 0.02), biases and norm shifts N(0, 0.02) (non-zero,
    so a bias that is not carried over shows), running mean 0 and variance 1."""
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for key, shape in shapes:
        leaf = key.rsplit(".", 1)[-1]
        if leaf == "running_mean":
            out[key] = torch.zeros(shape)
        elif leaf == "running_var":
            out[key] = torch.ones(shape)
        elif leaf == "num_batches_tracked":
            out[key] = torch.zeros(shape, dtype=torch.long)
        elif leaf == "weight" and len(shape) == 1:
            out[key] = 1.0 + 0.02 * torch.randn(shape, generator=gen)
        else:
            out[key] = 0.02 * torch.randn(shape, generator=gen)
    return out


def perturbed(state: dict[str, torch.Tensor], rel: float, seed: int = INIT_SEED + 1
              ) -> dict[str, torch.Tensor]:
    """``state`` with every float tensor scaled by ``1 + rel * N(0, 1)``: the recorder trains a
    second time from these, and how far that run drifts from the first says how much the
    reference's own numbers move when its start moves by about one fp32 rounding step."""
    if not rel:
        return state
    gen = torch.Generator().manual_seed(seed)
    return {k: v * (1 + rel * torch.randn(v.shape, generator=gen)) if v.is_floating_point()
            else v for k, v in state.items()}


def batches(case: dict, seed: int = BATCH_SEED) -> list[dict[str, torch.Tensor]]:
    """``steps`` batches in [-1, 1], in the reference's names: ``A``/``B`` (pix2pix, CycleGAN) or
    ``image`` (DCGAN). Smooth random images (upsampled noise), not white noise, so that the
    networks see structure as they would in photos."""
    gen = torch.Generator().manual_seed(seed)
    size, n = case["size"], case["batch"]

    def images(channels: int) -> torch.Tensor:
        coarse = torch.rand(n, channels, size // 8, size // 8, generator=gen) * 2 - 1
        fine = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bilinear",
                                               align_corners=False)
        return (fine + 0.1 * (torch.rand(fine.shape, generator=gen) * 2 - 1)).clamp(-1, 1)

    out = []
    for _ in range(case["steps"]):
        if case["model"] == "dcgan":
            out.append({"image": images(case["nc"])})
        else:
            out.append({"A": images(case["input_nc"]), "B": images(case["output_nc"])})
    return out


def summary(t: torch.Tensor) -> list[float]:
    """[mean, mean |t|, rms, projection on a fixed +-1 vector], in float64."""
    x = t.detach().double().flatten()
    signs = torch.randint(0, 2, (x.numel(),), generator=torch.Generator().manual_seed(x.numel()))
    r = signs.double() * 2 - 1
    return [float(x.mean()), float(x.abs().mean()), float(x.square().mean().sqrt()),
            float((x * r).mean())]


def summary_mismatch(expected: list[float], actual: list[float], spread: list[float], *,
                     rtol: float, factor: float) -> str | None:
    """``None`` if each statistic of ``actual`` is within ``factor`` times the reference's own
    fp32 spread (``|spread - expected|``, from the perturbed run) plus ``rtol`` of the tensor's
    scale (mean |t|) of ``expected``; else a description of the worst statistic."""
    scale = max(abs(expected[1]), 1e-30)
    names = ("mean", "mean|t|", "rms", "projection")
    excess = [abs(expected[i] - actual[i]) - factor * abs(spread[i] - expected[i]) - rtol * scale
              for i in range(4)]
    worst = max(range(4), key=lambda i: excess[i] / scale)
    if excess[worst] <= 0:
        return None
    return (f"{names[worst]} {actual[worst]:.8g} vs reference {expected[worst]:.8g} (scale "
            f"{scale:.3g}, off by {abs(expected[worst] - actual[worst]) / scale:.2g}; the "
            f"reference's own fp32 spread {abs(spread[worst] - expected[worst]) / scale:.2g})")


def load(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


# -- the data path ------------------------------------------------------------------------------
#: Each case: a layout of a few generated files and the reference's data options (their names).
DATA_CASES = {
    "aligned_resize_and_crop": {
        "layout": "aligned", "preprocess": "resize_and_crop", "load_size": 30, "crop_size": 24,
        "input_nc": 3, "output_nc": 3, "direction": "AtoB"},
    "aligned_crop_gray_btoa": {
        "layout": "aligned", "preprocess": "crop", "load_size": 30, "crop_size": 24,
        "input_nc": 1, "output_nc": 3, "direction": "BtoA"},
    "unaligned_resize_and_crop": {
        "layout": "unaligned", "preprocess": "resize_and_crop", "load_size": 30,
        "crop_size": 24, "input_nc": 3, "output_nc": 3, "direction": "AtoB"},
    "unaligned_crop": {
        "layout": "unaligned", "preprocess": "crop", "load_size": 30, "crop_size": 24,
        "input_nc": 3, "output_nc": 3, "direction": "AtoB"},
}
DATA_SEED = 2468   # torch's global RNG before the first item: crops and flips
FILES = 4          # images per folder
IMAGE_SIZE = (36, 28)  # width, height of one image (an aligned file is twice as wide)


def write_images(root: Path, layout: str) -> None:
    """``FILES`` seeded RGB PNGs per folder: ``train/`` A|B files (aligned) or ``trainA/`` and
    ``trainB/`` (unaligned, the B folder one file shorter so that indices wrap). Smooth colour
    ramps plus noise, so that resizing, cropping and flipping all change the values."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(DATA_SEED)
    w, h = IMAGE_SIZE
    yy, xx = np.mgrid[0:h, 0:w]

    def image() -> np.ndarray:
        base = rng.uniform(0, 255, 3) + rng.uniform(-3, 3, 3) * xx[..., None] \
            + rng.uniform(-3, 3, 3) * yy[..., None]
        return np.clip(base + rng.normal(0, 20, (h, w, 3)), 0, 255).astype(np.uint8)

    folders = {"aligned": {"train": FILES}, "unaligned": {"trainA": FILES, "trainB": FILES - 1}}
    for folder, count in folders[layout].items():
        (root / folder).mkdir(parents=True)
        for i in range(count):
            pixels = np.concatenate([image(), image()], axis=1) if layout == "aligned" \
                else image()
            Image.fromarray(pixels).save(root / folder / f"{i:02d}.png")
