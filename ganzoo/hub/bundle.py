"""The bundle: how a GAN with several networks is saved, shared and loaded.

```
FOLDER/
  config.json               index: architecture, its full config, components, ganzoo version
  README.md                 model card (Hub metadata: library_name: ganzoo, tags, license, ...)
  sample.png                a sample grid (optional)
  gen/config.json           one folder per generator-side component: its config ...
  gen/model.safetensors     ... and its weights
  training/disc/...         components needed only to train (discriminators)
  training/checkpoint.safetensors, training/recipe.toml   to resume or fine-tune (optional)
```

Inference downloads the index and the generator-side folders only; ``components="all"`` adds
``training/``. Only safetensors are read; paths in the index must stay inside the bundle.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import attrs
import torch

import ganzoo.plugin.manager as plugins
from ganzoo._version import __version__
from ganzoo.base.errors import CheckpointError, PluginError, UnknownNameError
from ganzoo.base.io import atomic_write_json, atomic_write_with, read_json
from ganzoo.plugin.registry import load_ref
from ganzoo.config.structure import structure, unstructure

INDEX_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
FORMAT = "ganzoo-bundle"
FORMAT_VERSION = 1
TRAINING_DIR = "training"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".ckpt")

Components = Literal["inference", "all"]


@attrs.frozen(kw_only=True)
class Index:
    """The parsed ``config.json`` of a bundle."""

    architecture: str
    config: Any
    components: dict[str, str]  # name -> folder, generator side
    training_components: dict[str, str]  # name -> folder under training/
    training_files: dict[str, str]
    ganzoo_version: str
    plugin: dict[str, Any]

    def folders(self, components: Components) -> dict[str, str]:
        if components == "all":
            return {**self.components, **self.training_components}
        return dict(self.components)

    def allow_patterns(self, components: Components) -> list[str]:
        """The files a download needs (``huggingface_hub`` allow_patterns)."""
        patterns = [INDEX_NAME, "README.md", "sample.png"]
        patterns += [f"{folder}/*" for folder in self.folders(components).values()]
        if components == "all":
            patterns += list(self.training_files.values())
        return patterns


def state_tensors(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A state dict safetensors can store: contiguous CPU tensors with no shared memory."""
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in module.state_dict().items()}


class NotLoaded(torch.nn.Module):
    """Stands in for a network ``ganzoo.load`` left out (a discriminator, without
    ``components="all"``): using it says how to get the trained one, where a freshly initialised
    network would have passed for it."""

    def __init__(self, name: str, source: str):
        super().__init__()
        self.message = (f"{name} was not loaded: {source} was loaded for inference, which leaves "
                        f"the discriminators out; ganzoo.load({source!r}, components=\"all\") "
                        f"loads the trained {name}")

    def forward(self, *args, **kwargs):
        raise CheckpointError(self.message)

    def __getattr__(self, name: str):
        if name in ("message", "training") or name.startswith("_"):
            return super().__getattr__(name)
        raise AttributeError(self.message)


def loaded_components(model) -> tuple[str, ...]:
    """``model.components`` less the networks :func:`load_bundle` left out."""
    return tuple(n for n in model.components
                 if not isinstance(getattr(model, n, None), NotLoaded))


def index_of(model, components: Components = "all") -> Index:
    """The index describing ``model`` as :func:`write_bundle` saves it."""
    names = loaded_components(model) if components == "all" else model.generator_components
    return Index(
        architecture=model.architecture,
        config=model.config,
        components={n: n for n in names if n in model.generator_components},
        training_components={n: f"{TRAINING_DIR}/{n}" for n in names
                             if n not in model.generator_components},
        training_files={},
        ganzoo_version=__version__,
        plugin=_plugin_of(model.architecture),
    )


def _plugin_of(architecture: str) -> dict[str, Any]:
    entry = plugins.registry("architectures").get(architecture)
    info = {p.name: p for p in plugins.plugins()}.get(entry.plugin)
    return {"name": entry.plugin, "distribution": info.distribution if info else None,
            "version": info.version if info else None}


def write_bundle(model, folder: str | Path, *, state: dict[str, torch.Tensor] | None = None,
                 training_files: dict[str, Path] | None = None,
                 components: Components = "all") -> Path:
    """Write ``model`` (all its components) as a bundle into ``folder``; files land atomically.

    ``state`` replaces the model's own tensors (e.g. with an EMA generator); ``training_files``
    maps a file name under ``training/`` to a file to copy there (checkpoint, recipe);
    ``components="inference"`` writes the generator side only.
    """
    from safetensors.torch import save_file

    folder = Path(folder)
    state = state if state is not None else state_tensors(model)
    config = unstructure(model.config)
    index = index_of(model, components)
    for name, sub in {**index.components, **index.training_components}.items():
        prefix = f"{name}."
        tensors = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        atomic_write_with(folder / sub / WEIGHTS_NAME,
                          lambda tmp, t=tensors: save_file(t, str(tmp), metadata={"format": "pt"}))
        atomic_write_json(folder / sub / INDEX_NAME, {
            "architecture": model.architecture, "component": name, "config": config,
            "ganzoo_version": __version__})
    copied = {}
    for name, source in (training_files or {}).items():
        target = f"{TRAINING_DIR}/{name}"
        atomic_write_with(folder / target, lambda tmp, s=source: shutil.copyfile(s, tmp))
        copied[name] = target
    atomic_write_json(folder / INDEX_NAME, {
        "library_name": "ganzoo",
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "architecture": model.architecture,
        "config": config,
        "components": index.components,
        "training_components": index.training_components,
        "training_files": copied,
        "ganzoo_version": __version__,
        "plugin": index.plugin,
    })
    return folder


