"""The ``ganzoo`` commands that draw or score with a trained model: ``generate`` (also spelt
``sample``), ``translate`` and ``eval``. :mod:`ganzoo.apps.cli` adds them to the group; like every
command here they import torch only when they run.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

import ganzoo.plugin.manager as plugins
from ganzoo.apps.cli_inference import inference_options, onnxruntime, runner
from ganzoo.base.errors import GanzooError
from ganzoo.plugin.registry import load_ref


@click.command()
@click.argument("model", metavar="MODEL")
@click.option("-n", "count", default=64, show_default=True, type=click.IntRange(1, 4096),
              help="Number of images (with --text: the captions are repeated to fill it).")
@click.option("-o", "--output", default="samples.png", show_default=True,
              type=click.Path(dir_okay=False, path_type=Path), help="PNG grid to write.")
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed.")
@click.option("--labels", metavar="L1,L2,...",
              help="Class labels for a conditional model, one image each (then -n is ignored).")
@click.option("--text", "texts", multiple=True, metavar="CAPTION",
              help="A caption for a text-to-image model (repeatable); each is drawn -n/len times.")
@click.option("--embeddings", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Text embeddings [N, D] (.npy or .safetensors with one tensor) for a "
                   "text-to-image model; one image each (then -n is ignored).")
@click.option("--nrow", type=click.IntRange(1, 4096),
              help="Images per grid row (default: a square-ish grid).")
@click.option("--vary", "vary", metavar="NAME[:I]",
              help="A traversal grid: each row keeps one z, the columns step a declared input "
                   "(labels, an InfoGAN code ...) through its values; a continuous one goes "
                   "from its low to its high bound (NAME:I varies its I-th value). -n images "
                   "are rounded to whole rows.")
@click.option("--steps", type=click.IntRange(1, 256),
              help="With --vary: columns (default: every value of a discrete input, 8 for a "
                   "continuous one).")
@click.option("--revision", help="Hub revision (branch, tag or commit) to load.")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N or mps.")
@inference_options
def generate(model, count, output, seed, labels, texts, embeddings, nrow, vary, steps, revision,
             device, precision, compile_, backend, onnx) -> None:
    """Draw a grid of images from MODEL (`ganzoo sample` is the same command).

    Latent generators draw -n images; conditional ones take --labels; text-to-image ones
    take --text (or --embeddings); --vary draws a traversal grid of any declared input.
    MODEL is a run directory, a bundle folder, a registered weights name or a Hub repo id.
    """
    import torch

    from ganzoo import load
    from ganzoo.base.images import save_grid
    from ganzoo.nn.kinds import ConditionalGenerator, LatentGenerator, TextToImage

    given = [name for name, value in (("--labels", labels), ("--text", texts),
                                      ("--embeddings", embeddings), ("--vary", vary)) if value]
    if len(given) > 1:
        raise click.UsageError(f"{' and '.join(given)} cannot be combined; give one")
    if steps is not None and vary is None:
        raise click.UsageError("--steps is for traversal grids: give --vary NAME too")
    _require_registered_kind(model, LatentGenerator, "ganzoo sample")
    net = load(model, revision=revision, device=device)
    _require_kind(net, model, LatentGenerator, "ganzoo sample")
    if vary is not None and onnxruntime(backend, onnx):
        raise click.UsageError("--vary draws with the torch backend")
    run = runner(net, precision=precision, compile_=compile_, backend=backend, onnx=onnx)
    if vary is not None:
        from ganzoo.apps.grids import traversal

        columns = steps or _columns(net, vary)
        with run.applied():
            result = traversal(net, vary, rows=max(1, count // columns), steps=columns,
                               seed=seed)
        click.echo(f"wrote {save_grid(result.images, output, nrow=result.nrow)}")
        return
    kwargs: dict = {}
    if labels is not None:
        try:
            kwargs["labels"] = [int(x) for x in labels.split(",") if x.strip()]
        except ValueError:
            raise click.BadParameter(f"{labels!r}: expected integers like 0,1,2",
                                     param_hint="--labels") from None
        if not isinstance(net, ConditionalGenerator):
            raise click.UsageError(f"{model} is {_article(net.task)} {net.task} "
                                   f"{net.architecture} model; --labels needs a conditional one")
        count = len(kwargs["labels"])
        nrow = nrow or (10 if count % 10 == 0 else None)
    elif texts or embeddings:
        if not isinstance(net, TextToImage):
            raise click.UsageError(f"{model} is {_article(net.task)} {net.task} "
                                   f"{net.architecture} model; {given[0]} needs a text-to-image "
                                   "one")
        if texts:
            per_caption = max(1, count // len(texts))
            kwargs["text"] = [t for t in texts for _ in range(per_caption)]
            nrow = nrow or (per_caption if len(texts) > 1 else None)
        else:
            kwargs["embeddings"] = _read_embeddings(embeddings)
        count = len(kwargs.get("text", kwargs.get("embeddings", ())))
    with torch.no_grad():
        try:
            images = run.generate(count, seed=seed, **kwargs)
        except ValueError as exc:  # e.g. a label outside the model's classes
            raise click.BadParameter(str(exc), param_hint=given[0] if given else "MODEL") from None
    click.echo(f"wrote {save_grid(images, output, nrow=nrow)}")


def _columns(net, vary: str) -> int:
    """A traversal's default columns: every value of a discrete input, else the default."""
    from ganzoo.apps.grids import DEFAULT_STEPS, find_input
    from ganzoo.nn.kinds import DiscreteInput

    found, _ = find_input(net, vary)
    return found.count if isinstance(found, DiscreteInput) else DEFAULT_STEPS


