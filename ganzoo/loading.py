"""``ganzoo.load``: from a run directory or a weights folder to a ready, eval-mode model."""

from __future__ import annotations

from pathlib import Path

from .errors import CheckpointError
from .weights import CONFIG_NAME, load_weights


def resolve_weights_folder(path: str | Path) -> Path:
    """A weights folder itself, or the ``weights/`` folder of a finished run."""
    path = Path(path)
    if (path / CONFIG_NAME).is_file():
        return path
    if (path / "weights" / CONFIG_NAME).is_file():
        return path / "weights"
    if (path / "recipe.toml").is_file():
        raise CheckpointError(
            f"{path}: this run has no final weights yet; finish it with "
            f"`ganzoo run --resume {path}`"
        )
    if not path.exists():
        raise CheckpointError(f"{path}: no such run directory or weights folder")
    raise CheckpointError(f"{path}: neither a ganzoo run directory nor a weights folder "
                          f"(no {CONFIG_NAME} or weights/{CONFIG_NAME})")


def load(path: str | Path, *, device: str = "cpu"):
    return load_weights(resolve_weights_folder(path), device=device)