def _allowed_roots(folder: Path) -> tuple[Path, ...]:
    """Where a bundle's files may really live: the folder, and for a huggingface_hub cache
    snapshot (``models--org--name/snapshots/<sha>/``, files symlinked to ``../../blobs/``) that
    repo's own blob store."""
    root = folder.resolve()
    if root.parent.name == "snapshots" and (root.parent.parent / "blobs").is_dir():
        return root, (root.parent.parent / "blobs").resolve()
    return (root,)


def _within(path: Path, roots: tuple[Path, ...]) -> bool:
    resolved = path.resolve()
    return any(root == resolved or root in resolved.parents for root in roots)


def check_inside(folder: Path, relative: Any, index_path: Path, *, is_file: bool) -> str:
    """Refuse paths that are absolute, climb out with ``..`` or leave through a symlink."""
    if not isinstance(relative, str) or not relative:
        raise CheckpointError(f"{index_path}: component path {relative!r} is not a relative path")
    if any(c in relative for c in "*?[]") or any(ord(c) < 32 for c in relative):
        raise CheckpointError(f"{index_path}: component path {relative!r} holds wildcard or "
                              "control characters; paths name one folder or file")
    pure = PurePosixPath(relative)
    if (not pure.parts or pure.is_absolute() or ".." in pure.parts or "\\" in relative
            or ":" in relative):
        raise CheckpointError(f"{index_path}: component path {relative!r} leaves the bundle; "
                              "paths must be relative and inside the folder")
    target = folder / relative
    directory = target.parent if is_file else target
    escapes = not _within(directory, (folder.resolve(),))
    if not escapes and is_file and target.is_symlink():
        escapes = not _within(target, _allowed_roots(folder))
    if escapes:
        raise CheckpointError(f"{index_path}: component path {relative!r} points outside the "
                              "bundle (through a symbolic link)")
    return relative


_DISTRIBUTION = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,98}[A-Za-z0-9])?")


