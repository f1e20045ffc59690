"""Self-describing weights: a folder with ``config.json`` and ``model.safetensors``.

``config.json`` names the architecture and holds its full attrs config, so the folder alone
rebuilds the network: ``load_weights(folder)`` needs no recipe and no training code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from . import __version__, plugins
from .errors import CheckpointError, RecipeError, UnknownNameError
from .io import atomic_write_json, atomic_write_with
from .registry import load_ref
from .structure import structure, unstructure

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
FORMAT_VERSION = 1


def state_tensors(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A state dict safetensors can store: contiguous CPU tensors with no shared memory."""
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in module.state_dict().items()}


def build_model(architecture: str, config: Any):
    """Build the registered architecture's model from its config instance."""
    entry = plugins.registry("architectures").get(architecture)
    return load_ref(entry.build)(config)


def save_weights(model, folder: str | Path, *, state: dict[str, torch.Tensor] | None = None) -> Path:
    """Write ``config.json`` and ``model.safetensors`` for ``model`` into ``folder`` atomically."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = state if state is not None else state_tensors(model)
    atomic_write_with(folder / WEIGHTS_NAME,
                      lambda tmp: save_file(tensors, str(tmp), metadata={"format": "pt"}))
    atomic_write_json(folder / CONFIG_NAME, {
        "architecture": model.architecture,
        "config": unstructure(model.config),
        "components": list(model.components),
        "ganzoo_version": __version__,
        "format_version": FORMAT_VERSION,
    })
    return folder


def read_config(folder: Path) -> tuple[str, Any]:
    """The architecture name and structured config recorded in ``folder/config.json``."""
    path = folder / CONFIG_NAME
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{folder}: no {CONFIG_NAME}; not a ganzoo weights folder") from None
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: unreadable config: {exc}") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("architecture"), str):
        raise CheckpointError(f"{path}: missing 'architecture' (the name of a registered one)")
    try:
        entry = plugins.registry("architectures").get(meta["architecture"])
    except UnknownNameError as exc:
        hint = f" (did you mean {exc.suggestions[0]!r}?)" if exc.suggestions else ""
        raise CheckpointError(
            f"{path}: architecture {meta['architecture']!r} is not installed{hint}; install the "
            "plugin that provides it (`ganzoo list architectures` shows what is installed)"
        ) from None
    try:
        config = structure(meta.get("config", {}), entry.config_cls, section="config")
    except ValueError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    return entry.name, config


def read_tensors(path: Path) -> dict[str, torch.Tensor]:
    """Load a safetensors file; a missing, truncated or corrupt file is a one-line error."""
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(
            f"{path}: not a readable safetensors file (truncated or corrupt?): {exc}"
        ) from None


def load_into(model: torch.nn.Module, tensors: dict[str, torch.Tensor], source: Path) -> None:
    """``load_state_dict(strict=True)`` with a one-line error naming the file on mismatch."""
    expected = model.state_dict()
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
    model.load_state_dict(tensors, strict=True)


def load_weights(folder: str | Path, *, device: str | torch.device = "cpu"):
    """Rebuild the model saved in ``folder`` and return it in eval mode."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"{folder}: no such weights folder")
    if any(folder.glob("*.bin")) or any(folder.glob("*.pt")) or any(folder.glob("*.pth")):
        if not (folder / WEIGHTS_NAME).exists():
            raise CheckpointError(
                f"{folder}: only pickle weights (.bin/.pt/.pth) found; ganzoo reads safetensors "
                "only, because unpickling can run arbitrary code"
            )
    architecture, config = read_config(folder)
    try:
        model = build_model(architecture, config)
    except RecipeError:
        raise
    load_into(model, read_tensors(folder / WEIGHTS_NAME), folder / WEIGHTS_NAME)
    return model.to(device).eval()
