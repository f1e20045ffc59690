"""The ``ganzoo`` command: a thin layer over the library.

Library errors (:class:`ganzoo.GanzooError`) become a one-line message and exit status 1 here, and
only here. Plugin commands are attached lazily so ``ganzoo --help`` never imports torch.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import click

import ganzoo.plugin.manager as plugins
from ganzoo._version import __version__
from ganzoo.base.errors import GanzooError, GanzooWarning, PluginError
from ganzoo.plugin.registry import REGISTRY_KINDS, load_ref

LISTABLE = [k for k in REGISTRY_KINDS if k != "commands"]


class _UserError(click.ClickException):
    """A :class:`GanzooError` shown as ``ganzoo: <message>`` with exit status 1, no traceback."""

    def show(self, file=None) -> None:
        click.echo(f"ganzoo: {self.message}", err=True)


class _Group(click.Group):
    """Built-in commands plus those registered through ``register_commands``."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except GanzooError as exc:
            raise _UserError(str(exc)) from exc

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._plugin_commands()})

    def get_command(self, ctx: click.Context, name: str):
        command = super().get_command(ctx, name)
        if command is None and name in self._plugin_commands():
            try:
                command = load_ref(plugins.registry("commands", strict=False).get(name).command)
            except PluginError as exc:  # listed in --help as broken; running it says why
                command = _broken_command(name, exc)
        return command

    @staticmethod
    def _plugin_commands() -> list[str]:
        # Those of the working plugins: a broken one must not take `ganzoo --help` down.
        return plugins.registry("commands", strict=False).names()


def _broken_command(name: str, error: PluginError) -> click.Command:
    def fail(args) -> None:
        raise error

    return click.Command(name, callback=fail, short_help=f"BROKEN: {error}",
                         params=[click.Argument(["args"], nargs=-1, type=click.UNPROCESSED)],
                         context_settings={"ignore_unknown_options": True},
                         add_help_option=False)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ganzoo")
def cli() -> None:
    """ganzoo: a plugin-based zoo of GANs.

    Train with `ganzoo run recipes/dcgan_digits.toml`; see what is installed with `ganzoo list`.
    """


@cli.command()
@click.argument("recipe", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE",
              help="Override a recipe value, e.g. --set train.steps=100 (repeatable).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Run directory to create (default: runs/<recipe name>-<time>).")
@click.option("--resume", "resume_from", metavar="RUN_DIR|MODEL",
              help="Continue a run from its last checkpoint; or, with --out, continue a bundle's "
                   "training part (a folder, weights name or Hub repo) in a new run.")