def read_index(folder: Path) -> Index:
    """Parse and check a bundle's ``config.json``: every key of the wrong type is one line."""
    path = folder / INDEX_NAME
    meta = read_json(path, missing=f"no {INDEX_NAME}; not a ganzoo bundle")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a ganzoo bundle index (no \"format\": \"{FORMAT}\")")
    version = meta.get("format_version", 0)
    if isinstance(version, bool) or not isinstance(version, int):
        raise CheckpointError(f"{path}: \"format_version\" must be an integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise CheckpointError(f"{path}: bundle format {version} is newer than this "
                              f"ganzoo ({__version__}) reads; upgrade ganzoo")
    plugin = meta.get("plugin") or {}
    if not isinstance(plugin, dict):
        raise CheckpointError(f"{path}: \"plugin\" must be an object (name, distribution, "
                              f"version), got {_short(plugin)}")
    architecture = meta.get("architecture")
    if not isinstance(architecture, str):
        raise CheckpointError(f"{path}: \"architecture\" must be a string naming an "
                              f"architecture, got {_short(architecture)}")
    try:
        entry = plugins.registry("architectures").get(architecture)
    except UnknownNameError as exc:
        provider = plugin.get("distribution")
        # Advice from a file is not a command to run: quote only a valid distribution name.
        how = (f"install {provider} (`pip install {provider}`)"
               if isinstance(provider, str) and _DISTRIBUTION.fullmatch(provider)
               else "install the plugin that provides it")
        hint = f" (did you mean {exc.suggestions[0]!r}?)" if exc.suggestions else ""
        raise CheckpointError(f"{path}: architecture {_short(architecture)} is not "
                              f"installed{hint}; {how}; `ganzoo list architectures` shows what "
                              "is") from None
    config = meta.get("config", {})
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: \"config\" must be an object of {architecture} settings, "
                              f"got {_short(config)}")
    try:
        config = structure(config, entry.config_cls, section="config")
    except ValueError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    maps = {}
    for key in ("components", "training_components", "training_files"):
        value = meta.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(n, str) for n in value):
            raise CheckpointError(f"{path}: {key!r} must be an object of name -> path")
        is_file = key == "training_files"
        maps[key] = {name: check_inside(folder, rel, path, is_file=is_file)
                     for name, rel in value.items()}
    ganzoo_version = meta.get("ganzoo_version", "?")
    return Index(architecture=entry.name, config=config, plugin=plugin,
                 ganzoo_version=ganzoo_version if isinstance(ganzoo_version, str) else "?",
                 **maps)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def read_tensors(path: Path) -> dict[str, torch.Tensor]:
    """Load a safetensors file; a missing, truncated or corrupt file is a one-line error."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.is_file():
        pickles = [p.name for p in path.parent.glob("*") if p.suffix in PICKLE_SUFFIXES]
        if pickles:
            raise CheckpointError(
                f"{path}: missing; found {pickles[0]} instead, which ganzoo does not read: "
                "unpickling can run arbitrary code. Convert it with `ganzoo convert` or save "
                "safetensors")
        raise CheckpointError(f"{path}: missing (an incomplete bundle?)")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(
            f"{path}: not a readable safetensors file (truncated or corrupt?): {exc}") from None


def load_into(module: torch.nn.Module, tensors: dict[str, torch.Tensor], source: Path) -> None:
    """``load_state_dict(strict=True)`` with a one-line error naming the file on mismatch."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    wrong = [k for k in expected if k in tensors and tensors[k].shape != expected[k].shape]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} tensor(s) e.g. {missing[0]!r}")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)} tensor(s) e.g. {unexpected[0]!r}")
        if wrong:
            k = wrong[0]
            parts.append(f"shape mismatch for {k!r}: file {tuple(tensors[k].shape)}, "
                         f"model {tuple(expected[k].shape)}")
        raise CheckpointError(f"{source}: weights do not fit the config: {'; '.join(parts)}")
    for key, want in expected.items():
        got = tensors[key]
        if got.dtype != want.dtype and (got.is_floating_point() != want.is_floating_point()
                                        or got.is_complex() or got.dtype in _FP8
                                        or got.dtype == torch.bool):
            raise CheckpointError(f"{source}: tensor {key!r} is stored as {got.dtype}; the model "
                                  f"holds {want.dtype} there and ganzoo does not cast weights "
                                  "silently")
        if got.is_floating_point() and not bool(torch.isfinite(got).all()):
            raise CheckpointError(f"{source}: tensor {key!r} holds NaN or infinite values")
    module.load_state_dict(tensors, strict=True)


_FP8 = tuple(getattr(torch, name) for name in ("float8_e4m3fn", "float8_e5m2",
                                                 "float8_e4m3fnuz", "float8_e5m2fnuz")
             if hasattr(torch, name))


def build_model(architecture: str, config: Any, *, source: str | Path | None = None):
    """Build the registered architecture's model from its config instance, after checking on
    the meta device that it fits the memory cap (:mod:`ganzoo.nn.budget`); ``source`` names the
    file the config came from in that refusal."""
    from ganzoo.nn.budget import check

    entry = plugins.registry("architectures").get(architecture)
    check(entry.name, config, source=str(source or f"{entry.name} config"))
    model = load_ref(entry.build)(config)
    if entry.task is not None:
        from ganzoo.nn.kinds import TASKS, describe

        promised = TASKS[entry.task]
        if not isinstance(model, promised):
            raise PluginError(f"architecture {architecture!r} ({entry.plugin}) registers "
                              f"task={entry.task!r}, but its model {type(model).__name__} is "
                              f"{describe(model).split(' (')[0]}, not a "
                              f"ganzoo.{promised.__name__}: "
                              "derive the model from its kind and drop task= (it is derived)")
    return model


def load_bundle(folder: str | Path, *, components: Components = "inference",
                device: str | torch.device = "cpu", source: str | None = None):
    """Rebuild the model in a local bundle folder; eval mode. Training parts load on request:
    without them the discriminators are :class:`NotLoaded` (``source``: the name the user
    loaded, for the message)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"{folder}: no such bundle folder")
    index = read_index(folder)
    model = build_model(index.architecture, index.config, source=folder / INDEX_NAME)
    for name, sub in index.folders(components).items():
        module = getattr(model, name, None)
        if not isinstance(module, torch.nn.Module):
            raise CheckpointError(f"{folder / INDEX_NAME}: component {name!r} is not a network "
                                  f"of {index.architecture!r} ({', '.join(model.components)})")
        check_inside(folder, f"{sub}/{WEIGHTS_NAME}", folder / INDEX_NAME, is_file=True)
        path = folder / sub / WEIGHTS_NAME
        load_into(module, read_tensors(path), path)
    missing = [n for n in model.generator_components if n not in index.components]
    if missing:
        raise CheckpointError(f"{folder / INDEX_NAME}: the bundle lacks component {missing[0]!r}, "
                              "which inference needs")
    loaded = index.folders(components)
    for name in model.components:  # never a random discriminator passing for a trained one
        if name not in loaded:
            setattr(model, name, NotLoaded(name, source or str(folder)))
    model.bundle_index = index
    model.bundle_folder = folder
    return model.to(device).eval()