def _require_kind(net, name: str, kind: type, command: str) -> None:
    """A one-line error when ``net`` is not of ``kind``, naming the command that fits it."""
    if isinstance(net, kind):
        return
    from ganzoo.nn.kinds import describe

    fits = getattr(net, "command", "")
    hint = (f": use `{fits.format(model=name)}`" if fits else
            f"; `{command}` needs {_article(kind.kind)} {kind.kind.replace('-', ' ')} "
            f"(ganzoo.{kind.__name__})")
    raise GanzooError(f"{name} is {describe(net)}{hint}")


def _require_registered_kind(name: str, kind: type, command: str) -> None:
    """For a registered weights name, :func:`_require_kind` before anything is downloaded: the
    architecture's model class says its kind (a model-building function says nothing)."""
    if Path(name).exists():
        return
    try:
        weights = plugins.registry("weights").get(name)
        build = load_ref(plugins.registry("architectures").get(weights.architecture).build)
    except GanzooError:
        return  # not a registered name: load() says what it is
    if isinstance(build, type):
        _require_kind(build.__new__(build), name, kind, command)  # class attributes only




def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _read_embeddings(path: Path):
    """A float tensor [N, D] from a .npy file or a .safetensors file holding one tensor."""
    import torch

    from ganzoo.base.errors import DataError

    if path.suffix == ".npy":
        import numpy as np

        try:
            array = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise DataError(f"{path}: not a plain numpy array ({exc})") from None
        if array.dtype.kind not in "iuf":
            raise DataError(f"{path}: embeddings must be numbers (float or integer), got an "
                            f"array of dtype {array.dtype}")
        tensor = torch.from_numpy(np.asarray(array, dtype=np.float32))
    elif path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            tensors = load_file(path)
        except Exception as exc:  # noqa: BLE001 - any failure means a damaged file
            raise DataError(f"{path}: not a readable safetensors file ({exc})") from None
        if len(tensors) != 1:
            raise DataError(f"{path}: holds {len(tensors)} tensors ({', '.join(sorted(tensors))}); "
                            "expected exactly one [N, D] tensor")
        tensor = next(iter(tensors.values())).float()
    else:
        raise click.BadParameter(f"{path}: expected a .npy or .safetensors file",
                                 param_hint="--embeddings")
    if tensor.dim() != 2 or not len(tensor):
        raise DataError(f"{path}: embeddings must have shape [N, D] with N >= 1, got "
                        f"{list(tensor.shape)}")
    return tensor


@click.command("eval")
@click.argument("model", metavar="MODEL")
@click.option("--metrics", "metric_names", default="fd-digits,kid-digits", show_default=True,
              metavar="NAME,...", help="Comma-separated metrics (`ganzoo list metrics`).")
@click.option("-n", "count", default=1000, show_default=True, type=click.IntRange(2, 100_000),
              help="Generated samples per metric (and real samples, where the data has them).")
@click.option("--seed", default=0, show_default=True, type=int,
              help="Seed of generation and of the real subset.")
@click.option("--revision", help="Hub revision (branch, tag or commit) to load.")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N or mps.")
@click.option("--data", "data_from", metavar="RECIPE|RUN_DIR",
              type=click.Path(exists=True, path_type=Path),
              help="Held-out split for metrics that compare with ground truth (paired-l1, psnr, "
                   "ssim): the test split of this recipe's [data] (default: MODEL's own recipe "
                   "when MODEL is a run directory).")