@click.option("--dry-run", is_flag=True, help="Validate the recipe and print it resolved; train nothing.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def run(recipe, overrides, out, resume_from, dry_run, quiet) -> None:
    """Train the GAN described by RECIPE (a TOML file)."""
    from ganzoo.config.recipe import Recipe

    if resume_from is not None:
        if recipe is not None:
            raise click.UsageError("--resume takes no RECIPE: the run's own recipe is used")
        from ganzoo.training import loop

        if (Path(resume_from) / "recipe.toml").is_file() and out is None:
            if loop.died_before_first_checkpoint(resume_from):
                click.echo(f"ganzoo: {resume_from} stopped before its first checkpoint; "
                           "starting it again from step 0 with its recipe", err=True)
            result = loop.resume(Path(resume_from), overrides=tuple(overrides),
                                 progress=not quiet)
        else:
            result = loop.resume_from_bundle(resume_from, out, overrides=tuple(overrides),
                                             progress=not quiet)
    else:
        if recipe is None:
            raise click.UsageError("give a RECIPE file, or --resume RUN_DIR")
        resolved = Recipe.from_toml(recipe, overrides)
        from ganzoo.nn.budget import check

        check(resolved.architecture, resolved.model, source=str(recipe),
              batch_size=resolved.train.batch_size, training=True)
        if dry_run:
            click.echo(resolved.to_toml(), nl=False)
            return
        from ganzoo.training.loop import train

        result = train(resolved, out, progress=not quiet)
    if result.status == "interrupted":
        click.echo(f"ganzoo: stopped at step {result.step}; checkpoint saved. Continue with "
                   f"`ganzoo run --resume {result.run_dir}`", err=True)
        sys.exit(130)
    click.echo(f"finished {result.step} steps: {result.run_dir}")


@cli.command("list")
@click.argument("kind", required=False, type=click.Choice(LISTABLE))
@click.argument("pattern", required=False)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_(kind, pattern, as_json) -> None:
    """List registered architectures, losses, datasets... (PATTERN: shell wildcard)."""
    kinds = [kind] if kind else LISTABLE
    # What the working plugins registered; a broken plugin is named below, not fatal here.
    registries = {k: plugins.registry(k, strict=False) for k in kinds}
    data = {k: [e.describe() for e in registries[k] if e.name in
                set(registries[k].names(pattern))] for k in kinds}
    _warn_broken()
    if as_json:
        click.echo(json.dumps(data if not kind else data[kind], indent=2, default=str))
        return
    for k, entries in data.items():
        if not kind:
            click.secho(f"{k}:", bold=True)
        for e in entries:
            click.echo(f"  {e['name']:<22} {e['summary']}  [{e['plugin']}]")
        if not entries and kind:
            click.echo(f"no {k} match {pattern!r}" if pattern else f"no {k} registered")


def _singular(kind: str) -> str:
    """``losses`` → ``loss``, ``architectures`` → ``architecture``; ``weights`` stays."""
    return {"losses": "loss", "weights": "weights"}.get(kind, kind.removesuffix("s"))


@cli.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show(name, as_json) -> None:
    """Describe the registered NAME (an architecture, loss, dataset, weights...)."""
    from ganzoo.base.errors import UnknownNameError, closest

    found = {}
    for kind in LISTABLE:
        registry = plugins.registry(kind)
        if name in registry:
            found[kind] = registry.get(name).describe() | _config_defaults(registry.get(name))
    if not found:
        every = [n for k in LISTABLE for n in plugins.registry(k).names()]
        suggestions = closest(name, every)
        hint = f" Did you mean {suggestions[0]!r}?" if suggestions else ""
        raise UnknownNameError(f"nothing registered is named {name!r}.{hint}\n"
                               "  `ganzoo list` shows everything registered.",
                               name=name, kind="any", suggestions=suggestions)
    if as_json:
        click.echo(json.dumps(found, indent=2, default=str))
        return
    for kind, info in found.items():
        click.secho(f"{name} ({_singular(kind)})", bold=True)
        for key, value in info.items():
            if key != "name" and value not in ("", None, {}, []):
                click.echo(f"  {key}: {value}")


def _warn_broken() -> None:
    # Plugins that failed to import were already named by a PluginWarning.
    for info in plugins.broken():
        if info.name in plugins.state().problems:
            click.echo(f"ganzoo: broken plugin: {info.broken}", err=True)


def _config_defaults(entry) -> dict:
    """The defaults of an entry's config class, shown by ``ganzoo show``."""
    import attrs

    cls = getattr(entry, "config_cls", None)
    if cls is None or not attrs.has(cls):
        return {}
    defaults = {}
    for field in attrs.fields(cls):
        if field.default is attrs.NOTHING:
            defaults[field.name] = "(required)"
        elif isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            defaults[field.name] = field.default.factory()
        else:
            defaults[field.name] = field.default
    return {"config": defaults}


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--requirements", is_flag=True,
              help="Print pip requirement lines (name==version) of the installed third-party "
                   "plugin packages, to reproduce this setup elsewhere.")
def plugins_(as_json, requirements) -> None:
    """List loaded plugins with their distribution, version and what they register."""
    infos = plugins.plugins()
    if requirements:
        lines = sorted({f"{p.distribution}=={p.version}" for p in infos
                        if p.distribution and p.distribution != "ganzoo"})
        click.echo("\n".join(lines) if lines else "# no third-party ganzoo plugins installed")
        return
    if as_json:
        click.echo(json.dumps([{"name": p.name, "module": p.module, "distribution":
                                p.distribution, "version": p.version, "builtin": p.builtin,
                                "hooks": list(p.hooks), "registered": p.registered,
                                "broken": p.broken or None}
                               for p in infos], indent=2))
        return
    for p in infos:
        what = "; ".join(f"{k}: {', '.join(v)}" for k, v in p.registered.items()) or "-"
        if p.broken:
            what = f"BROKEN: {p.broken}"
        click.echo(f"{p.name:<24} {p.distribution or '-'} {p.version or ''}".rstrip()
                   + f"\n    {what}")


