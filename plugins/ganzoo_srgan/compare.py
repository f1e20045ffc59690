"""Bicubic, SRResNet and SRGAN side by side on the held-out photos: the table and the crop
picture of docs/srgan.md.

    python -m ganzoo_srgan.compare runs/srresnet-photos runs/srgan-photos \
        --picture docs/images/srgan-crops.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from .metrics import score_images
from .resize import upscale_bicubic

COLUMNS = (("psnr_paper", "PSNR Y (dB)", 2), ("ssim_paper", "SSIM Y", 4),
           ("psnr_rgb", "PSNR RGB (dB)", 2), ("ssim_rgb", "SSIM RGB", 4),
           ("sharpness", "sharpness", 3))


def table(models: dict[str, object], data, scale: int) -> str:
    """A Markdown table of every score for bicubic and each model (name -> Upscaler)."""
    rows = {"bicubic": score_images(lambda low: upscale_bicubic(low, scale), data, scale)}
    for name, model in models.items():
        rows[name] = score_images(lambda low, m=model: m.upscale(low), data, scale)
    head = "| method | " + " | ".join(title for _, title, _ in COLUMNS) + " |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 1)]
    for name, scores in rows.items():
        cells = " | ".join(f"{scores[key]:.{digits}f}" for key, _, digits in COLUMNS)
        lines.append(f"| {name} | {cells} |")
    return "\n".join(lines)


def picture(models: dict[str, object], data, scale: int, path: Path, *, index: int = 0,
            box: tuple[int, int, int] = (40, 120, 96), zoom: int = 2) -> Path:
    """Crops (top, left, side in high-resolution pixels) of image ``index``: the input
    (nearest-neighbour), bicubic, each model, the truth; each enlarged ``zoom`` times."""
    import torch.nn.functional as F

    from ganzoo.base.images import save_grid

    low, high = data.whole(index)
    top, left, side = box
    low = low[None]
    outputs = [F.interpolate(low, scale_factor=scale, mode="nearest"),
               upscale_bicubic(low, scale)]
    outputs += [model.upscale(low) for model in models.values()]
    outputs.append(high[None])
    crops = torch.cat([o[..., top:top + side, left:left + side].cpu() for o in outputs])
    crops = F.interpolate(crops, scale_factor=zoom, mode="nearest")
    return save_grid(crops, path, nrow=len(outputs), padding=4)


def main() -> None:
    import ganzoo
    import ganzoo.plugin.manager as plugins
    from ganzoo.plugin.registry import load_ref

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="SRResNet run, then SRGAN run")
    parser.add_argument("--names", default="SRResNet,SRGAN")
    parser.add_argument("--picture", type=Path)
    args = parser.parse_args()
    recipe = ganzoo.Recipe.from_toml(args.runs[0] / "recipe.toml")
    entry = plugins.registry("datasets").get(recipe.data.dataset)
    data = load_ref(entry.build)(recipe.data.config, "test")
    models = {name: ganzoo.load(str(run)) for name, run in
              zip(args.names.split(","), args.runs, strict=False)}
    scale = next(iter(models.values())).scale
    with torch.no_grad():
        print(table(models, data, scale))
        if args.picture:
            print(picture(models, data, scale, args.picture))


if __name__ == "__main__":
    main()
