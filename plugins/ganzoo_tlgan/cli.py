"""The ``ganzoo edit`` verbs of this plugin's editors (registered in ``__init__.py``): feature
axes (fit, apply), projection, attribute vectors and interpolation."""

from __future__ import annotations

import json
from pathlib import Path

import click

MODEL_HELP = "MODEL: a run directory, a bundle folder, a registered weights name or a Hub repo id."


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise click.BadParameter(f"{text!r}: expected integers like 0,1,2",
                                 param_hint="--seed") from None
    if not seeds:
        raise click.BadParameter("give at least one seed", param_hint="--seed")
    return seeds


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


@click.command()
@click.argument("model", metavar="MODEL")
@click.option("--features", default="thickness,slant,size,class", show_default=True,
              metavar="NAME,...", help="Features to fit axes for (thickness, slant, size, class).")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the axes to (config.json + axes.safetensors).")
@click.option("-n", "--samples", default=2000, show_default=True, type=click.IntRange(20),
              help="Generated samples to fit on (20% held out for R²).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the samples.")
@click.option("--json", "as_json", is_flag=True, help="Print the axes' config as JSON.")
def fit(model, features, out, samples, seed, as_json) -> None:
    """Fit TL-GAN feature axes for MODEL's latent space."""
    import ganzoo

    from .axes import check_features, fit_axes

    names = _names(features)
    check_features(names)  # a misspelt feature fails before the model is loaded
    net = ganzoo.load(model)
    axes = fit_axes(net, names, samples=samples, seed=seed, generator_name=model)
    axes.save(out)
    if as_json:
        click.echo(json.dumps(axes.config(), indent=2))
        return
    for f in axes.features:
        quality = f"R² {f['r2']:.3f}" if "r2" in f else ""
        if "accuracy" in f:
            quality += f", accuracy {f['accuracy']:.3f}"
        click.echo(f"  {f['name']:<10} {len(f['axes'])} axis(es)  {quality}")
    click.echo(f"wrote {len(axes.names)} axes to {out}")


@click.command()
@click.argument("model", metavar="MODEL")
@click.argument("axes_ref", metavar="AXES")
@click.option("--move", "moves", multiple=True, required=True, metavar="NAME=AMOUNT",
              help="Axis and how far to move along it, e.g. thickness=+2 (repeatable).")
@click.option("--lock", default="", metavar="NAME,...",
              help="Axes or features to keep fixed (Gram-Schmidt), e.g. class.")
@click.option("--seed", "seeds", default="0", show_default=True, metavar="S1,S2,...",
              help="Seeds of the latents to edit, one row each.")
@click.option("--steps", default=5, show_default=True, type=click.IntRange(2, 64),
              help="Columns from the original (first) to the full move (last).")
@click.option("--local-lock", is_flag=True,
              help="Also hold the locked features by their local gradient at every small step "
                   "(needs differentiable feature extractors; keeps a class far more reliably).")
@click.option("-o", "--output", default="edit.png", show_default=True,
              type=click.Path(dir_okay=False, path_type=Path), help="PNG grid to write.")
def apply(model, axes_ref, moves, lock, seeds, steps, local_lock, output) -> None:
    """Move MODEL's latents along feature axes AXES (a folder or Hub repo); write a grid."""
    import ganzoo
    from ganzoo.base.images import save_grid

    from .axes import Axes, parse_moves

    axes = Axes.load(axes_ref)
    parsed = parse_moves(moves)
    locks = _names(lock)
    for name in parsed:  # bad names fail before the model is loaded
        axes.direction(name, locks)
    net = ganzoo.load(model)
    axes.check_generator(net, model)
    images = axes.walk(net, _seeds(seeds), parsed, locks, steps=steps, local=local_lock)
    click.echo(f"wrote {save_grid(images, output, nrow=steps)}")


@click.command()
@click.argument("model", metavar="MODEL")
@click.argument("images", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--method", default="hybrid", show_default=True,
              type=click.Choice(["optimise", "encoder", "hybrid"]), help="How to project.")