MODEL_HELP = "A run directory, a bundle folder, a registered weights name or a Hub repo id."


@cli.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("repo_id")
@click.option("--private", is_flag=True, help="Create the repo as private.")
@click.option("--revision", help="Branch to push to (created if missing; default main).")
@click.option("--license", "license_", help="License id for the model card (e.g. mit).")
@click.option("--message", help="Commit message.")
def push(run_dir, repo_id, private, revision, license_, message) -> None:
    """Upload RUN_DIR's bundle (weights, training part, model card) to the Hub as REPO_ID."""
    from ganzoo.hub.loading import push as push_bundle
    from ganzoo.training import rundir

    if (run_dir / rundir.RECIPE_NAME).is_file() and (run_dir / rundir.WEIGHTS_DIR).is_dir():
        rundir.write_card(run_dir, load_name=repo_id, license=license_)
    url = push_bundle(run_dir, repo_id, private=private, revision=revision,
                      commit_message=message)
    click.echo(f"pushed {run_dir} to {repo_id}: {url}")


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="HTML file to write (default RUN_DIR/report.html).")
def report(run_dir, output) -> None:
    """Write a self-contained HTML page about a run: loss curves, sample grids over time, the
    evaluation scores with their protocol, the resolved recipe and the environment.

    Works on a finished run and on one still training (it reads what is there so far).
    """
    from ganzoo.apps.report import write_report

    click.echo(f"wrote {write_report(run_dir, output)}")


@cli.command()
@click.argument("name")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Bundle folder to write (load it with ganzoo.load).")
def convert(name, path, output) -> None:
    """Convert a third-party checkpoint PATH (a PyTorch state dict) into a ganzoo bundle.

    NAME is a registered weights name (its converter is used) or an architecture whose
    registered weights share one converter (e.g. `ganzoo convert pix2pix latest_net_G.pth`).
    The file is read with torch.load(weights_only=True): no code in it runs.
    """
    from ganzoo.hub.convert import convert_file
    from ganzoo.base.errors import UnknownNameError

    weights = plugins.registry("weights")
    if name in weights:
        converter = weights.get(name).converter
        if converter is None:
            raise click.UsageError(f"weights {name!r} are published in ganzoo's format; "
                                   "there is nothing to convert")
    elif name in plugins.registry("architectures"):
        converters = sorted({w.converter for w in weights
                             if w.architecture == name and w.converter})
        if len(converters) != 1:
            what = "no registered weights with a converter" if not converters else \
                f"weights with {len(converters)} different converters; name the weights instead"
            raise click.UsageError(f"architecture {name!r} has {what}")
        converter = converters[0]
    else:
        from ganzoo.base.errors import closest

        suggestions = closest(name, [*weights.names(), *plugins.registry("architectures").names()])
        hint = f" Did you mean {suggestions[0]!r}?" if suggestions else ""
        raise UnknownNameError(f"no weights or architecture named {name!r}.{hint}\n"
                               "  `ganzoo list weights` shows the registered weights.",
                               name=name, kind="weights", suggestions=suggestions)
    model = convert_file(converter, path, output)
    click.echo(f"converted {path} into {output} ({model.architecture})")


@cli.command()
@click.argument("packages", nargs=-1, required=True)
@click.option("--upgrade", "-U", is_flag=True, help="Upgrade the packages if installed.")
def install(packages, upgrade) -> None:
    """Install plugin PACKAGES with pip into the environment ganzoo runs in.

    The same as `python -m pip install PACKAGES` with the Python that runs ganzoo, so the plugin
    lands where ganzoo finds it. Then `ganzoo plugins` lists it.
    """
    import subprocess

    command = [sys.executable, "-m", "pip", "install", *(["--upgrade"] if upgrade else []),
               *packages]
    click.echo(f"running: {' '.join(command)}", err=True)
    code = subprocess.call(command)
    if code:
        raise click.ClickException(f"pip failed (exit status {code}); nothing new is installed")
    plugins.reset()
    found = [p.describe() for p in plugins.plugins() if not p.builtin]
    click.echo("plugins now: " + ", ".join(found))


@cli.command("export")
@click.argument("model", metavar="MODEL")
@click.option("--onnx", "onnx_path", required=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="ONNX file to write (its folder must exist); written only if it matches "
                   "PyTorch.")
