"""``ganzoo upscale MODEL photo.png -o big.png``: any ``ganzoo.Upscaler``, any image size."""

from __future__ import annotations

from pathlib import Path

import click

from ganzoo.apps.cli_inference import inference_options, onnxruntime, runner


@click.command()
@click.argument("model", metavar="MODEL")
@click.argument("source", metavar="INPUT", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path),
              help="The image to write (.png), or a folder when INPUT is a folder.")
@click.option("--tile", default=256, show_default=True, type=click.IntRange(8),
              help="Inputs larger than this many pixels a side are upscaled tile by tile "
                   "(memory stays that of one tile), with overlapping context so no seams show.")
@click.option("--revision", help="Hub revision (branch, tag or commit) to load.")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N or mps.")
@inference_options
def upscale(model, source, output, tile, revision, device, precision, compile_, backend,
            onnx) -> None:
    """Upscale INPUT (an image, or a folder searched recursively) with a super-resolution
    MODEL: a run directory, a bundle folder, a registered weights name or a Hub repo id."""
    import torch

    import ganzoo
    from ganzoo.data.folder import EXTENSIONS, find_images
    from ganzoo.base.errors import DataError
    from ganzoo.base.images import save_grid

    if source.is_dir():
        found = find_images(source)
        if not found:
            raise DataError(f"no images found in {source} ({', '.join(EXTENSIONS)})")
        if output.exists() and not output.is_dir():
            raise click.UsageError(f"INPUT {source} is a folder, so -o must be a folder; "
                                   f"{output} is a file")
        jobs = [(path, output / path.relative_to(source).with_suffix(".png")) for path in found]
    else:
        if output.is_dir():
            output = output / source.with_suffix(".png").name
        jobs = [(source, output)]
    net = ganzoo.load(model, revision=revision, device=device)
    if not isinstance(net, ganzoo.Upscaler):
        raise click.UsageError(f"{model} is a {net.architecture} model, not a super-resolution "
                               "one (ganzoo.Upscaler); `ganzoo list architectures` shows which "
                               "are")
    if onnxruntime(backend, onnx):  # it upscales each image whole
        if click.get_current_context().get_parameter_source("tile").name != "DEFAULT":
            raise click.UsageError("--tile is for the torch backend; onnxruntime upscales "
                                   "each image whole")
        tile = None
    run = runner(net, precision=precision, compile_=compile_, backend=backend, onnx=onnx)
    for path, target in jobs:
        with torch.no_grad():
            image = run.upscale(path, tile=tile)
        save_grid(image, target, nrow=1, padding=0)
    what = jobs[0][1] if len(jobs) == 1 else f"{len(jobs)} images into {output}"
    click.echo(f"upscaled {net.scale}x: {what}")