@click.option("--optimizer", default="lbfgs", show_default=True,
              type=click.Choice(["lbfgs", "adam"]), help="Optimiser of z.")
@click.option("--steps", default=50, show_default=True, type=click.IntRange(1),
              help="Optimisation steps per restart.")
@click.option("--restarts", default=2, show_default=True, type=click.IntRange(1),
              help="Starts per image (hybrid: the encoder's guess is the first).")
@click.option("--encoder", "encoder_path", type=click.Path(dir_okay=False, path_type=Path),
              help="A trained encoder (.safetensors); default: train one (saved in OUT).")
@click.option("--encoder-steps", default=300, show_default=True, type=click.IntRange(1),
              help="Training steps when no --encoder is given.")
@click.option("--encoder-init", default="scratch", show_default=True,
              type=click.Choice(["scratch", "discriminator"]),
              help="Train the encoder from scratch, or grow it from MODEL's trained "
                   "discriminator (its trunk, a new z head; needs a model saved with it).")
@click.option("--axes", "axes_ref", metavar="AXES",
              help="Feature axes to edit the projections along (with --move).")
@click.option("--move", "moves", multiple=True, metavar="NAME=AMOUNT",
              help="With --axes: move each projection, e.g. thickness=+2 (writes edited.png).")
@click.option("--lock", default="", metavar="NAME,...", help="With --axes: axes to keep fixed.")
@click.option("-o", "--out", default="projection", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Folder for the results.")
def project(model, images, method, optimizer, steps, restarts, encoder_path, encoder_steps,
            encoder_init, axes_ref, moves, lock, out) -> None:
    """Project IMAGES onto MODEL's manifold; writes latents.safetensors, a grid of the inputs
    (top) and their projections (bottom), and the per-image pixel MSE. With --axes and --move,
    also edited.png: each projection (a row) moved along the axes in 5 steps."""
    import torch
    from safetensors.torch import save_file

    import ganzoo
    from ganzoo.editing import projection as proj
    from ganzoo.base.images import as_batch, save_grid
    from ganzoo.base.io import atomic_write_json, atomic_write_with

    from .axes import Axes, parse_moves

    if bool(axes_ref) != bool(moves):
        raise click.UsageError("--axes and --move go together")
    axes = Axes.load(axes_ref) if axes_ref else None
    parsed = parse_moves(moves)
    for name in parsed:
        axes.direction(name, _names(lock))
    net = ganzoo.load(model, components="all" if encoder_init == "discriminator" else "inference")
    if axes is not None:
        axes.check_generator(net, model)
    cfg = net.config
    batch = as_batch([str(p) for p in images], channels=cfg.channels)
    if batch.shape[-1] != cfg.resolution or batch.shape[-2] != cfg.resolution:
        batch = torch.nn.functional.interpolate(batch, size=(cfg.resolution, cfg.resolution),
                                                mode="bilinear", antialias=True)
    encoder = None
    if method != "optimise":
        if encoder_path is not None:
            encoder = proj.load_encoder(encoder_path, net)
        else:
            encoder = proj.train_encoder(net, steps=encoder_steps, init=encoder_init)
            proj.save_encoder(encoder, out / "encoder.safetensors")
    result = proj.project(net, batch, method=method, encoder=encoder, steps=steps,
                          restarts=restarts, optimizer=optimizer)
    atomic_write_with(out / "latents.safetensors", lambda tmp: save_file(
        {"z": result.z.cpu().contiguous()}, str(tmp), metadata={"format": "pt"}))
    save_grid(torch.cat([batch, result.images]), out / "projection.png", nrow=len(batch))
    atomic_write_json(out / "projection.json", {
        "model": model, "method": method, "images": [str(p) for p in images],
        "mse": [round(float(v), 6) for v in result.mse]})
    if axes is not None:
        columns = [axes.edit(result.z, {k: t * v for k, v in parsed.items()}, _names(lock))
                   for t in torch.linspace(0, 1, 5).tolist()]
        with torch.no_grad():
            edited = net.generate(0, z=torch.stack(columns, 1).reshape(-1, *result.z.shape[1:]))
        save_grid(edited, out / "edited.png", nrow=5)
    click.echo(f"mean pixel MSE {float(result.mse.mean()):.4f} ({method}); wrote {out}")


def _folder_images(folder: Path, cfg):
    """The images of ``folder`` (recursively, any sizes) resized to the generator's size and
    channels, as one batch."""
    import torch

    from ganzoo.data.folder import EXTENSIONS, find_images
    from ganzoo.base.errors import DataError
    from ganzoo.base.images import as_batch

    paths = find_images(folder)
    if not paths:
        raise DataError(f"no images found in {folder} ({', '.join(EXTENSIONS)})")
    size = (cfg.resolution, cfg.resolution)
    return torch.cat([torch.nn.functional.interpolate(
        as_batch(str(p), channels=cfg.channels), size=size, mode="bilinear", antialias=True)
        for p in paths])


@click.command()
@click.argument("model", metavar="MODEL")
@click.option("--with", "with_dir", required=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A folder of real images that have the attribute.")
@click.option("--without", "without_dir", required=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A folder of real images that do not.")
@click.option("--seeds", default="0,1,2,3", show_default=True, metavar="S1,S2,...",
              help="Latents to add the attribute to, one row each.")
@click.option("--strength", default=1.5, show_default=True, type=float,
              help="The columns go from -STRENGTH (removed) to +STRENGTH (added).")
@click.option("--steps", default=5, show_default=True, type=click.IntRange(2, 64),
              help="Images per row.")
@click.option("--encoder", "encoder_path", type=click.Path(dir_okay=False, path_type=Path),
              help="A trained encoder (.safetensors); default: train one.")
@click.option("--encoder-steps", default=300, show_default=True, type=click.IntRange(1),
              help="Training steps when no --encoder is given.")
@click.option("-o", "--output", default="attribute.png", show_default=True,
              type=click.Path(dir_okay=False, path_type=Path), help="PNG grid to write.")
def attribute(model, with_dir, without_dir, seeds, strength, steps, encoder_path, encoder_steps,
              output) -> None:
    """Add or remove an attribute shown by example images: the mean encoded latent of the
    images --with it minus that of those --without it, applied to MODEL's latents for --seeds
    (rows) from -STRENGTH to +STRENGTH (columns). The vector is saved beside the grid."""
    import torch
    from safetensors.torch import save_file

    import ganzoo
    from ganzoo.editing import attributes
    from ganzoo.editing import projection as proj
    from ganzoo.base.images import save_grid
    from ganzoo.base.io import atomic_write_with

    net = ganzoo.load(model)
    with_images = _folder_images(with_dir, net.config)
    without_images = _folder_images(without_dir, net.config)
    encoder = (proj.load_encoder(encoder_path, net) if encoder_path is not None
               else proj.train_encoder(net, steps=encoder_steps))
    vector = attributes.attribute_vector_from_images(encoder, with_images, without_images)
    z = torch.cat([net.sample_latent(1, seed=s) for s in _seeds(seeds)])
    rows = [attributes.apply_attribute(z, vector, float(t))
            for t in torch.linspace(-strength, strength, steps).tolist()]
    with torch.no_grad():
        images = net.generate(0, z=torch.stack(rows, 1).reshape(-1, *z.shape[1:]))
    save_grid(images, output, nrow=steps)
    vector_path = output.with_suffix(".safetensors")
    atomic_write_with(vector_path, lambda tmp: save_file(
        {"vector": vector.cpu().contiguous()}, str(tmp),
        metadata={"with": str(with_dir), "without": str(without_dir), "model": model}))
    click.echo(f"attribute vector from {len(with_images)} + {len(without_images)} images "
               f"(norm {float(vector.norm()):.3f}); wrote {output} and {vector_path}")


@click.command()
@click.argument("model", metavar="MODEL")
@click.option("--seeds", default="0,1", show_default=True, metavar="S1,S2,...",
              help="Seeds to interpolate between, one row per consecutive pair.")
@click.option("--steps", default=8, show_default=True, type=click.IntRange(2, 64),
              help="Images per row, endpoints included.")
@click.option("--method", default="spherical", show_default=True,
              type=click.Choice(["linear", "spherical"]), help="Path between latents.")
@click.option("-o", "--output", default="interpolation.png", show_default=True,
              type=click.Path(dir_okay=False, path_type=Path), help="PNG grid to write.")
def interpolate(model, seeds, steps, method, output) -> None:
    """Interpolate between MODEL's latents for consecutive seeds; write a grid."""
    import ganzoo
    from ganzoo.editing.latent import interpolation_grid
    from ganzoo.base.images import save_grid

    seed_list = _seeds(seeds)
    if len(seed_list) < 2:
        raise click.BadParameter("give at least two seeds", param_hint="--seeds")
    net = ganzoo.load(model)
    images = interpolation_grid(net, seed_list, steps=steps, method=method)
    click.echo(f"wrote {save_grid(images, output, nrow=steps)}")


@click.command()
@click.argument("model", metavar="MODEL")
@click.option("--image", "image_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The photo to edit (any size); it is projected onto MODEL first.")
@click.option("--color", "color_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Colour strokes: an RGBA PNG the photo's size; painted = alpha > 0.")
@click.option("--sketch", "sketch_path", type=click.Path(exists=True, dir_okay=False,
                                                         path_type=Path),
              help="Sketch lines: an RGBA PNG the photo's size; drawn = alpha > 0.")
@click.option("-k", "--candidates", default=4, show_default=True, type=click.IntRange(1, 64),
              help="Candidates to write (at most the edit's kept results).")
@click.option("--starts", default=64, show_default=True, type=click.IntRange(1, 256),
              help="Latents optimised at once: the projection plus perturbations.")
@click.option("--iterations", default=40, show_default=True, type=click.IntRange(0, 1000),
              help="Adam iterations of the edit.")
@click.option("--color-weight", default=1.0, show_default=True, type=float,
              help="Weight of the masked colour error.")
@click.option("--edge-weight", default=0.2, show_default=True, type=float,
              help="Weight of the masked HOG-edge error of the sketch.")
@click.option("--prior-weight", default=5.0, show_default=True, type=float,
              help="Weight of mean (z - z0)^2: how near the projection the edit stays.")
@click.option("--realism-weight", default=0.0, show_default=True, type=float,
              help="Weight of the discriminator's realism term (needs a bundle that ships it).")
@click.option("--frames", default=16, show_default=True, type=click.IntRange(2, 64),
              help="Frames of the morph from the projection to the best candidate.")
@click.option("--morph", "morph_method", default="linear", show_default=True,
              type=click.Choice(["linear", "spherical"]), help="Interpolation of the morph.")
@click.option("--project-steps", default=50, show_default=True, type=click.IntRange(1),
              help="L-BFGS steps of the photo's projection.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the perturbations.")
@click.option("-o", "--out", default="brush", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Folder for the results.")
def brush(model, image_path, color_path, sketch_path, candidates, starts, iterations,
          color_weight, edge_weight, prior_weight, realism_weight, frames, morph_method,
          project_steps, seed, out) -> None:
    """iGAN: edit the photo IMAGE with colour strokes and sketch lines on MODEL's manifold.

    Projects the photo, searches z for images that follow the strokes, and writes into OUT:
    candidates.png (best first), morph.png (projection to the best candidate), transferred.png
    (the edit carried onto the photo at its own size) and edit.json (errors, realism scores)."""
    if color_path is None and sketch_path is None:
        raise click.UsageError("give --color strokes, --sketch lines, or both")
    from ganzoo.editing import session
    from ganzoo.editing.manifold_edit import EditSettings

    settings = EditSettings(starts=starts, iterations=iterations, color_weight=color_weight,
                            edge_weight=edge_weight, prior_weight=prior_weight,
                            realism_weight=realism_weight)
    summary = session.edit_photo(model, image_path, color=color_path, sketch=sketch_path,
                                 settings=settings, candidates=candidates, frames=frames,
                                 morph_method=morph_method, project_steps=project_steps,
                                 seed=seed, out=out)
    best = summary["candidates"][0]
    click.echo(f"{len(summary['candidates'])} candidate(s) in {summary['seconds']['edit']:.1f} s; "
               f"stroke error {summary['projection']['color_error']:.4f} -> "
               f"{best['color_error']:.4f}; wrote {out}")


@click.command()
@click.argument("model", metavar="MODEL")
@click.option("--data", required=True, metavar="DATA",
              help="'digits' (the embedded digits, labelled) or a folder of images (labelled "
                   "by subfolder).")
@click.option("--split", default="test", show_default=True, type=click.Choice(["train", "test"]),
              help="Split of the digits to map.")
@click.option("-n", "--limit", type=click.IntRange(3), help="Map only the first N images.")
@click.option("--method", default="encoder", show_default=True,
              type=click.Choice(["encoder", "hybrid"]),
              help="Encode by the encoder alone, or refine its guess by optimisation (slower).")
@click.option("--encoder", "encoder_path", type=click.Path(dir_okay=False, path_type=Path),
              help="A trained encoder (.safetensors); default: train one (saved in OUT).")
@click.option("--encoder-steps", default=300, show_default=True, type=click.IntRange(1),
              help="Training steps when no --encoder is given.")
@click.option("--encoder-init", default="scratch", show_default=True,
              type=click.Choice(["scratch", "discriminator"]),
              help="Train the encoder from scratch, or grow it from MODEL's trained "
                   "discriminator (its trunk, a new z head; needs a model saved with it).")
@click.option("-o", "--out", default="map", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Folder for the map.")
def sphere(model, data, split, limit, method, encoder_path, encoder_steps, encoder_init,
           out) -> None:
    """Map the images of DATA on MODEL's latent sphere: encode them, normalise to the unit
    sphere, keep three principal axes (renormalised). Writes OUT/projector/ (for
    `tensorboard --logdir OUT/projector`), OUT/sphere.html (offline, rotatable, thumbnails on
    hover), OUT/sphere.png and OUT/sphere.json (k-NN accuracy of the labels on the map)."""
    import ganzoo
    from ganzoo.editing import projection as proj
    from ganzoo.editing import sphere as sph
    from ganzoo.base.io import atomic_write_json

    net = ganzoo.load(model, components="all" if encoder_init == "discriminator" else "inference")
    sph.check_model(net, model)
    images, labels = sph.dataset_images(data, net, split=split, limit=limit)
    if encoder_path is not None:
        encoder = proj.load_encoder(encoder_path, net)
    else:
        encoder = proj.train_encoder(net, steps=encoder_steps, init=encoder_init)
        proj.save_encoder(encoder, out / "encoder.safetensors")
    result = sph.sphere_map(net, images, labels, encoder=encoder, method=method)
    sph.write_projector(result, out / "projector")
    sph.write_html(result, out / "sphere.html", title=f"{model} · {data} on the latent sphere")
    sph.write_png(result, out / "sphere.png", title=f"{model} · {data} on the latent sphere")
    knn = sph.knn_accuracy(result.coords, result.labels)
    random = [sph.knn_accuracy(sph.random_sphere(result.unit, seed=s), result.labels)
              for s in range(10)]
    atomic_write_json(out / "sphere.json", {
        "model": model, "data": data, "images": len(labels), "method": method,
        "explained_variance": [round(v, 4) for v in result.explained],
        "knn5_accuracy_sphere": round(knn, 4),
        "knn5_accuracy_random_projection_mean": round(sum(random) / len(random), 4),
        "mean_pixel_mse": round(float(result.mse.mean()), 5)})
    click.echo(f"{len(labels)} images; 5-NN label accuracy on the map {knn:.3f} "
               f"(random 3-D projections {sum(random) / len(random):.3f}); wrote {out}")
