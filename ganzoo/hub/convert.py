"""Third-party checkpoints: download once, unpickle safely, convert to a bundle, cache.

Official checkpoints of other projects are PyTorch state dicts (pickles). They are read with
``torch.load(..., weights_only=True)``, which refuses any pickle that would build objects other
than tensors and plain containers, and converted by the weights entry's converter into a ganzoo
model saved as a bundle in the cache, so later loads read safetensors only.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from ganzoo.hub.bundle import INDEX_NAME, write_bundle
from ganzoo.base.errors import CheckpointError, GanzooError
from ganzoo.plugin.registry import load_ref


def cache_root() -> Path:
    """Where converted bundles live: ``$GANZOO_CACHE`` or ``~/.cache/ganzoo``."""
    return Path(os.environ.get("GANZOO_CACHE") or Path.home() / ".cache" / "ganzoo")


def read_state_dict(path: Path) -> dict:
    """Unpickle a state dict safely (``weights_only=True``); anything else is refused.

    Tensors whose storage is smaller than their shape (stride-0 expansions: an 82 KB file can
    describe a 73 GiB state dict that way) are refused, and so is a state dict whose tensors
    together exceed the memory cap of :mod:`ganzoo.nn.budget`.
    """
    import pickle
    import re

    import torch

    from ganzoo.nn.budget import GIB, ENV_CAP, cap_bytes
    from ganzoo.base.io import check_regular_file

    check_regular_file(path, error=CheckpointError)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, AttributeError,
            OSError, IndexError, KeyError) as exc:
        text = str(exc)
        refused = re.search(r"GLOBAL ([\w.]+)", text)
        why = (f"it names the global {refused.group(1)}, which could run code when loaded"
               if refused else "truncated, corrupt or not a PyTorch file"
               if not isinstance(exc, pickle.UnpicklingError) else
               "it holds objects other than tensors and plain containers")
        raise CheckpointError(f"{path}: refused: not a plain PyTorch state dict that can be read "
                              f"without running code ({why})") from None
    # The wrappers training scripts save around the weights: {"state_dict": ...} (and an epoch),
    # BasicSR's {"params_ema": ..., "params": ...} (the averaged weights are the published ones).
    for wrapper in ("state_dict", "params_ema", "params"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
            break
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor)
                                              for v in state.values()):
        raise CheckpointError(f"{path}: expected a state dict (names -> tensors)")
    total = 0
    for key, tensor in state.items():
        need = tensor.numel() * tensor.element_size()
        have = tensor.untyped_storage().nbytes()
        if need > have:
            raise CheckpointError(
                f"{path}: tensor {key!r} of shape {tuple(tensor.shape)} needs {need} bytes but "
                f"its storage holds {have} (a stride-0 or overlapping tensor); state dicts must "
                "store every value")
        total += need
    cap, why = cap_bytes()
    if total > cap:
        raise CheckpointError(f"{path}: its tensors hold {total / GIB:.1f} GiB, over the "
                              f"{cap / GIB:.1f} GiB cap ({why}); raise it with {ENV_CAP}=N")
    return state


def convert_file(converter: str, path: str | Path, out: str | Path):
    """Convert a local third-party checkpoint with ``converter`` into a bundle at ``out``."""
    path, out = Path(path), Path(out)
    state = read_state_dict(path)
    try:
        model = load_ref(converter)(state)
    except GanzooError as exc:  # the converter's finding, about this file
        raise CheckpointError(f"{path}: {exc}") from None
    write_bundle(model, out, components="inference")
    return model


def _download(url: str, target: Path, sha256: str | None) -> None:
    digest = hashlib.sha256()
    partial = target.with_suffix(target.suffix + ".part")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(partial, "wb") as fh:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                fh.write(chunk)
    except (urllib.error.URLError, OSError) as exc:
        partial.unlink(missing_ok=True)
        reason = getattr(exc, "reason", exc)
        raise CheckpointError(f"{url}: download failed ({reason})") from None
    if sha256 and digest.hexdigest() != sha256:
        partial.unlink(missing_ok=True)
        raise CheckpointError(f"{url}: sha256 is {digest.hexdigest()}, expected {sha256}; the file "
                              "changed or the download was corrupted")
    os.replace(partial, target)


def converted_folder(entry) -> Path:
    """The cached bundle of a ``url`` + ``converter`` weights entry, made on first use."""
    key = hashlib.sha256(f"{entry.url}|{entry.converter}".encode()).hexdigest()[:16]
    folder = cache_root() / "converted" / f"{entry.name}-{key}"
    if (folder / INDEX_NAME).is_file():
        return folder
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        raise CheckpointError(f"weights {entry.name!r}: offline mode is on (HF_HUB_OFFLINE) and "
                              "they are not converted in the local cache yet")
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent) as tmp:
        checkpoint = Path(tmp) / Path(entry.url.split("?")[0]).name
        _download(entry.url, checkpoint, entry.sha256)
        try:
            convert_file(entry.converter, checkpoint, Path(tmp) / "bundle")
        except GanzooError as exc:
            raise CheckpointError(f"weights {entry.name!r} from {entry.url}: {exc}") from None
        try:
            os.replace(Path(tmp) / "bundle", folder)  # atomic: a bundle is there whole or not at all
        except OSError:
            if not (folder / INDEX_NAME).is_file():
                raise
            shutil.rmtree(Path(tmp) / "bundle", ignore_errors=True)  # another process won the race
    return folder