@click.option("--direction", type=click.Choice(["ab", "ba"]),
              help="For two-way models (CycleGAN): export A->B (ab) or B->A (ba); default ab.")
@click.option("--opset", type=int, help="ONNX opset (default: the exporter's; 18 and up are "
                                       "written directly, lower ones converted).")
@click.option("--batch", default="dynamic", show_default=True, metavar="dynamic|N",
              help="The batch axis: dynamic, or a fixed batch size N.")
@click.option("--tolerance", default=1e-4, show_default=True, type=click.FloatRange(min=0),
              help="Largest absolute difference from PyTorch's outputs accepted.")
@click.option("--revision", help="Hub revision (branch, tag or commit) to load.")
def export_(model, onnx_path, direction, opset, batch, tolerance, revision) -> None:
    """Export MODEL's generator to ONNX, checked against PyTorch with onnxruntime.

    The file is written only when onnxruntime's outputs on seeded inputs match PyTorch's within
    --tolerance. MODEL is a run directory, a bundle folder, a registered weights name or a Hub
    repo id.
    """
    from ganzoo import load
    from ganzoo.apps.export import check_destination, export_onnx

    if batch == "dynamic":
        fixed = None
    elif batch.isdigit() and int(batch) >= 1:
        fixed = int(batch)
    else:
        raise click.BadParameter(f"{batch!r}: expected 'dynamic' or a batch size like 8",
                                 param_hint="--batch")
    check_destination(onnx_path)  # before loading: a wrong path fails at once
    result = export_onnx(load(model, revision=revision), onnx_path, direction=direction,
                         opset=opset, batch=fixed, tolerance=tolerance, name=model)
    inputs = ", ".join(f"{name} {shape}" for name, shape in result.inputs.items())
    click.echo(f"wrote {result.path} (opset {result.opset}; inputs: {inputs})\n"
               f"onnxruntime vs PyTorch on {result.checks} seeded batch"
               f"{'es' if result.checks > 1 else ''}: max abs difference "
               f"{result.max_abs_diff:.3g} (tolerance {result.tolerance:g})")


@cli.command()
@click.argument("model", metavar="MODEL")
@click.option("--axes", metavar="AXES",
              help="TL-GAN feature axes (a folder or Hub repo id, from `ganzoo edit fit`): one "
                   "slider per axis.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; the default serves this computer only.")
@click.option("--port", type=click.IntRange(1, 65535),
              help="Port (default: the first free one from 7860).")
@click.option("--revision", help="Hub revision (branch, tag or commit) to load.")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N or mps.")
def serve(model, axes, host, port, revision, device) -> None:
    """Serve a demo page for MODEL (Gradio): sample, pick a class, move along feature axes, or
    translate an uploaded image. Runs until Ctrl-C.

    MODEL is a run directory, a bundle folder, a registered weights name or a Hub repo id.
    """
    from ganzoo import load
    from ganzoo.apps.serve import build_app, launch, load_axes

    loaded_axes = load_axes(axes) if axes is not None else None
    app = build_app(load(model, revision=revision, device=device), loaded_axes, name=model)
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"ganzoo: serving on {host}: other computers on the network can reach this "
                   "page", err=True)
    launch(app, host=host, port=port, block=True, announce=click.echo)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    if issubclass(category, (plugins.PluginWarning, GanzooWarning)):  # one line, like errors
        click.echo(f"ganzoo: warning: {message}", err=True)
    else:
        _python_show_warning(message, category, filename, lineno, file, line)


_python_show_warning = warnings.showwarning


from ganzoo.editing.command import edit as _edit  # noqa: E402 - cheap: the verbs load lazily

cli.add_command(_edit, "edit")



# The commands that draw or score with a model live in their own module.
from ganzoo.apps.cli_models import eval_, generate, translate  # noqa: E402

cli.add_command(generate)
cli.add_command(generate, "sample")
cli.add_command(eval_, "eval")
cli.add_command(translate)


def main(argv: list[str] | None = None) -> None:
    warnings.showwarning = _show_warning
    try:
        cli.main(args=argv, prog_name="ganzoo")
    except GanzooError as exc:  # raised outside a command (e.g. while `--help` lists commands)
        click.echo(f"ganzoo: {exc}", err=True)
        sys.exit(1)