@click.option("--json", "as_json", is_flag=True, help="Scores with their protocol and details.")
def eval_(model, metric_names, count, seed, revision, device, data_from, as_json) -> None:
    """Score MODEL with registered metrics; every score comes with its protocol.

    MODEL is a run directory, a bundle folder, a registered weights name or a Hub repo id.
    """
    from ganzoo import load
    from ganzoo.metrics import evaluate
    from ganzoo.metrics.base import metric_for

    names = [name.strip() for name in metric_names.split(",") if name.strip()]
    if not names:
        raise click.UsageError("--metrics names no metric")
    for name in names:  # a misspelt name fails before the model is loaded
        plugins.registry("metrics").get(name)
    data = None
    if any(metric_for(name).needs_data for name in names):
        data = _held_out(data_from or Path(model))
    scores = evaluate(load(model, revision=revision, device=device), names, n=count, seed=seed,
                      device=device, data=data)
    if as_json:
        click.echo(json.dumps({"model": model, "scores": {k: s.to_dict() for k, s in
                                                          scores.items()}}, indent=2))
        return
    click.echo(f"{'metric':<18} {'value':>12}  {'n_real/n_fake':<13}  extractor")
    for name, score in scores.items():
        p = score.protocol
        click.echo(f"{name:<18} {score.value:>12.6g}  {f'{p.n_real}/{p.n_fake}':<13}  "
                   f"{p.extractor or '-'} {(p.extractor_sha256 or '')[:12]}".rstrip())
        if "identity" in score.details:
            click.echo(f"{'  (input as is)':<18} {score.details['identity']:>12.6g}")


def _held_out(source: Path):
    """The test split of the recipe ``source`` (a TOML file or a run directory)."""
    from ganzoo.base.errors import GanzooError
    from ganzoo.config.recipe import Recipe
    from ganzoo.training import rundir

    recipe_file = source / rundir.RECIPE_NAME if source.is_dir() else source
    if not recipe_file.is_file():
        raise GanzooError(f"these metrics compare with held-out ground truth: give --data "
                          f"RECIPE (or a run directory) whose [data] has a test split; "
                          f"{source} is not a run directory")
    recipe = Recipe.from_toml(recipe_file)
    entry = plugins.registry("datasets").get(recipe.data.dataset)
    return load_ref(entry.build)(recipe.data.config, "test")


@click.command()
@click.argument("model", metavar="MODEL")
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...",
                type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the translated images (created; same relative names, .png).")
@click.option("--direction", metavar="DIRECTION",
              help="One of the model's directions (CycleGAN: ab for A->B, ba for B->A); "
                   "default its first.")
@click.option("--revision", help="Hub revision (branch, tag or commit) to load.")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N or mps.")
@inference_options
def translate(model, inputs, output, direction, revision, device, precision, compile_, backend,
              onnx) -> None:
    """Translate images with an image-to-image MODEL (pix2pix ...), one output per input.

    INPUT is an image file or a folder (searched recursively); images may have any size.
    MODEL is a run directory, a bundle folder, a registered weights name or a Hub repo id.
    """
    import torch

    from ganzoo import load
    from ganzoo.data.folder import EXTENSIONS, find_images
    from ganzoo.base.errors import DataError
    from ganzoo.base.images import save_grid
    from ganzoo.nn.kinds import Translator

    jobs: list[tuple[Path, Path]] = []
    for item in inputs:
        if item.is_dir():
            found = find_images(item)
            if not found:
                raise DataError(f"no images found in {item} ({', '.join(EXTENSIONS)})")
            jobs += [(p, p.relative_to(item).with_suffix(".png")) for p in found]
        else:
            jobs.append((item, Path(item.name).with_suffix(".png")))
    names = [target for _, target in jobs]
    if len(set(names)) != len(names):
        clash = next(n for n in names if names.count(n) > 1)
        raise click.UsageError(f"two inputs would both be written to {output / clash}; "
                               "translate them in separate calls")
    net = load(model, revision=revision, device=device)
    _require_kind(net, model, Translator, "ganzoo translate")
    net.generator(direction)  # a direction the model lacks fails here, in the model's words
    direction = net.check_direction(direction)
    run = runner(net, precision=precision, compile_=compile_, backend=backend, onnx=onnx,
                 direction=direction)
    for path, target in jobs:
        with torch.no_grad():
            image = run.translate(path, direction=direction)
        save_grid(image, output / target, nrow=1, padding=0)
    click.echo(f"translated {len(jobs)} image(s) into {output}")
