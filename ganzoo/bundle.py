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

import shutil
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import attrs
import torch

from . import __version__, plugins
from .errors import CheckpointError, PluginError, UnknownNameError
from .io import atomic_write_json, atomic_write_with, read_json
from .registry import load_ref
from .structure import structure, unstructure

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


def index_of(model, components: Components = "all") -> Index:
    """The index describing ``model`` as :func:`write_bundle` saves it."""
    names = model.components if components == "all" else model.generator_components
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
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ".." in pure.parts or "\\" in relative or ":" in relative:
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


def read_index(folder: Path) -> Index:
    path = folder / INDEX_NAME
    meta = read_json(path, missing=f"no {INDEX_NAME}; not a ganzoo bundle")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a ganzoo bundle index (no \"format\": \"{FORMAT}\")")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{path}: bundle format {meta['format_version']} is newer than this "
                              f"ganzoo ({__version__}) reads; upgrade ganzoo")
    architecture = meta.get("architecture")
    try:
        entry = plugins.registry("architectures").get(architecture)
    except UnknownNameError as exc:
        plugin = meta.get("plugin") or {}
        provider = plugin.get("distribution")
        how = (f"install {provider} (`pip install {provider}`)" if provider
               else "install the plugin that provides it")
        hint = f" (did you mean {exc.suggestions[0]!r}?)" if exc.suggestions else ""
        raise CheckpointError(f"{path}: architecture {architecture!r} is not installed{hint}; "
                              f"{how}; `ganzoo list architectures` shows what is") from None
    try:
        config = structure(meta.get("config", {}), entry.config_cls, section="config")
    except ValueError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    maps = {}
    for key in ("components", "training_components", "training_files"):
        value = meta.get(key, {})
        if not isinstance(value, dict):
            raise CheckpointError(f"{path}: {key!r} must be an object of name -> path")
        is_file = key == "training_files"
        maps[key] = {name: check_inside(folder, rel, path, is_file=is_file)
                     for name, rel in value.items()}
    return Index(architecture=entry.name, config=config, ganzoo_version=meta.get("ganzoo_version",
                 "?"), plugin=meta.get("plugin") or {}, **maps)


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
    module.load_state_dict(tensors, strict=True)


def build_model(architecture: str, config: Any):
    """Build the registered architecture's model from its config instance."""
    entry = plugins.registry("architectures").get(architecture)
    model = load_ref(entry.build)(config)
    if entry.task is not None:
        from .kinds import TASKS, describe

        promised = TASKS[entry.task]
        if not isinstance(model, promised):
            raise PluginError(f"architecture {architecture!r} ({entry.plugin}) registers "
                              f"task={entry.task!r}, but its model {type(model).__name__} is "
                              f"{describe(model).split(' (')[0]}, not a "
                              f"ganzoo.{promised.__name__}: "
                              "derive the model from its kind and drop task= (it is derived)")
    return model


def load_bundle(folder: str | Path, *, components: Components = "inference",
                device: str | torch.device = "cpu"):
    """Rebuild the model in a local bundle folder; eval mode. Training parts load on request."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"{folder}: no such bundle folder")
    index = read_index(folder)
    model = build_model(index.architecture, index.config)
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
    model.bundle_index = index
    model.bundle_folder = folder
    return model.to(device).eval()
